// bn_affine.wgsl (include): batch norm's per-channel affine map after centring, shared by the
// forward (batch_norm_apply.wgsl) and the two backward passes that recompute the fused ReLU's mask
// from x (batch_norm_grad_stats.wgsl, via batch_norm_grad_merge.wgsl's coefficients), so that the
// mask is computed by the same operations as the forward's output. Provides
// fn bn_scale_shift(c) -> vec2<f32>: (invstd[c] * gamma[c], beta[c]), v = (x - mean) * .x + .y,
// gamma 1 when HAS_GAMMA = 0 and beta 0 when HAS_BETA = 0. Needs the storage arrays invstd, gamma
// and beta and the overrides HAS_GAMMA, HAS_BETA (u32) in the including shader.
fn bn_scale_shift(c: u32) -> vec2<f32> {
  var a = invstd[c];
  if (HAS_GAMMA == 1u) { a *= gamma[c]; }
  var b = 0.0;
  if (HAS_BETA == 1u) { b = beta[c]; }
  return vec2<f32>(a, b);
}

// batch_norm_grad_merge.wgsl: second pass of batch norm's backward: adds the K chunk partials of
// each channel (Kahan-compensated) into dbeta[c] = sum g and dgamma[c] = invstd[c] * sum g*(x - mean),
// and writes the per-channel coefficients batch_norm_grad_input.wgsl needs, so that pass binds one
// buffer instead of six: coef[2c] = (mean, a = invstd * gamma, b = dbeta / M,
// k = dgamma * invstd / M), dx = a * ((g - b) - (x - mean) * k); coef[2c+1].x = beta, with which
// the ReLU's mask is recomputed ((x - mean) * a + beta > 0, as batch_norm_apply.wgsl's forward).
// Layout: part is [C, K, 2]. One invocation per channel. HAS_GAMMA = 0: gamma = 1, HAS_BETA = 0:
// beta = 0 (their bindings alias invstd, unread).
// Bindings: 0 part, 1 invstd, 2 mean, 3 gamma, 4 beta (read), 5 dgamma, 6 dbeta, 7 coef (read_write,
// vec4), 8 params.
#include "kahan.wgsl"
#include "bn_affine.wgsl"
override WG: u32 = 64u;
override HAS_GAMMA: u32 = 1u;
override HAS_BETA: u32 = 1u;

struct Params { c: u32, k: u32, zero: u32, inv_m: f32 }

@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read> invstd: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(6) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(7) var<storage, read_write> coef: array<vec4<f32>>;
@group(0) @binding(8) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.c) { return; }
  var base = 2u * c * p.k;
  var sg = vec2<f32>(0.0);
  var sgx = vec2<f32>(0.0);
  for (var k = 0u; k < p.k; k++) {
    sg = kahan_add(sg, part[base], p.zero);
    sgx = kahan_add(sgx, part[base + 1u], p.zero);
    base += 2u;
  }
  let is = invstd[c];
  let dg = sgx.x * is;
  dbeta[c] = sg.x;
  dgamma[c] = dg;
  let k = bn_scale_shift(c);
  coef[2u * c] = vec4<f32>(mean[c], k.x, sg.x * p.inv_m, dg * p.inv_m * is);
  coef[2u * c + 1u] = vec4<f32>(k.y, 0.0, 0.0, 0.0);
}

// tile_fma.wgsl (include): the inner step of the register-tiled subgroup kernels
// (matmul_subgroup.wgsl, conv_subgroup.wgsl): one row's 4 values of k against a lane's column group.
// Provides fn fma_k4(acc, a, bv, q) -> vec4<f32>: acc + a.x * bv[q] + a.y * bv[2 + q] + a.z * bv[4 + q]
// + a.w * bv[6 + q], as fused multiply-adds, where bv[kk * 2 + q] holds op(B)[k + kk, columns 4q..4q+3].
// Callers write the accumulator back once per call: lavapipe blends every write inside a loop with
// the execution mask and keeps indexed accumulators in memory, so four writes cost about twice one
// (measured: the 1024^3 matmul 1.4-2x faster than with four separate fma statements).
fn fma_k4(acc: vec4<f32>, a: vec4<f32>, bv: array<vec4<f32>, 8>, q: u32) -> vec4<f32> {
  var r = fma(vec4<f32>(a.x), bv[q], acc);
  r = fma(vec4<f32>(a.y), bv[2u + q], r);
  r = fma(vec4<f32>(a.z), bv[4u + q], r);
  return fma(vec4<f32>(a.w), bv[6u + q], r);
}

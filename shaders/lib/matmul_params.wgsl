// matmul_params.wgsl (include): the params of the matmul kernels (matmul.wgsl, matmul_tiled.wgsl,
// matmul_subgroup.wgsl; filled by engine/ops/matmul.ts). Provides struct Params: op(A) is M x K,
// op(B) K x N; batch b = wid.z + batch0; operand batch offsets b * strideA / b * strideB.
struct Params {
  M: u32, K: u32, N: u32, batch0: u32,
  strideA: u32, strideB: u32, _p0: u32, _p1: u32,
}

// matmul_params.wgsl (include): the params of the matmul kernels (matmul.wgsl, matmul_tiled.wgsl,
// matmul_subgroup.wgsl; filled by engine/ops/matmul.ts). Provides struct Params: op(A) is M x K,
// op(B) K x N; batch b = wid.z + batch0; operand batch offsets aBase + b * strideA / b * strideB,
// C's cBase + b * M * N (aBase and cBase: element offsets, so a block of rows of one buffer can be
// an operand or a result; aBase a multiple of 4 where A is read as vec4).
struct Params {
  M: u32, K: u32, N: u32, batch0: u32,
  strideA: u32, strideB: u32, aBase: u32, cBase: u32,
}

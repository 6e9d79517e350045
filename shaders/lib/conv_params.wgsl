// conv_params.wgsl (include): the interface of the convolution GEMMs conv_subgroup.wgsl and
// conv_tiled.wgsl (set by engine/ops/conv.ts; described in conv_subgroup.wgsl). Provides the
// override constants MODE, the geometry (conv_geometry.wgsl), CHECK_Y, CHECK_X, VEC_B (unused by
// conv_tiled.wgsl) and HAS_BIAS, and struct Params.
#include "conv_geometry.wgsl"
override MODE: u32 = 0u;
override CHECK_Y: bool = true;
override CHECK_X: bool = true;
override VEC_B: bool = false;
override HAS_BIAS: bool = false;

struct Params {
  M: u32, K: u32, NC: u32, NC4: u32,
  LY: u32, LX: u32, colStride: u32, split: u32,
  C: u32, H: u32, W: u32, O: u32,
  Ho: u32, Wo: u32, _p0: u32, _p1: u32,
  ry: u32, rx: u32, Hq: u32, Wq: u32,
  nky: u32, nkx: u32, ky0: u32, kx0: u32,
  sty: u32, stx: u32, offy0: i32, offx0: i32,
  dOffy: i32, dOffx: i32, _p2: u32, _p3: u32,
}

// conv_params.wgsl (include): the interface of the convolution GEMMs conv_subgroup.wgsl and
// conv_tiled.wgsl (set by engine/ops/conv.ts; described in conv_subgroup.wgsl). Provides the
// override constants MODE, KH, KW, SY, SX, PY, PX, DY, DX, CHECK_Y, CHECK_X, VEC_B (unused by
// conv_tiled.wgsl) and HAS_BIAS, and struct Params.
override MODE: u32 = 0u;
override KH: u32 = 3u;
override KW: u32 = 3u;
override SY: u32 = 1u;
override SX: u32 = 1u;
override PY: i32 = 0;
override PX: i32 = 0;
override DY: u32 = 1u;
override DX: u32 = 1u;
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

// conv_geometry.wgsl (include): a convolution's kernel size, stride, padding and dilation as
// override constants (set by engine/ops/conv.ts), shared by every conv kernel so the tap
// arithmetic folds. Provides KH, KW, SY, SX, PY, PX (i32), DY, DX.
override KH: u32 = 3u;
override KW: u32 = 3u;
override SY: u32 = 1u;
override SX: u32 = 1u;
override PY: i32 = 0;
override PX: i32 = 0;
override DY: u32 = 1u;
override DX: u32 = 1u;

// conv_util.wgsl: helpers of the convolution kernels (no workgroup memory, no subgroups).
// Bindings: 0 src (read), 1 dst (read_write), 2 params. 1-D grid split over x/y.
// pack: the weight [O, C, T] (T = KH*KW) as a GEMM operand with columns padded to a multiple of 4
//   (zeros), so that kernels load 16-byte vectors without bounds checks:
//   dst[r * ld + col] = src[(r / T) * (NCOL * T) + col * T + r % T] for col < NCOL, else 0.
//   Forward: T = C*KH*KW, NCOL = O: dst = w^T [C*KH*KW, O4]. Input gradient: T = KH*KW, NCOL = C:
//   dst [O*KH*KW, C4] (rows (o,ky,kx), columns c).
// pack_direct: the weight as conv_direct.wgsl reads it, wp [R, KS, 4] for R output channels and
//   KS = ceil(Cin / CG) * KH steps (ld = KS, NCOL = CG, rows = R, C = Cin): slot cc*KW + kx of step
//   (cg, ky) holds w[o, cg*CG + cc, ky, kx] (T = 0), or for the input gradient of a stride-1 conv
//   (T = 1: R = the conv's C, Cin = its O) w[c', o, KH-1-ky, KW-1-kx], or transposed but not
//   flipped for conv_direct_dgrad.wgsl's strided input gradient (T = 2) w[c', o, ky, kx]; zeros
//   elsewhere.
// sum_split: dst[i] = sum over s < S of src[s * n + i] (the weight gradient's split reduction).
// col2im: the input gradient from columns Y [N, C*KH*KW, Ho, Wo] (Y = w^T g, a 1x1 GEMM): each
//   dx[n,c,iy,ix] sums its taps Y[n, (c,ky,kx), oy, ox] with iy = oy*sy - py + ky*dy (no atomics).
#include "grid.wgsl"
override WG: u32 = 256u;

struct Params {
  n: u32, rows: u32, ld: u32, T: u32,
  NCOL: u32, S: u32, C: u32, H: u32,
  W: u32, KH: u32, KW: u32, Ho: u32,
  Wo: u32, sy: u32, sx: u32, py: u32,
  px: u32, dy: u32, dx: u32, _p0: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn pack(gid: Grid1D) {
  let i = grid_index(gid);
  if (i >= p.n) { return; }
  let r = i / p.ld;
  let col = i % p.ld;
  var v = 0.0;
  if (col < p.NCOL) { v = src[(r / p.T) * (p.NCOL * p.T) + col * p.T + r % p.T]; }
  dst[i] = v;
}

@compute @workgroup_size(WG)
fn pack_direct(gid: Grid1D) {
  let i = grid_index(gid);
  if (i >= p.n) { return; }
  let slot = i % 4u;
  let s = (i / 4u) % p.ld;
  let o = i / (4u * p.ld);
  let cc = slot / p.KW;
  let kx = slot % p.KW;
  let c = (s / p.KH) * p.NCOL + cc;
  let ky = s % p.KH;
  var v = 0.0;
  if (cc < p.NCOL && c < p.C) {
    if (p.T == 0u) { v = src[((o * p.C + c) * p.KH + ky) * p.KW + kx]; }
    else if (p.T == 1u) { v = src[((c * p.rows + o) * p.KH + (p.KH - 1u - ky)) * p.KW + (p.KW - 1u - kx)]; }
    else { v = src[((c * p.rows + o) * p.KH + ky) * p.KW + kx]; }
  }
  dst[i] = v;
}

@compute @workgroup_size(WG)
fn sum_split(gid: Grid1D) {
  let i = grid_index(gid);
  if (i >= p.n) { return; }
  var s = 0.0;
  for (var z = 0u; z < p.S; z++) { s += src[z * p.n + i]; }
  dst[i] = s;
}

@compute @workgroup_size(WG)
fn col2im(gid: Grid1D) {
  let i = grid_index(gid);
  if (i >= p.n) { return; }
  let ix = i % p.W;
  let iy = (i / p.W) % p.H;
  let nc = i / (p.W * p.H);  // n * C + c
  let KHW = p.KH * p.KW;
  // Y row of (n, c, 0, 0): (n * C*KHW + c * KHW) * Ho*Wo
  let base = nc * KHW * p.Ho * p.Wo;
  var s = 0.0;
  for (var ky = 0u; ky < p.KH; ky++) {
    let ty = i32(iy + p.py) - i32(ky * p.dy);
    if (ty < 0 || u32(ty) % p.sy != 0u) { continue; }
    let oy = u32(ty) / p.sy;
    if (oy >= p.Ho) { continue; }
    for (var kx = 0u; kx < p.KW; kx++) {
      let tx = i32(ix + p.px) - i32(kx * p.dx);
      if (tx < 0 || u32(tx) % p.sx != 0u) { continue; }
      let ox = u32(tx) / p.sx;
      if (ox >= p.Wo) { continue; }
      s += src[base + ((ky * p.KW + kx) * p.Ho + oy) * p.Wo + ox];
    }
  }
  dst[i] = s;
}

// conv_tiled.wgsl: the three convolution GEMMs of conv_subgroup.wgsl (same MODEs, operands,
// bindings and params; see there) with workgroup-memory tiling, for real GPUs (and CPU adapters
// without 8-wide subgroups): a workgroup computes a 64 x 64 tile of C with 256 invocations, each a
// 4 x 4 block in registers. Per step of 16 along k every invocation gathers 4 values of A (one k,
// 4 rows: implicit im2col with zero padding) and 4 of B into workgroup memory.
// Grid: x = ceil(NC / 64), y = ceil(M / 64), z the weight-gradient splits.
// Bindings: 0 asrc (read), 1 bsrc (read), 2 bias (read), 3 out (read_write), 4 params.
#include "conv_params.wgsl"
#include "tile64.wgsl"

@group(0) @binding(0) var<storage, read> asrc: array<f32>;
@group(0) @binding(1) var<storage, read> bsrc: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

// A[row, k], zero outside the image (padding) and outside [0, M) x [kb, ke).
fn opA(row: u32, k: u32, ke: u32) -> f32 {
  if (row >= p.M || k >= ke) { return 0.0; }
  let P = p.Ho * p.Wo;
  var iy: i32; var ix: i32; var idx: i32;
  if (MODE == 0u) {
    let n = row / P; let pp = row % P;
    let c = k / (KH * KW); let t = k % (KH * KW);
    iy = i32((pp / p.Wo) * SY + (t / KW) * DY) - PY;
    ix = i32((pp % p.Wo) * SX + (t % KW) * DX) - PX;
    idx = i32((n * p.C + c) * p.H * p.W) + iy * i32(p.W) + ix;
  } else if (MODE == 1u) {
    let q2 = p.Hq * p.Wq;
    let n = row / q2; let qq = row % q2;
    let nk = p.nky * p.nkx;
    let o = k / nk; let t = k % nk;
    iy = i32(qq / p.Wq) + p.offy0 - i32(t / p.nkx) * p.dOffy;
    ix = i32(qq % p.Wq) + p.offx0 - i32(t % p.nkx) * p.dOffx;
    idx = i32((n * p.O + o) * P) + iy * i32(p.Wo) + ix;
  } else {
    let c = row / (KH * KW); let t = row % (KH * KW);
    let n = k / P; let pp = k % P;
    iy = i32((pp / p.Wo) * SY + (t / KW) * DY) - PY;
    ix = i32((pp % p.Wo) * SX + (t % KW) * DX) - PX;
    idx = i32((n * p.C + c) * p.H * p.W) + iy * i32(p.W) + ix;
  }
  if (CHECK_Y && u32(iy) >= p.LY) { return 0.0; }
  if (CHECK_X && u32(ix) >= p.LX) { return 0.0; }
  return asrc[idx];
}

fn opB(k: u32, col: u32, ke: u32) -> f32 {
  if (k >= ke || col >= p.NC) { return 0.0; }
  if (MODE == 0u) { return bsrc[k * p.NC4 + col]; }
  if (MODE == 1u) {
    let nk = p.nky * p.nkx;
    let o = k / nk; let t = k % nk;
    let brow = (o * KH + p.ky0 + (t / p.nkx) * p.sty) * KW + p.kx0 + (t % p.nkx) * p.stx;
    return bsrc[brow * p.NC4 + col];
  }
  let P = p.Ho * p.Wo;
  return bsrc[((k / P) * p.O + col) * P + k % P];
}

fn outIndex(row: u32, z: u32) -> u32 {
  let P = p.Ho * p.Wo;
  if (MODE == 0u) { return (row / P) * p.O * P + row % P; }
  if (MODE == 1u) {
    let q2 = p.Hq * p.Wq;
    let n = row / q2; let qq = row % q2;
    return n * p.C * p.H * p.W + (p.ry + SY * (qq / p.Wq)) * p.W + p.rx + SX * (qq % p.Wq);
  }
  return z * p.M * p.NC + row;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;
  let tx = lid % 16u;
  let ty = lid / 16u;
  let kb = wid.z * p.split;
  let ke = min(p.K, kb + p.split);
  // Rows vary fastest for A (consecutive pixels are neighbours in memory for MODE 0/1), columns
  // for B.
  let ai = lid % 16u; let ak = lid / 16u;
  let bj = lid % 16u; let bk = lid / 16u;

  var acc: array<vec4<f32>, 4>;
  for (var t = kb; t < ke; t += TK) {
    let am = row0 + 4u * ai;
    let ka = t + ak;
    As[ak * PAD + ai] = vec4<f32>(opA(am, ka, ke), opA(am + 1u, ka, ke), opA(am + 2u, ka, ke), opA(am + 3u, ka, ke));
    let bn = col0 + 4u * bj;
    let kb2 = t + bk;
    Bs[bk * PAD + bj] = vec4<f32>(opB(kb2, bn, ke), opB(kb2, bn + 1u, ke), opB(kb2, bn + 2u, ke), opB(kb2, bn + 3u, ke));
    workgroupBarrier();
    tile_fma(&acc, tx, ty);
    workgroupBarrier();
  }

  for (var i = 0u; i < 4u; i++) {
    let m = row0 + 4u * ty + i;
    if (m >= p.M) { break; }
    let base = outIndex(m, wid.z);
    for (var j = 0u; j < 4u; j++) {
      let n = col0 + 4u * tx + j;
      if (n < p.NC) {
        var v = acc[i][j];
        if (HAS_BIAS) { v += bias[n]; }
        out[base + n * p.colStride] = v;
      }
    }
  }
}

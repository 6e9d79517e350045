// conv_direct_map_wgrad.wgsl: the weight gradient of a stride-1 convolution of maps 4 wide
// (W = Wo = 4, H and Ho at most 4: ResNet's last stage on 32x32 inputs) for CPU adapters with
// 8-wide subgroups (lavapipe). Barrier-free, no workgroup memory, one subgroup per workgroup.
// dw[o,c,ky,kx] = sum over n, oy, ox of g[n,o,oy,ox] * x[n,c,iy,ix], iy = oy - PY + ky*DY,
// ix = ox - PX + kx*DX (zero outside the map).
// Why: conv_direct_wgrad.wgsl walks 4-pixel row groups, so on 4-wide maps each group loads a
// 3-vec4 span of which one vec4 is the row, and ran at half the forward's speed (46 against 87
// GFLOP/s, 512 channels). Here the reduction runs over images: per image lane l loads the whole
// input map of channel c0 + l (H rows, one vec4 each) and the whole output-gradient map of
// channel o0 + l (HO rows), subgroupBroadcast hands every lane all 8 gradient maps, and each
// (pixel, tap) pair that lands inside the map is a constant the compiler unrolls (100 of 144 for
// 3x3 with padding 1): 800 multiply-adds per 8 loads, and each accumulator written once per image.
// Bindings: 0 x (read, vec4), 1 g (read, vec4), 2 out (read_write), 3 params.
// Layouts (NCHW): x [N,C,H,4], g [N,O,HO,4], out [S, O, C*KH*KW] (one dw per split z of the
// images; conv_util.wgsl sum_split adds them).
// Tiling: lane l owns input channel c0 + l (lanes past C compute a clamped copy, not stored) and
// all 8 output channels o0..o0+7 of the subgroup; acc[i * 4 + ky][kx] is dw[o0+i, c0+l, ky, kx].
// Grid: x covers O (8 per workgroup), y covers C (8 per workgroup), z the splits of the images in
// ranges of p.split.
// Requires subgroup size 8 (the host checks).
enable subgroups;

override H: u32 = 4u;    // input rows
override HO: u32 = 4u;   // output rows

#include "conv_geometry.wgsl"
#include "bcast8.wgsl"

struct Params { N: u32, C: u32, O: u32, split: u32 }

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// sum over ox of gr[ox] * xr[ox + d] for ox + d inside the row; d is a constant at every call, so
// the tests fold and the products with padding are never issued.
fn row_dot(gr: vec4<f32>, xr: vec4<f32>, d: i32) -> f32 {
  var s = 0.0;
  for (var ox = 0; ox < 4; ox++) {
    if (ox + d >= 0 && ox + d < 4) { s = fma(gr[ox], xr[ox + d], s); }
  }
  return s;
}

// Kernel row ky's taps for the 8 output channels; ky is a literal at every call, so with the loops
// unrolled every row test, shift and index below is a constant. gb[oy][i]: channel o0 + i's row oy.
fn taps(ky: u32, gb: array<array<vec4<f32>, 8>, 4>, xr: array<vec4<f32>, 4>, acc: ptr<function, array<vec4<f32>, 32>>) {
  for (var i = 0u; i < 8u; i++) {
    var t = vec4<f32>(0.0);
    for (var oy = 0u; oy < HO; oy++) {
      let iy = i32(oy) - PY + i32(ky * DY);
      if (iy >= 0 && iy < i32(H)) {
        for (var kx = 0u; kx < KW; kx++) { t[kx] += row_dot(gb[oy][i], xr[iy], i32(kx * DX) - PX); }
      }
    }
    (*acc)[i * 4u + ky] += t;
  }
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) sl: u32) {
  let o0 = wid.x * 8u;
  let c0 = wid.y * 8u;
  let c = min(c0 + sl, p.C - 1u);
  let og = min(o0 + sl, p.O - 1u);
  let nb = wid.z * p.split;
  let ne = min(p.N, nb + p.split);

  var acc: array<vec4<f32>, 32>;
  for (var n = nb; n < ne; n++) {
    var xr: array<vec4<f32>, 4>;
    let xb = (n * p.C + c) * H;
    for (var r = 0u; r < H; r++) { xr[r] = x[xb + r]; }
    var gb: array<array<vec4<f32>, 8>, 4>;
    let gbase = (n * p.O + og) * HO;
    for (var oy = 0u; oy < HO; oy++) { gb[oy] = bcast8(g[gbase + oy]); }
    taps(0u, gb, xr, &acc);
    if (KH > 1u) { taps(1u, gb, xr, &acc); }
    if (KH > 2u) { taps(2u, gb, xr, &acc); }
    if (KH > 3u) { taps(3u, gb, xr, &acc); }
  }

  if (c0 + sl >= p.C) { return; }
  let M = p.C * KH * KW;
  let zb = wid.z * p.O * M;
  for (var i = 0u; i < 8u; i++) {
    let o = o0 + i;
    if (o < p.O) {
      for (var ky = 0u; ky < KH; ky++) {
        for (var kx = 0u; kx < KW; kx++) { out[zb + o * M + (c * KH + ky) * KW + kx] = acc[i * 4u + ky][kx]; }
      }
    }
  }
}

// conv_direct_map.wgsl: direct stride-1 convolution of maps 4 wide (W = Wo = 4, H and Ho at most
// 4: ResNet's last stage on 32x32 inputs) for CPU adapters with 8-wide subgroups (lavapipe); the
// stride-1 input gradient is this kernel with the weight flipped and transposed. Barrier-free, no
// workgroup memory. Computes out[n,o,oy,ox] = sum over c, ky, kx of x[n,c,iy,ix] * w'[o,c,ky,kx]
// (+ bias[o]), iy = oy - PY + ky*DY, ix = ox - PX + kx*DX, zero outside the map.
// Why: conv_direct.wgsl gives a lane one 4-pixel row there, so each k step loads a 3-vec4 span for
// 6 values and 2 weight vec4s for 192 multiply-adds. Here a lane owns a whole output map (one image)
// and a subgroup 8 output channels: per input channel a lane loads its H rows (one vec4 each,
// always inside the image: the padding is static) and KH weight rows, and every (pixel, tap) pair
// that lands inside the map is a constant the compiler unrolls (100 of 144 for 3x3 with padding 1;
// the rest, multiplications by padding zeros, are never issued): 800 multiply-adds per 7 loads.
// Bindings: 0 x (read, vec4), 1 wp (read, vec4: the packed weight), 2 bias (read), 3 out
// (read_write, vec4), 4 params.
// Layouts (NCHW): x [N,C,H,4], out [N,O,Ho,4]. wp [O, C*KH, 4] (conv_util.wgsl pack_direct with
// one channel per step): row (c, ky) of output channel o holds w'[o, c, ky, kx] at kx (KW <= 4).
// Tiling: invocation t of the grid's x owns image t (lanes past N compute a clamped copy, not
// stored), the subgroup output channels o0..o0+7, whose weight rows subgroupBroadcast hands to every lane.
// Grid: x covers the images (N / WG), y the output channels (O / 8).
// Requires subgroup size 8 made of consecutive local_invocation_index values (the host checks).
enable subgroups;

override WG: u32 = 64u;
override HAS_BIAS: bool = false;
override H: u32 = 4u;    // input rows
override HO: u32 = 4u;   // output rows

#include "conv_geometry.wgsl"
#include "bcast8.wgsl"

struct Params { N: u32, C: u32, O: u32, KS: u32 }

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> wp: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> p: Params;

// Input row r shifted by d columns (zeros shifted in): the 4 output pixels' values for one tap.
fn shifted(r: vec4<f32>, d: i32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  for (var ox = 0; ox < 4; ox++) {
    if (ox + d >= 0 && ox + d < 4) { v[ox] = r[ox + d]; }
  }
  return v;
}

// Kernel row ky's taps into acc; ky is a literal at every call, so with the loops unrolled every
// row test, shift and index below is a constant.
fn taps(ky: u32, wv: array<vec4<f32>, 8>, xr: array<vec4<f32>, 4>, acc: ptr<function, array<vec4<f32>, 32>>) {
  for (var oy = 0u; oy < HO; oy++) {
    let iy = i32(oy) - PY + i32(ky * DY);
    if (iy >= 0 && iy < i32(H)) {
      for (var kx = 0u; kx < KW; kx++) {
        let xv = shifted(xr[iy], i32(kx * DX) - PX);
        for (var i = 0u; i < 8u; i++) {
          (*acc)[i * 4u + oy] = fma(vec4<f32>(wv[i][kx]), xv, (*acc)[i * 4u + oy]);
        }
      }
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) sl: u32) {
  let n0 = wid.x * WG + lid;
  let n = min(n0, p.N - 1u);
  let o0 = wid.y * 8u;
  let wrow = min(o0 + sl, p.O - 1u) * p.KS;

  var acc: array<vec4<f32>, 32>; // output channel i, row oy at i * 4 + oy
  for (var i = 0u; i < 32u; i++) { acc[i] = vec4<f32>(0.0); }

  for (var c = 0u; c < p.C; c++) {
    var xr: array<vec4<f32>, 4>;
    let xb = (n * p.C + c) * H;
    for (var r = 0u; r < H; r++) { xr[r] = x[xb + r]; }
    let wb = wrow + c * KH;
    taps(0u, bcast8(wp[wb]), xr, &acc);
    if (KH > 1u) { taps(1u, bcast8(wp[wb + 1u]), xr, &acc); }
    if (KH > 2u) { taps(2u, bcast8(wp[wb + 2u]), xr, &acc); }
    if (KH > 3u) { taps(3u, bcast8(wp[wb + 3u]), xr, &acc); }
  }

  if (n0 >= p.N) { return; }
  for (var i = 0u; i < 8u; i++) {
    let o = o0 + i;
    if (o >= p.O) { break; }
    var b = 0.0;
    if (HAS_BIAS) { b = bias[o]; }
    for (var oy = 0u; oy < HO; oy++) {
      out[(n * p.O + o) * HO + oy] = acc[i * 4u + oy] + vec4<f32>(b);
    }
  }
}

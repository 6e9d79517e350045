// conv_direct_wgrad.wgsl: the weight gradient of a convolution, direct, for CPU adapters with
// 8-wide subgroups (lavapipe), when rows hold whole 16-byte vectors (W % 4 == 0, Wo % 4 == 0),
// with at most 4 taps per row (KW <= 4). Barrier-free, no workgroup memory, one subgroup per
// workgroup.
// dw[o,c,ky,kx] = sum over n, oy, ox of g[n,o,oy,ox] * x[n,c,iy,ix], iy = oy*SY - PY + ky*DY,
// ix = ox*SX - PX + kx*DX (zero outside the image): the GEMM C[(c,ky,kx), o] = A B over pixels,
// with A the input gathered per tap and B = g.
// Bindings: 0 x (read, vec4), 1 g (read, vec4), 2 out (read_write), 3 params.
// Layouts (NCHW): x [N,C,H,W], g [N,O,Ho,Wo], out [S, O, C*KH*KW] (one dw per split z of the
// pixels; conv_util.wgsl sum_split adds them).
// Tiling: the reduction runs over groups of G (4 or 8) consecutive output pixels of a row, the
// same for all lanes. Lane l owns one (c,ky) pair of the subgroup's 8 and TN output channels. Per
// group it loads its input span as NV aligned vec4s (OFF + (G-1)*SX + (KW-1)*DX + 1 elements from
// the aligned start, OFF = (-PX) mod 4; each vec4 lies wholly inside or outside the row), which
// hold the G pixels of all KW taps of its pair, and g's G pixels for each of its channels as G/4
// vec4s each. The taps go to all lanes by subgroupBroadcast, so each lane adds 8*KW rows x TN
// channels x G pixels of products per NV + TN*G/4 loads (the implicit GEMM's scalar gathers: 8 +
// TN per 128-256), and writes each accumulator once per group: lavapipe blends every write of a
// loop-carried value with the lane mask, so G = 8 halves that cost (the host picks it at TN <= 2:
// with TN = 4 the kernel outgrows the registers and runs 6x slower).
// Grid: x covers O (8*TN per workgroup), y the (c,ky) pairs (8 per workgroup), z the splits of the
// pixels in ranges of p.split (a multiple of G).
// Requires subgroup size 8 (the host checks).
enable subgroups;

override TN: u32 = 2u;   // output channels per lane: 1, 2 or 4
override G: u32 = 4u;    // pixels per group: 4, or 8 (Wo % 8 == 0)

#include "conv_geometry.wgsl"
#include "conv_span.wgsl"
#include "bcast8.wgsl"

struct Params {
  N: u32, C: u32, H: u32, W: u32,
  O: u32, Ho: u32, Wo: u32, split: u32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) sl: u32) {
  let P = p.Ho * p.Wo;
  let K = p.N * P;
  let HW = p.H * p.W;
  let pairs = p.C * KH;
  let pair = min(wid.y * 8u + sl, pairs - 1u);
  let c = pair / KH;
  let ky = pair % KH;
  let o0 = (wid.x * 8u + sl) * TN;
  var gcol: array<u32, 4>; // this lane's channels' offsets in g (clamped; not written past O)
  for (var j = 0u; j < TN; j++) { gcol[j] = min(o0 + j, p.O - 1u) * P; }
  let kb = wid.z * p.split;
  let ke = min(K, kb + p.split);

  // the first group's pixel: n, oy, ox (ox a multiple of 4)
  var n = kb / P;
  var oy = (kb % P) / p.Wo;
  var ox = kb % p.Wo;

  var acc: array<vec4<f32>, 32>; // row (pair i, tap kx) at i * KW + kx, channel j in component j
  for (var i = 0u; i < 32u; i++) { acc[i] = vec4<f32>(0.0); }

  for (var k = kb; k < ke; k += G) {
    let iy = i32(oy * SY) - PY + i32(ky * DY);
    let rowok = u32(iy) < p.H;
    let base = i32(ox * SX) - PX - i32(OFF);
    let xs = load_span(i32((n * p.C + c) * HW) + iy * i32(p.W) + base, rowok, span_cols(base));
    let gb = n * p.O * P + oy * p.Wo + ox;
    var gv: array<vec4<f32>, 8>; // channel j, pixels 4h..4h+3 at j * 2 + h
    for (var j = 0u; j < TN; j++) {
      for (var h = 0u; h < G / 4u; h++) { gv[j * 2u + h] = g[((gb + gcol[j]) >> 2u) + h]; }
    }
    for (var kx = 0u; kx < KW; kx++) {
      let e = OFF + kx * DX;
      let av = bcast8(vec4<f32>(xs[e], xs[e + SX], xs[e + 2u * SX], xs[e + 3u * SX]));
      var bv: array<vec4<f32>, 8>;
      if (G == 8u) { bv = bcast8(vec4<f32>(xs[e + 4u * SX], xs[e + 5u * SX], xs[e + 6u * SX], xs[e + 7u * SX])); }
      for (var i = 0u; i < 8u; i++) {
        let r = i * KW + kx;
        for (var j = 0u; j < TN; j++) {
          // one write of the accumulator per group (lavapipe masks every write in a loop)
          var a = fma(av[i].w, gv[2u * j].w, fma(av[i].z, gv[2u * j].z, fma(av[i].y, gv[2u * j].y, fma(av[i].x, gv[2u * j].x, acc[r][j]))));
          if (G == 8u) {
            a = fma(bv[i].w, gv[2u * j + 1u].w, fma(bv[i].z, gv[2u * j + 1u].z, fma(bv[i].y, gv[2u * j + 1u].y, fma(bv[i].x, gv[2u * j + 1u].x, a))));
          }
          acc[r][j] = a;
        }
      }
    }
    // next group: branch-free carries
    ox += G;
    let wx = ox == p.Wo;
    ox = select(ox, 0u, wx);
    oy += u32(wx);
    let wy = oy == p.Ho;
    oy = select(oy, 0u, wy);
    n += u32(wy);
  }

  let M = p.C * KH * KW;
  let zb = wid.z * p.O * M;
  for (var i = 0u; i < 8u; i++) {
    let q = wid.y * 8u + i;
    if (q >= pairs) { break; }
    for (var j = 0u; j < TN; j++) {
      let o = o0 + j;
      if (o < p.O) {
        for (var kx = 0u; kx < KW; kx++) { out[zb + o * M + q * KW + kx] = acc[i * KW + kx][j]; }
      }
    }
  }
}

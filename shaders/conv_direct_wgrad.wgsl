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
// Tiling: the reduction runs over groups of 4 consecutive output pixels of a row, the same for all
// lanes. Lane l owns one (c,ky) pair of the subgroup's 8 and TN output channels. Per group it loads
// its input span as NV aligned vec4s (OFF + 3*SX + (KW-1)*DX + 1 elements from the aligned start,
// OFF = (-PX) mod 4; each vec4 lies wholly inside or outside the row), which hold the 4 pixels of
// all KW taps of its pair, and g's 4 pixels for each of its channels as one vec4 each. The taps go
// to all lanes by subgroupBroadcast, so each lane adds 8*KW rows x TN channels x 4 pixels of
// products per NV + TN loads (the implicit GEMM's scalar gathers: 8 + TN per 128-256).
// Grid: x covers O (8*TN per workgroup), y the (c,ky) pairs (8 per workgroup), z the splits of the
// pixels in ranges of p.split (a multiple of 4).
// Requires subgroup size 8 (the host checks).
enable subgroups;

override TN: u32 = 2u;   // output channels per lane: 1, 2 or 4

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

  for (var k = kb; k < ke; k += 4u) {
    let iy = i32(oy * SY) - PY + i32(ky * DY);
    let rowok = u32(iy) < p.H;
    let base = i32(ox * SX) - PX - i32(OFF);
    let xs = load_span(i32((n * p.C + c) * HW) + iy * i32(p.W) + base, rowok, span_cols(base));
    let gb = n * p.O * P + oy * p.Wo + ox;
    var gv: array<vec4<f32>, 4>;
    for (var j = 0u; j < TN; j++) { gv[j] = g[(gb + gcol[j]) >> 2u]; }
    for (var kx = 0u; kx < KW; kx++) {
      let e = OFF + kx * DX;
      let av = bcast8(vec4<f32>(xs[e], xs[e + SX], xs[e + 2u * SX], xs[e + 3u * SX]));
      for (var i = 0u; i < 8u; i++) {
        let r = i * KW + kx;
        for (var j = 0u; j < TN; j++) {
          // one write of the accumulator per 4 pixels (lavapipe masks every write in a loop)
          acc[r][j] = fma(av[i].w, gv[j].w, fma(av[i].z, gv[j].z, fma(av[i].y, gv[j].y, fma(av[i].x, gv[j].x, acc[r][j]))));
        }
      }
    }
    // next group: branch-free carries
    ox += 4u;
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

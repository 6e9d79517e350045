// conv_direct_dgrad.wgsl: the input gradient of a convolution with column stride 2 (SX = 2, any
// SY), as a direct kernel for CPU adapters with 8-wide subgroups (lavapipe), for the shapes where
// the input's rows are whole groups of 8 (W % 8 == 0) and g's rows whole vec4s (Wo % 4 == 0).
// Barrier-free, no workgroup memory. Computes, for the rows iy = qy*SY + RY of one row phase,
//   dx[n,c,iy,ix] = sum over o, ky, kx of g[n,o,gy,gx] * w[o,c,ky,kx],
//   gy = (iy + PY - ky*DY) / SY, gx = (ix + PX - kx*DX) / 2, where both divide exactly and lie in g.
// The taps that reach the phase's rows are ky = KY0 + t*STY, gy = qy + OFFY0 - t*DOFFY (t < NKY;
// engine/ops/conv.ts phaseTaps); NKY = 0 writes zero rows. Along a row the phase is static: a lane
// owns TP = 8 pixels ix0..ix0+7 (ix0 a multiple of 8), so pixel j takes tap kx when
// (j + PX - kx*DX) is even, from g column ix0/2 + (j + PX - kx*DX)/2: those pairs are constants
// the compiler unrolls, and no multiply-add touches a structural zero (the implicit GEMM ran one
// dispatch per column phase instead, gathering g).
// Bindings: 0 x (read, vec4: g, named x for lib/conv_span.wgsl), 1 wp (read, vec4: the packed
// weight), 2 out (read_write, vec4: dx), 3 params.
// Layouts (NCHW): g [N,O,Ho,Wo] (params C, H, W), dx [N,C,H,W] (params OC, OH, OW). wp [C, KS, 4]
// (conv_util.wgsl pack_direct, T = 2: transposed, not flipped): per dx channel c and step (og, ky),
// og a group of CG g channels, slot cc*KW + kx holds w[og*CG + cc, c, ky, kx].
// Tiling: as conv_direct.wgsl: the subgroup's 8 lanes take consecutive 8-pixel groups of the
// phase's rows, the subgroup TM dx channels whose weight vec4s subgroupBroadcast hands around; per
// step a lane loads NV aligned vec4s of its g row span from column ix0/2 - OFF (lib/conv_span.wgsl;
// OFF a multiple of 4 that reaches the leftmost tap). Grid: x covers the N * Hq * OW / 8 lanes of
// the phase (WG per workgroup), y the dx channels (OC / TM).
// Requires subgroup size 8 made of consecutive local_invocation_index values (the host checks).
enable subgroups;

override CG: u32 = 1u;    // g channels per step (CG * KW <= 4)
override TM: u32 = 16u;   // dx channels per subgroup: 8 or 16
override WG: u32 = 64u;
override NKY: u32 = 1u;   // taps of this row phase
override KY0: u32 = 0u;
override STY: u32 = 1u;
override OFFY0: i32 = 0;
override DOFFY: i32 = 1;

#include "conv_geometry.wgsl"
#include "conv_span.wgsl"
#include "bcast8.wgsl"

struct Params {
  N: u32, C: u32, H: u32, W: u32,
  OC: u32, OH: u32, OW: u32, KS: u32,
  Hq: u32, RY: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> wp: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;

const TP: u32 = 8u;

// span element of pixel j's tap kx, or -1 when (j + PX - kx*DX) is odd (no tap)
fn tap(j: u32, kx: u32) -> i32 {
  let v = i32(j) + PX - i32(kx * DX);
  if ((v & 1) != 0) { return -1; }
  return (v >> 1u) + i32(OFF);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) sl: u32) {
  let G = p.OW / TP;               // 8-pixel groups per row
  let M = p.N * p.Hq * G;          // lanes of this phase
  let RB = TM / 8u;
  let q0 = (wid.x * (WG / 8u) + lid / 8u) * 8u + sl;
  let live = q0 < M;
  let q = min(q0, M - 1u);
  let n = q / (p.Hq * G);
  let qy = (q / G) % p.Hq;
  let ix0 = (q % G) * TP;
  let o0 = wid.y * TM;
  let base = i32(ix0 / 2u) - i32(OFF);
  let cols = span_cols(base);
  let HW = p.H * p.W;
  let xn = n * p.C * HW;
  var wrow: array<u32, 2>;
  for (var r = 0u; r < RB; r++) { wrow[r] = min(o0 + 8u * r + sl, p.OC - 1u) * p.KS; }

  // zeros by WGSL's rule for a var, not by a loop; the one write at an index the compiler cannot
  // fold (always 0) keeps the array addressable (ARCHITECTURE.md: accumulator arrays on lavapipe)
  var acc: array<f32, 128>; // dx channel 8r + i, pixel j at (8r + i) * TP + j
  acc[select(0u, 1u, p.N == 0xffffffffu)] = 0.0;

  let groups = p.KS / KH;
  for (var og = 0u; og < groups; og++) {
    for (var t = 0u; t < NKY; t++) {
      let gy = i32(qy) + OFFY0 - i32(t) * DOFFY;
      let rowok = u32(gy) < p.H;
      var gs: array<array<f32, 16>, 4>;
      for (var cc = 0u; cc < CG; cc++) {
        let c = min(og * CG + cc, p.C - 1u);
        gs[cc] = load_span(i32(xn + c * HW) + gy * i32(p.W) + base, rowok, cols);
      }
      let s = og * KH + KY0 + t * STY;
      for (var r = 0u; r < RB; r++) {
        let wv = bcast8(wp[wrow[r] + s]);
        for (var i = 0u; i < 8u; i++) {
          for (var j = 0u; j < TP; j++) {
            var a = acc[(8u * r + i) * TP + j];
            for (var cc = 0u; cc < CG; cc++) {
              for (var kx = 0u; kx < KW; kx++) {
                let e = tap(j, kx);
                if (e >= 0) { a = fma(wv[i][cc * KW + kx], gs[cc][e], a); }
              }
            }
            acc[(8u * r + i) * TP + j] = a;
          }
        }
      }
    }
  }

  if (!live) { return; }
  let iy = qy * SY + p.RY;
  for (var r = 0u; r < RB; r++) {
    for (var i = 0u; i < 8u; i++) {
      let c = o0 + 8u * r + i;
      if (c >= p.OC) { break; }
      let k = (8u * r + i) * TP;
      let at = (((n * p.OC + c) * p.OH + iy) * p.OW + ix0) / 4u;
      out[at] = vec4<f32>(acc[k], acc[k + 1u], acc[k + 2u], acc[k + 3u]);
      out[at + 1u] = vec4<f32>(acc[k + 4u], acc[k + 5u], acc[k + 6u], acc[k + 7u]);
    }
  }
}

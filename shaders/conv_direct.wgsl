// conv_direct.wgsl: direct convolution for CPU adapters with 8-wide subgroups (lavapipe), for
// images whose rows hold whole 16-byte vectors (W % 4 == 0, Wo % TP == 0). Barrier-free, no
// workgroup memory. Computes out[n,o,oy,ox] = sum over c, ky, kx of x[n,c,iy,ix] * w'[o,c,ky,kx]
// (+ bias[o]), iy = oy*SY - PY + ky*DY, ix = ox*SX - PX + kx*DX, zero outside the image. The input
// gradient of a stride-1 conv is this kernel with w' the weight flipped and transposed.
// Bindings: 0 x (read, vec4), 1 wp (read, vec4: the packed weight), 2 bias (read), 3 out
// (read_write, vec4), 4 params.
// Layouts (NCHW): x [N,C,H,W], out [N,O,Ho,Wo]. wp [O, KS, 4]: per output channel o and k step
// s = (cg, ky) (cg a group of CG input channels, KS = ceil(C/CG) * KH rounded up to a multiple of STEPS), the 4 slots hold
// w'[o, cg*CG + cc, ky, kx] at cc*KW + kx (zeros past C and past CG*KW; conv_util.wgsl pack_direct).
// Tiling: lane l of a subgroup owns TP consecutive output pixels of one row (the same for every
// output channel) and the subgroup TM output channels; per k step a lane loads its input row span
// as NV aligned vec4s per channel (the taps of all its pixels: OFF + (TP-1)*SX + (KW-1)*DX + 1
// elements from the aligned start, OFF = (-PX) mod 4) and the weight vec4 of output channel
// o0 + 8r + l, which subgroupBroadcast hands to every lane. Each 16-byte load feeds TM*TP*KW*CG/NV
// multiply-adds (the implicit GEMM's scalar gathers feed 32). Column bounds are flags computed once
// per lane; rows are checked per step. With one channel per step (CG = 1: kernels 3 or more wide)
// two k steps per loop iteration (STEPS = 2; the host pads an odd count with a step of zero
// weights): each accumulator is then written once per 2*KW taps, and lavapipe blends every write
// of a loop-carried value with the lane mask (A/B at width-1 shapes: 2-6 % faster; three steps
// outgrow the registers, 3x slower, and so do two steps of 4 channels: 1x1 convs 3x slower).
// WG/8 subgroups per workgroup along the pixels.
// Grid: x covers the pixels (N*Ho*Wo / (TP * WG)), y the output channels (O / TM).
// Requires subgroup size 8 made of consecutive local_invocation_index values (the host checks).
enable subgroups;

override CG: u32 = 1u;   // input channels per k step (CG * KW <= 4)
override TM: u32 = 16u;  // output channels per subgroup: 8, 16, 24 or 32
override TP: u32 = 4u;   // output pixels per lane: 4 or 8
override WG: u32 = 64u;
override HAS_BIAS: bool = false;
override STEPS: u32 = 2u; // k steps per loop iteration: 2 with one channel per step, else 1

#include "conv_geometry.wgsl"
#include "conv_span.wgsl"
#include "bcast8.wgsl"

struct Params {
  N: u32, C: u32, H: u32, W: u32,
  O: u32, Ho: u32, Wo: u32, KS: u32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> wp: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> p: Params;

// The k step (channel group cg, kernel row ky): xt[t * NQ + q], tap t = cc*KW + kx for pixels
// 4q..4q+3, from each channel's span of NV vec4s (zeros outside the image; channels past C are
// clamped, their weights are zero).
fn taps(cg: u32, ky: u32, ya: i32, xn: u32, HW: u32, base: i32, cols: array<bool, 4>) -> array<vec4<f32>, 8> {
  let NQ = TP / 4u;
  let iy = ya + i32(ky * DY);
  let rowok = u32(iy) < p.H;
  var xt: array<vec4<f32>, 8>;
  for (var cc = 0u; cc < CG; cc++) {
    let c = min(cg * CG + cc, p.C - 1u);
    let xs = load_span(i32(xn + c * HW) + iy * i32(p.W) + base, rowok, cols);
    for (var kx = 0u; kx < KW; kx++) {
      for (var q = 0u; q < NQ; q++) {
        let e = OFF + 4u * q * SX + kx * DX;
        xt[(cc * KW + kx) * NQ + q] = vec4<f32>(xs[e], xs[e + SX], xs[e + 2u * SX], xs[e + 3u * SX]);
      }
    }
  }
  return xt;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) sl: u32) {
  let P = p.Ho * p.Wo;
  let M = p.N * P;
  let HW = p.H * p.W;
  let RB = TM / 8u;
  let NQ = TP / 4u;
  let m0 = (wid.x * (WG / 8u) + lid / 8u) * 8u * TP + sl * TP;
  let live = m0 < M;
  let m = min(m0, M - TP);
  let n = m / P;
  let pp = m % P;
  let oy = pp / p.Wo;
  let ox = pp % p.Wo;
  let o0 = wid.y * TM;
  // the span's aligned start (a multiple of 4: ox and OFF + PX are) and which of its vec4s are in the row
  let base = i32(ox * SX) - PX - i32(OFF);
  let cols = span_cols(base);
  let ya = i32(oy * SY) - PY;
  let xn = n * p.C * HW;
  // this lane's weight row in each 8-channel block
  var wrow: array<u32, 4>;
  for (var r = 0u; r < RB; r++) { wrow[r] = min(o0 + 8u * r + sl, p.O - 1u) * p.KS; }

  // zeros by WGSL's rule for a var, not by a loop; the one write at an index the compiler cannot
  // fold (always 0) keeps the array addressable (ARCHITECTURE.md: accumulator arrays on lavapipe)
  var acc: array<vec4<f32>, 64>; // output channel 8r + i, pixels 4q..4q+3 at (8r + i) * NQ + q
  acc[select(0u, 1u, p.N == 0xffffffffu)] = vec4<f32>(0.0);

  // STEPS k steps per iteration (p.KS a multiple: the host pads with a step of zero weights), so
  // each accumulator is written once per STEPS*CG*KW taps: lavapipe blends every write of a
  // loop-carried value with the lane mask
  for (var s = 0u; s < p.KS; s += STEPS) {
    // step s is (channel group s / KH, kernel row s % KH): KH is a pipeline constant, so no divide
    let xa = taps(s / KH, s % KH, ya, xn, HW, base, cols);
    var xb: array<vec4<f32>, 8>;
    if (STEPS == 2u) { xb = taps((s + 1u) / KH, (s + 1u) % KH, ya, xn, HW, base, cols); }
    for (var r = 0u; r < RB; r++) {
      let wa = bcast8(wp[wrow[r] + s]);
      var wb: array<vec4<f32>, 8>;
      if (STEPS == 2u) { wb = bcast8(wp[wrow[r] + s + 1u]); }
      for (var i = 0u; i < 8u; i++) {
        for (var q = 0u; q < NQ; q++) {
          let o = (8u * r + i) * NQ + q;
          var a = acc[o];
          for (var t = 0u; t < CG * KW; t++) { a = fma(vec4<f32>(wa[i][t]), xa[t * NQ + q], a); }
          if (STEPS == 2u) {
            for (var t = 0u; t < CG * KW; t++) { a = fma(vec4<f32>(wb[i][t]), xb[t * NQ + q], a); }
          }
          acc[o] = a;
        }
      }
    }
  }

  if (!live) { return; }
  for (var r = 0u; r < RB; r++) {
    for (var i = 0u; i < 8u; i++) {
      let o = o0 + 8u * r + i;
      if (o >= p.O) { break; }
      var b = 0.0;
      if (HAS_BIAS) { b = bias[o]; }
      for (var q = 0u; q < NQ; q++) {
        out[((n * p.O + o) * P + pp) / 4u + q] = acc[(8u * r + i) * NQ + q] + vec4<f32>(b);
      }
    }
  }
}

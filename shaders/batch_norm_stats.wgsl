// batch_norm_stats.wgsl: first pass of batch norm's training statistics, per channel and chunk.
// Layout: x is [N, C, S] contiguous (S = H*W, 1 for [N,C] input); chunking: lib/bn_chunk.wgsl.
// Invocation t = c*K + k writes part[2t] = chunk k's mean and part[2t+1] = its sum of squared
// deviations (M2), in one pass over the chunk (two passes cost 20-40 % more in a SimCLR step): the
// sums of d = x - x0 and d^2, x0 the chunk's first value (so values near 1e3 with small noise keep
// their noise digits, and the shifted sums cancel little: x0 is within a few standard deviations
// of the mean), M2 = sum d^2 - (sum d)^2 / n. Sums are Kahan-compensated (lib/kahan.wgsl; p.zero,
// always 0, keeps Mesa from folding the compensation away). batch_norm_merge.wgsl merges the
// chunks (Chan et al.). One invocation per (channel, chunk) walking it alone: 8 invocations walking
// a chunk side by side measured 20 % slower in the step. No workgroup memory. 1-D grid split over x/y.
// Entry `main4` (S and the chunk length multiples of 4): x read as vec4s (on lavapipe a 16-byte load
// costs about a 4-byte one), one compensated add per vec4 (kahan_add4).
// Bindings: 0 x (read), 1 part (read_write), 2 params.
#include "grid.wgsl"
#include "kahan.wgsl"
#include "bn_chunk.wgsl"
override WG: u32 = 256u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> part: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

// The chunk's (mean, M2) from its n values' shifted sums s1 = sum d, s2 = sum d^2 around x0.
fn finish(t: u32, x0: f32, s1: f32, s2: f32, n: f32) {
  let dm = s1 / n;
  part[2u * t] = x0 + dm;
  part[2u * t + 1u] = max(s2 - s1 * dm, 0.0);
}

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let ch = bn_chunk(t);
  let x0 = x[ch.idx0];
  var idx = ch.idx0;
  var s = ch.s0;
  var s1 = vec2<f32>(0.0);
  var s2 = vec2<f32>(0.0);
  for (var m = ch.m0; m < ch.m1; m++) {
    let d = x[idx] - x0;
    s1 = kahan_add(s1, d, p.zero);
    s2 = kahan_add(s2, d * d, p.zero);
    chunk_next(&idx, &s, 1u);
  }
  finish(t, x0, s1.x, s2.x, f32(ch.m1 - ch.m0));
}

@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main4(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let ch = bn_chunk(t);
  let x0 = x4[ch.idx0 / 4u].x;
  var idx = ch.idx0;
  var s = ch.s0;
  var s1 = vec2<f32>(0.0);
  var s2 = vec2<f32>(0.0);
  for (var m = ch.m0; m < ch.m1; m += 4u) {
    let d = x4[idx / 4u] - x0;
    s1 = kahan_add4(s1, d, p.zero);
    s2 = kahan_add4(s2, d * d, p.zero);
    chunk_next(&idx, &s, 4u);
  }
  finish(t, x0, s1.x, s2.x, f32(ch.m1 - ch.m0));
}

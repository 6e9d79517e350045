// batch_norm_stats.wgsl: first pass of batch norm's training statistics, per channel and chunk.
// Layout: x is [N, C, S] contiguous (S = H*W, 1 for [N,C] input); a channel's M = N*S values are
// split into K chunks of `chunk` consecutive (n, s) positions. Invocation t = c*K + k writes
// part[2t] = the chunk's mean and part[2t+1] = its sum of squared deviations (M2), two-pass over
// the chunk: the mean from the sum of x - x0 (x0 the chunk's first value, so values near 1e3 with
// small noise keep their noise digits), then M2 from ((x - x0) - dmean)^2. Sums are Kahan-
// compensated (lib/kahan.wgsl; p.zero, always 0, keeps Mesa from folding the compensation away).
// Chunking: lib/bn_chunk.wgsl. batch_norm_merge.wgsl merges the chunks (Chan et al.).
// One invocation per (channel, chunk), no workgroup memory. 1-D grid split over x/y.
// Entry `main4` (S and the chunk length multiples of 4): the same sums in the same order, x read as
// vec4s (on lavapipe a 16-byte load costs about a 4-byte one).
// Bindings: 0 x (read), 1 part (read_write), 2 params.
#include "grid.wgsl"
#include "kahan.wgsl"
#include "bn_chunk.wgsl"
override WG: u32 = 256u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> part: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let ch = bn_chunk(t);
  let cnt = f32(ch.m1 - ch.m0);
  let x0 = x[ch.idx0];
  // pass 1: mean of x - x0
  var idx = ch.idx0;
  var s = ch.s0;
  var sum = vec2<f32>(0.0);
  for (var m = ch.m0; m < ch.m1; m++) {
    sum = kahan_add(sum, x[idx] - x0, p.zero);
    chunk_next(&idx, &s, 1u);
  }
  let dm = sum.x / cnt;
  // pass 2: sum of squared deviations
  idx = ch.idx0;
  s = ch.s0;
  var m2 = vec2<f32>(0.0);
  for (var m = ch.m0; m < ch.m1; m++) {
    let d = (x[idx] - x0) - dm;
    m2 = kahan_add(m2, d * d, p.zero);
    chunk_next(&idx, &s, 1u);
  }
  part[2u * t] = x0 + dm;
  part[2u * t + 1u] = m2.x;
}

@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main4(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let ch = bn_chunk(t);
  let cnt = f32(ch.m1 - ch.m0);
  let x0 = x4[ch.idx0 / 4u].x;
  var idx = ch.idx0;
  var s = ch.s0;
  var sum = vec2<f32>(0.0);
  for (var m = ch.m0; m < ch.m1; m += 4u) {
    let v = x4[idx / 4u] - x0;
    sum = kahan_add4(sum, v, p.zero);
    chunk_next(&idx, &s, 4u);
  }
  let dm = sum.x / cnt;
  idx = ch.idx0;
  s = ch.s0;
  var m2 = vec2<f32>(0.0);
  for (var m = ch.m0; m < ch.m1; m += 4u) {
    let d = (x4[idx / 4u] - x0) - dm;
    let q = d * d;
    m2 = kahan_add4(m2, q, p.zero);
    chunk_next(&idx, &s, 4u);
  }
  part[2u * t] = x0 + dm;
  part[2u * t + 1u] = m2.x;
}

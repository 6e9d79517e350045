// batch_norm_stats.wgsl: first pass of batch norm's training statistics, per channel and chunk.
// Layout: x is [N, C, S] contiguous (S = H*W, 1 for [N,C] input); a channel's M = N*S values are
// split into K chunks of `chunk` consecutive (n, s) positions. Invocation t = c*K + k writes
// part[2t] = the chunk's mean and part[2t+1] = its sum of squared deviations (M2), two-pass over
// the chunk: the mean from the sum of x - x0 (x0 the chunk's first value, so values near 1e3 with
// small noise keep their noise digits), then M2 from ((x - x0) - dmean)^2. Sums are Kahan-
// compensated; the total passes through an xor with p.zero (always 0) so Mesa cannot fold the
// compensation away (see reduce.wgsl). batch_norm_merge.wgsl merges the chunks (Chan et al.).
// One invocation per (channel, chunk), no workgroup memory. 1-D grid split over x/y.
// Bindings: 0 x (read), 1 part (read_write), 2 params.
override WG: u32 = 256u;

struct Params { n: u32, c: u32, s: u32, k: u32, chunk: u32, m: u32, zero: u32, _p: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> part: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = (wid.x + wid.y * nwg.x) * WG + lid.x;
  if (t >= p.n) { return; }
  let c = t / p.k;
  let m0 = (t % p.k) * p.chunk;
  let m1 = min(p.m, m0 + p.chunk);
  let cnt = f32(m1 - m0);
  let jump = (p.c - 1u) * p.s; // from the end of one (n, c) row to the start of (n + 1, c)
  let s0 = m0 % p.s;
  let idx0 = ((m0 / p.s) * p.c + c) * p.s + s0;
  let x0 = x[idx0];
  // pass 1: mean of x - x0
  var idx = idx0;
  var s = s0;
  var sum = 0.0;
  var comp = 0.0;
  for (var m = m0; m < m1; m++) {
    let y = (x[idx] - x0) - comp;
    let tot = bitcast<f32>(bitcast<u32>(sum + y) ^ p.zero);
    comp = (tot - sum) - y;
    sum = tot;
    idx++;
    s++;
    if (s == p.s) { s = 0u; idx += jump; }
  }
  let dm = sum / cnt;
  // pass 2: sum of squared deviations
  idx = idx0;
  s = s0;
  var m2 = 0.0;
  comp = 0.0;
  for (var m = m0; m < m1; m++) {
    let d = (x[idx] - x0) - dm;
    let y = d * d - comp;
    let tot = bitcast<f32>(bitcast<u32>(m2 + y) ^ p.zero);
    comp = (tot - m2) - y;
    m2 = tot;
    idx++;
    s++;
    if (s == p.s) { s = 0u; idx += jump; }
  }
  part[2u * t] = x0 + dm;
  part[2u * t + 1u] = m2;
}

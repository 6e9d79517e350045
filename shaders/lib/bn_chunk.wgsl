// bn_chunk.wgsl (include): the chunking shared by batch_norm_stats.wgsl and
// batch_norm_grad_stats.wgsl. x (and g) are [N, C, S] contiguous; channel c's M = N*S values are
// split into K chunks of `chunk` consecutive (n, s) positions, and each chunk is walked by LANES
// invocations side by side: lane l takes the chunk's units l, l + LANES, l + 2*LANES, ... (a unit is
// one value, or 4 in the vec4 entries, where S and the chunk length are multiples of 4, so a vec4
// never leaves its row). Invocation t = (c*K + k)*LANES + l. With LANES = 8 the 8 lanes of a SIMD
// group (lavapipe) or of a warp read 128 contiguous bytes per step; one invocation walking a chunk
// alone ran at 0.7-0.8x on lavapipe. For [N, C] input (S = 1) the host sets LANES = 1: there
// consecutive channels are the contiguous ones.
// Provides override LANES, struct Params {n = C*K*LANES, c, s, k, chunk, m = M, zero, dq, r} (dq and
// r: the flat-index and spatial steps of one lane step of LANES units, split by the host into whole
// rows and a rest r < S), struct Chunk, fn bn_chunk(t, unit) -> Chunk and fn chunk_next(&idx, &s),
// which steps a (flat index, spatial offset) pair LANES units on in the channel. They read p: the
// shader declares `var<uniform> p: Params`.
struct Params { n: u32, c: u32, s: u32, k: u32, chunk: u32, m: u32, zero: u32, dq: u32, r: u32, _p0: u32, _p1: u32, _p2: u32 }

override LANES: u32 = 8u;

// Channel c, chunk [m0, m1); this lane's first position is m0 + unit*lane (>= m1: the lane is
// empty); idx0 is the flat index of the chunk's first position (the pivot of batch_norm_stats),
// idx and s0 the flat index and spatial offset of the lane's first.
struct Chunk { c: u32, m0: u32, m1: u32, first: u32, idx0: u32, idx: u32, s0: u32 }

fn flat_index(c: u32, m: u32) -> u32 { return ((m / p.s) * p.c + c) * p.s + m % p.s; }

fn bn_chunk(t: u32, unit: u32) -> Chunk {
  var ch: Chunk;
  let ck = t / LANES;
  ch.c = ck / p.k;
  ch.m0 = (ck % p.k) * p.chunk;
  ch.m1 = min(p.m, ch.m0 + p.chunk);
  ch.first = ch.m0 + unit * (t % LANES);
  let f = min(ch.first, p.m - 1u);
  ch.s0 = f % p.s;
  ch.idx0 = flat_index(ch.c, ch.m0);
  ch.idx = flat_index(ch.c, f);
  return ch;
}

fn chunk_next(idx: ptr<function, u32>, s: ptr<function, u32>) {
  *idx += p.dq;
  *s += p.r;
  // from the end of one (n, c) row to the start of (n + 1, c)
  if (*s >= p.s) { *s -= p.s; *idx += (p.c - 1u) * p.s; }
}

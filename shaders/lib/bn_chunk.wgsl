// bn_chunk.wgsl (include): the chunking shared by batch_norm_stats.wgsl and
// batch_norm_grad_stats.wgsl. x (and g) are [N, C, S] contiguous; channel c's M = N*S values are
// split into K chunks of `chunk` consecutive (n, s) positions; invocation t = c*K + k takes chunk k.
// Provides struct Params {n = C*K, c, s, k, chunk, m = M, zero}, struct Chunk, fn bn_chunk(t) ->
// Chunk and fn chunk_next(&idx, &s, step), which steps a (flat index, spatial offset) pair `step`
// positions on in the channel (1, or 4 in the vec4 entries, where S and the chunk length are
// multiples of 4, so a vec4 never leaves its row). They read p: the shader declares
// `var<uniform> p: Params`.
struct Params { n: u32, c: u32, s: u32, k: u32, chunk: u32, m: u32, zero: u32, _p: u32 }

// Channel c, positions [m0, m1); idx0 is the flat index of position m0 and s0 its spatial offset.
struct Chunk { c: u32, m0: u32, m1: u32, idx0: u32, s0: u32 }

fn bn_chunk(t: u32) -> Chunk {
  var ch: Chunk;
  ch.c = t / p.k;
  ch.m0 = (t % p.k) * p.chunk;
  ch.m1 = min(p.m, ch.m0 + p.chunk);
  ch.s0 = ch.m0 % p.s;
  ch.idx0 = ((ch.m0 / p.s) * p.c + ch.c) * p.s + ch.s0;
  return ch;
}

fn chunk_next(idx: ptr<function, u32>, s: ptr<function, u32>, step: u32) {
  *idx += step;
  *s += step;
  // from the end of one (n, c) row to the start of (n + 1, c)
  if (*s == p.s) { *s = 0u; *idx += (p.c - 1u) * p.s; }
}

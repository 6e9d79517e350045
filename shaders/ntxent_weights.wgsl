// ntxent_weights.wgsl: the NT-Xent backward weights of one chunk of anchor rows, in place over its
// dot products (lib/ntxent_chunk.wgsl; engine/ops/ntxent.ts then computes the chunk's rows of dZ as
// W Z with the matmul kernel). For anchor a = r0 + t and candidate j, with v = s_aj * inv_tau and
// the forward's per-row logsumexp lse:
//   w_aj = inv_tau * (g_a exp(v - lse_a) + g_j exp(v - lse_j) - [j = pos a] (g_a + g_j)), w_aa = 0
// (a row term, a as the anchor, plus a column term, a as row j's candidate; s is symmetric). Both
// exponents are <= 0 up to rounding, so nothing overflows at small temperatures.
// Layout: s [R, M] row-major; E consecutive elements of one row per invocation (t, j0..j0+E-1).
// Bindings: 0 g [M], 1 lse [M] (read), 2 s (read_write: becomes w), 3 params. 1-D grid split over x/y.
#include "grid.wgsl"
#include "ntxent_chunk.wgsl"
override WG: u32 = 64u;
override E: u32 = 8u;

@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> lse: array<f32>;
@group(0) @binding(2) var<storage, read_write> s: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let q = grid_index(gid);
  let per_row = (p.m + E - 1u) / E;
  if (q >= p.rows * per_row) { return; }
  let t = q / per_row;
  let j0 = (q % per_row) * E;
  let a = p.r0 + t;
  let pos = positive(a);
  let ga = g[a];
  let la = lse[a];
  let base = t * p.m;
  for (var j = j0; j < min(j0 + E, p.m); j++) {
    let v = s[base + j] * p.inv_tau;
    let gj = g[j];
    var w = ga * exp(v - la) + gj * exp(v - lse[j]);
    if (j == pos) { w -= ga + gj; }
    s[base + j] = select(w * p.inv_tau, 0.0, j == a);
  }
}

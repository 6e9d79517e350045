// nce_tile_weights.wgsl: the backward weights of the feature-map NCE by tiles (engine/ops/nce.ts,
// CPU adapters): for a block of anchor rows (r0 .. r0 + rows of the whole) whose dot products s
// [rows, N] with every target came from the matmul kernel, w = g[r] exp(f(s) - lse[r]) f'(s), and 0
// on the row's own group (lib/nce_score.wgsl), so that dA = w B and dB = w^T A. One element per
// invocation; no workgroup memory or barriers; 1-D grid split over x/y.
// Bindings: 0 s, 1 lse, 2 g (read), 3 w (read_write), 4 params {m = rows, n, d (unused), rpg, cpg,
// scale, clip, r0}.
#include "grid.wgsl"
#include "nce_score.wgsl"
override WG: u32 = 256u;

@group(0) @binding(0) var<storage, read> s: array<f32>;
@group(0) @binding(1) var<storage, read> lse: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> w: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.m * p.n) { return; }
  let r = t / p.n;
  let j = t % p.n;
  let own = own_cols(r);
  if (j >= own.x && j < own.y) { w[t] = 0.0; return; }
  let v = s[t];
  w[t] = g[r] * exp(score(v) - lse[r]) * slope(v);
}

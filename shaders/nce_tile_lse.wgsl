// nce_tile_lse.wgsl: the forward of the feature-map NCE by tiles of scores (engine/ops/nce.ts, CPU
// adapters): s holds the dot products [rows, N] of a block of anchor rows (rows r0 .. r0 + rows of
// the whole) with every target, computed by the matmul kernel (lib/nce_score.wgsl gives f and the
// own groups). One invocation per row: the online logsumexp (lib/online_lse.wgsl) of the row's
// allowed scores f(s); writes lse[r] and the max mx[r]. (nce_tile_weights.wgsl
// makes the backward's weights from the same tiles.) No workgroup memory or barriers; 1-D grid.
// Bindings: 0 s (read), 1 lse, 2 mx (read_write), 3 params {m = rows, n, d (unused), rpg, cpg,
// scale, clip, r0}.
#include "grid.wgsl"
#include "nce_score.wgsl"
#include "online_lse.wgsl"
override WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> s: array<f32>;
@group(0) @binding(1) var<storage, read_write> lse_out: array<f32>;
@group(0) @binding(2) var<storage, read_write> mx_out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let r = grid_index(gid);
  if (r >= p.m) { return; }
  let own = own_cols(r);
  let base = r * p.n;
  mx = -3.0e38;
  se = 0.0;
  for (var j = 0u; j < p.n; j++) {
    if (j >= own.x && j < own.y) { continue; }
    let v = score(s[base + j]);
    lse_take(v);
  }
  lse_out[r] = mx + log(se);
  mx_out[r] = mx;
}

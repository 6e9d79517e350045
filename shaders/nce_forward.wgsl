// nce_forward.wgsl: per anchor row r of x = a [M, d] against y = b [N, d] (lib/nce_score.wgsl), the
// logsumexp of the scores f(scale <a_r, b_n>) over the allowed columns, without storing the [M, N]
// scores: one invocation per row streams over the columns four at a time (the two ranges around
// its own group), keeping its logsumexp online (lib/online_lse.wgsl). Writes lse[r] = mx + log(se) and mx[r]. Every lane reads the same column
// rows at once (a broadcast, not a gather); no workgroup memory or barriers; 1-D grid. Entry points:
// `main` reads the row from storage, `main_cached` from a private copy (CPU adapters, d <= 256).
// Bindings: 0 a, 1 b (read), 2 lse, 3 mx (read_write), 4 params.
#include "grid.wgsl"
override WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read_write> mxo: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
#include "nce_score.wgsl"
#include "nce_rows.wgsl"
#include "online_lse.wgsl"

fn stream(ab: u32, j0: u32, j1: u32, cached: bool) {
  var j = j0;
  for (; j + 4u <= j1; j += 4u) {
    let v = dot4(ab, j * p.d, cached);
    lse_take(score(v.x)); lse_take(score(v.y)); lse_take(score(v.z)); lse_take(score(v.w));
  }
  for (; j < j1; j++) { lse_take(score(dot1(ab, j * p.d, cached))); }
}

fn row(r: u32, cached: bool) {
  let ab = r * p.d;
  if (cached) { cache_row(ab); }
  let own = own_cols(r);
  mx = -3.0e38;
  se = 0.0;
  stream(ab, 0u, own.x, cached);
  stream(ab, own.y, p.n, cached);
  lse[r] = mx + log(se);
  mxo[r] = mx;
}

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let r = grid_index(gid);
  if (r < p.m) { row(r, false); }
}

@compute @workgroup_size(WG)
fn main_cached(gid: Grid1D) {
  let r = grid_index(gid);
  if (r < p.m) { row(r, true); }
}

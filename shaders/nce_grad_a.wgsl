// nce_grad_a.wgsl: gradient of sum_r g_r lse_r (nce_forward.wgsl) with respect to the anchors
// x = a [M, d], recomputing the scores: da_r = g_r sum_n exp(f(s_rn) - lse_r) f'(s_rn) b_n over the
// allowed columns (lib/nce_score.wgsl). One invocation per anchor row, columns four at a time (four
// dot products, then one pass adding the four weighted rows). Entry `main` accumulates in place in
// out (each invocation owns its row); `main_cached` (CPU adapters, d <= 256) keeps the row and the
// sum in private arrays and writes out once. No workgroup memory or barriers; 1-D grid.
// Bindings: 0 a, 1 b, 2 g, 3 lse (read), 4 out (read_write, [M, d]), 5 params.
#include "grid.wgsl"
override WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;
#include "nce_score.wgsl"
#include "nce_rows.wgsl"
#include "nce_accumulate.wgsl"

fn weight(v: f32, gr: f32, lr: f32) -> f32 { return gr * exp(score(v) - lr) * slope(v); }

fn stream(ab: u32, j0: u32, j1: u32, gr: f32, lr: f32, cached: bool) {
  let d = p.d;
  var j = j0;
  for (; j + 4u <= j1; j += 4u) {
    let jb = j * d;
    let v = dot4(ab, jb, cached);
    add4(ab, jb, vec4<f32>(weight(v.x, gr, lr), weight(v.y, gr, lr), weight(v.z, gr, lr), weight(v.w, gr, lr)), cached);
  }
  for (; j < j1; j++) {
    let jb = j * d;
    add1(ab, jb, weight(dot1(ab, jb, cached), gr, lr), cached);
  }
}

fn row(r: u32, cached: bool) {
  let ab = r * p.d;
  begin(ab, cached);
  let own = own_cols(r);
  stream(ab, 0u, own.x, g[r], lse[r], cached);
  stream(ab, own.y, p.n, g[r], lse[r], cached);
  finish(ab, cached);
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

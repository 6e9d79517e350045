// nce_grad_b.wgsl: gradient of sum_r g_r lse_r (nce_forward.wgsl) with respect to the targets
// x = b [N, d] (the row owner here; y = a), recomputing the scores: db_n = sum_r g_r exp(f(s_rn) -
// lse_r) f'(s_rn) a_r over the anchors r for which column n is allowed (lib/nce_score.wgsl). One
// invocation per target row, anchors four at a time. Entry `main` accumulates in place in out;
// `main_cached` (CPU adapters, d <= 256) in private arrays, written once (lib/nce_accumulate.wgsl).
// No workgroup memory or barriers; 1-D grid.
// Bindings: 0 b, 1 a, 2 g, 3 lse (read), 4 out (read_write, [N, d]), 5 params.
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

fn stream(nb: u32, r0: u32, r1: u32, cached: bool) {
  let d = p.d;
  var r = r0;
  for (; r + 4u <= r1; r += 4u) {
    let rb = r * d;
    let v = dot4(nb, rb, cached);
    let e = exp(vec4<f32>(score(v.x), score(v.y), score(v.z), score(v.w)) - vec4<f32>(lse[r], lse[r + 1u], lse[r + 2u], lse[r + 3u]));
    add4(nb, rb, vec4<f32>(g[r], g[r + 1u], g[r + 2u], g[r + 3u]) * e * vec4<f32>(slope(v.x), slope(v.y), slope(v.z), slope(v.w)), cached);
  }
  for (; r < r1; r++) {
    let rb = r * d;
    let v = dot1(nb, rb, cached);
    add1(nb, rb, g[r] * exp(score(v) - lse[r]) * slope(v), cached);
  }
}

fn row(n: u32, cached: bool) {
  let nb = n * p.d;
  begin(nb, cached);
  let own = own_rows(n);
  stream(nb, 0u, own.x, cached);
  stream(nb, own.y, p.m, cached);
  finish(nb, cached);
}

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let n = grid_index(gid);
  if (n < p.n) { row(n, false); }
}

@compute @workgroup_size(WG)
fn main_cached(gid: Grid1D) {
  let n = grid_index(gid);
  if (n < p.n) { row(n, true); }
}

// ntxent_stats.wgsl: the NT-Xent forward statistics of one chunk of anchor rows (lib/ntxent_chunk.wgsl;
// the chunk's dot products s [R, M] come from the matmul kernel, engine/ops/ntxent.ts). One
// invocation per chunk row t streams its M logits v = s * inv_tau (j != i) keeping their logsumexp
// online (lib/online_lse.wgsl). Writes, at global
// row i = r0 + t: loss[i] = lse - v_pos, lse[i] = mx + log(se), correct[i] = 1 when the positive's
// logit is strictly above every negative's, else 0. No workgroup memory; 1-D grid split over x/y.
// Bindings: 0 s (read), 1 loss, 2 lse, 3 correct (read_write), 4 params.
#include "grid.wgsl"
#include "ntxent_chunk.wgsl"
#include "online_lse.wgsl"
override WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> s: array<f32>;
@group(0) @binding(1) var<storage, read_write> loss: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read_write> correct: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

const NEG_BIG: f32 = -3.0e38;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.rows) { return; }
  let i = p.r0 + t;
  let pos = positive(i);
  let base = t * p.m;
  mx = NEG_BIG;
  se = 0.0;
  var max_neg = NEG_BIG;
  for (var j = 0u; j < p.m; j++) {
    if (j == i) { continue; }
    let v = s[base + j] * p.inv_tau;
    if (j != pos) { max_neg = max(max_neg, v); }
    lse_take(v);
  }
  let vp = s[base + pos] * p.inv_tau;
  let log_s = log(se);
  loss[i] = (mx - vp) + log_s;
  lse[i] = mx + log_s;
  correct[i] = select(0.0, 1.0, vp > max_neg);
}

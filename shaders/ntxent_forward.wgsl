// ntxent_forward.wgsl: the NT-Xent (SimCLR) loss per anchor row, without materializing the M x M
// logits. zh is [M, d] (rows already L2-normalized), M = 2N; row i's positive is i + N (mod M).
// One invocation per anchor row i: it streams over the other rows j, four at a time (each load of
// its own row's element then serves four dot products), computes the logits
// s = <zh_i, zh_j> * inv_tau, and keeps an online max mx and sum se of exp(logit - mx) (rescaled
// when mx grows, as flash attention does), the positive's logit, and the largest negative logit.
// Writes loss[i] = (mx - pos) + log(se) (= logsumexp - pos), lse[i] = mx + log(se), and
// correct[i] = 1 when the positive's logit is strictly above every negative (else 0).
// Every lane of a workgroup reads the same rows j at once (a broadcast, not a gather); no
// workgroup memory or barriers. 1-D grid split over x/y.
// Bindings: 0 zh (read), 1 loss, 2 lse, 3 correct (read_write), 4 params {m, d, half, inv_tau}.
#include "grid.wgsl"
#include "ntxent_rows.wgsl"
override WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> zh: array<f32>;
@group(0) @binding(1) var<storage, read_write> loss: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read_write> correct: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

const NEG_BIG: f32 = -3.0e38;

var<private> mx: f32;
var<private> se: f32;
var<private> pos_logit: f32;
var<private> max_neg: f32;

// Folds logit v of candidate j into anchor i's running state (j == i is skipped).
fn take(v: f32, j: u32, i: u32, pos: u32) {
  if (j == i) { return; }
  if (j == pos) { pos_logit = v; } else { max_neg = max(max_neg, v); }
  if (v > mx) {
    se = se * exp(mx - v) + 1.0;
    mx = v;
  } else {
    se += exp(v - mx);
  }
}

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let i = grid_index(gid);
  if (i >= p.m) { return; }
  let pos = positive(i);
  let ib = i * p.d;
  mx = NEG_BIG;
  se = 0.0;
  pos_logit = 0.0;
  max_neg = NEG_BIG;
  var j = 0u;
  for (; j + 4u <= p.m; j += 4u) {
    let jb = j * p.d;
    let v = dot4(ib, jb) * p.inv_tau;
    take(v.x, j, i, pos);
    take(v.y, j + 1u, i, pos);
    take(v.z, j + 2u, i, pos);
    take(v.w, j + 3u, i, pos);
  }
  for (; j < p.m; j++) {
    take(dot1(ib, j * p.d) * p.inv_tau, j, i, pos);
  }
  let log_s = log(se);
  loss[i] = (mx - pos_logit) + log_s;
  lse[i] = mx + log_s;
  correct[i] = select(0.0, 1.0, pos_logit > max_neg);
}

// infonce_forward.wgsl: MoCo's InfoNCE per query row without materializing the [N, 1 + K] logits.
// x = q [N, d] (queries), kpos [N, d] (each query's positive key), y = queue [K, d] (negatives).
// Logits: s_pos = <q_i, kpos_i> * inv_tau, s_ij = <q_i, queue_j> * inv_tau. One invocation per
// query row starts its online logsumexp (lib/online_lse.wgsl) at the positive, then streams over the
// queue four rows at a time.
// Writes loss[i] = (mx - s_pos) + log(se) (= logsumexp - s_pos), lse[i] = mx + log(se), and
// correct[i] = 1 when s_pos is strictly above every negative (else 0). Every lane reads the same
// queue rows at once (a broadcast, not a gather); no workgroup memory or barriers. 1-D grid.
// Bindings: 0 q, 1 kpos, 2 queue (read), 3 loss, 4 lse, 5 correct (read_write), 6 params {n, d, k, inv_tau}.
#include "grid.wgsl"
override WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> kpos: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@group(0) @binding(5) var<storage, read_write> correct: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;
#include "infonce_rows.wgsl"
#include "online_lse.wgsl"

const NEG_BIG: f32 = -3.0e38;

var<private> max_neg: f32;

fn take(v: f32) {
  max_neg = max(max_neg, v);
  lse_take(v);
}

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let i = grid_index(gid);
  if (i >= p.n) { return; }
  let ib = i * p.d;
  var s_pos = 0.0;
  for (var c = 0u; c < p.d; c++) { s_pos += x[ib + c] * kpos[ib + c]; }
  s_pos *= p.inv_tau;
  mx = s_pos;
  se = 1.0;
  max_neg = NEG_BIG;
  var j = 0u;
  for (; j + 4u <= p.k; j += 4u) {
    let v = dot4(ib, j * p.d) * p.inv_tau;
    take(v.x); take(v.y); take(v.z); take(v.w);
  }
  for (; j < p.k; j++) { take(dot1(ib, j * p.d) * p.inv_tau); }
  let log_s = log(se);
  loss[i] = (mx - s_pos) + log_s;
  lse[i] = mx + log_s;
  correct[i] = select(0.0, 1.0, s_pos > max_neg);
}

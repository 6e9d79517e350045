// infonce_backward.wgsl: gradient of sum_i g_i * loss_i (infonce_forward.wgsl's per-row losses)
// with respect to the queries q [N, d], recomputing the logits instead of reading [N, 1 + K]:
//   dq_i = inv_tau * g_i * ((p_pos - 1) kpos_i + sum_j p_ij queue_j),  p = exp(logit - lse_i).
// One invocation per query row: the positive's term first, then the queue four rows at a time
// (four dot products, then one pass adding the four weighted rows), accumulated in place in out
// (each invocation owns its row). No workgroup memory or barriers. 1-D grid.
// Bindings: 0 q, 1 kpos, 2 queue, 3 g, 4 lse (read), 5 out (read_write, [N, d]), 6 params {n, d, k, inv_tau}.
#include "grid.wgsl"
override WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> kpos: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;
#include "infonce_rows.wgsl"

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let i = grid_index(gid);
  if (i >= p.n) { return; }
  let d = p.d;
  let ib = i * d;
  let gi = g[i] * p.inv_tau;
  let li = lse[i];
  var s_pos = 0.0;
  for (var c = 0u; c < d; c++) { s_pos += x[ib + c] * kpos[ib + c]; }
  let wpos = gi * (exp(s_pos * p.inv_tau - li) - 1.0);
  for (var c = 0u; c < d; c++) { out[ib + c] = wpos * kpos[ib + c]; }
  var j = 0u;
  for (; j + 4u <= p.k; j += 4u) {
    let jb = j * d;
    let w = gi * exp(dot4(ib, jb) * p.inv_tau - li);
    for (var c = 0u; c < d; c++) {
      out[ib + c] += dot(w, vec4<f32>(y[jb + c], y[jb + d + c], y[jb + 2u * d + c], y[jb + 3u * d + c]));
    }
  }
  for (; j < p.k; j++) {
    let jb = j * d;
    let w = gi * exp(dot1(ib, jb) * p.inv_tau - li);
    for (var c = 0u; c < d; c++) { out[ib + c] += w * y[jb + c]; }
  }
}

// infonce_queue_grad.wgsl: gradient of sum_i g_i * loss_i (infonce_forward.wgsl) with respect to
// the queue [K, d]: dqueue_j = inv_tau * sum_i g_i p_ij q_i, p_ij = exp(<q_i, queue_j> inv_tau - lse_i).
// MoCo never needs it (the queue holds detached keys); it makes the op fully differentiable so the
// gradient check covers every input. One invocation per queue row j streams over the queries four
// at a time and accumulates in place in out. Here x = queue (the row owner) and y = q.
// Bindings: 0 queue, 1 q, 2 g, 3 lse (read), 4 out (read_write, [K, d]), 5 params {n, d, k, inv_tau}.
#include "grid.wgsl"
override WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;
#include "infonce_rows.wgsl"

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let j = grid_index(gid);
  if (j >= p.k) { return; }
  let d = p.d;
  let jb = j * d;
  for (var c = 0u; c < d; c++) { out[jb + c] = 0.0; }
  var i = 0u;
  for (; i + 4u <= p.n; i += 4u) {
    let ib = i * d;
    let s = dot4(jb, ib) * p.inv_tau;
    let w = vec4<f32>(g[i], g[i + 1u], g[i + 2u], g[i + 3u]) * exp(s - vec4<f32>(lse[i], lse[i + 1u], lse[i + 2u], lse[i + 3u]));
    for (var c = 0u; c < d; c++) {
      out[jb + c] += dot(w, vec4<f32>(y[ib + c], y[ib + d + c], y[ib + 2u * d + c], y[ib + 3u * d + c]));
    }
  }
  for (; i < p.n; i++) {
    let ib = i * d;
    let w = g[i] * exp(dot1(jb, ib) * p.inv_tau - lse[i]);
    for (var c = 0u; c < d; c++) { out[jb + c] += w * y[ib + c]; }
  }
  for (var c = 0u; c < d; c++) { out[jb + c] *= p.inv_tau; }
}

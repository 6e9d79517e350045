// ntxent_backward.wgsl: gradient of sum_i g_i * loss_i (the per-row NT-Xent losses of
// ntxent_forward.wgsl) with respect to the normalized rows zh [M, d], recomputing the logits
// instead of reading an M x M matrix. With s_ij = <zh_i, zh_j> * inv_tau (i != j) and
// p_ij = exp(s_ij - lse_i), row a's gradient has a row term (a as the anchor) and a column term
// (a as a candidate of every other anchor k), and s is symmetric:
//   dzh_a = inv_tau * sum_{j != a} (g_a (p_aj - [j = pos a]) + g_j (p_ja - [a = pos j])) zh_j
// where a = pos j exactly when j = pos a. One invocation per row a streams over the rows j four
// at a time (four dot products, then one pass adding the four weighted rows) and accumulates its
// gradient row in place in out (each invocation owns its row). No workgroup memory or barriers.
// Bindings: 0 zh, 1 g, 2 lse (read), 3 out (read_write, [M, d]), 4 params {m, d, half, inv_tau}.
#include "grid.wgsl"
#include "ntxent_rows.wgsl"
override WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> zh: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> lse: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

// The weight of row j in row a's gradient (before the 1/tau), given the logit v = s_aj.
fn weight(v: f32, j: u32, a: u32, pos: u32, ga: f32, la: f32) -> f32 {
  if (j == a) { return 0.0; }
  let gj = g[j];
  var w = ga * exp(v - la) + gj * exp(v - lse[j]);
  if (j == pos) { w -= ga + gj; }
  return w;
}

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let a = grid_index(gid);
  if (a >= p.m) { return; }
  let pos = positive(a);
  let ab = a * p.d;
  let ga = g[a];
  let la = lse[a];
  let d = p.d;
  for (var k = 0u; k < d; k++) { out[ab + k] = 0.0; }
  var j = 0u;
  for (; j + 4u <= p.m; j += 4u) {
    let jb = j * d;
    let v = dot4(ab, jb) * p.inv_tau;
    let w = vec4<f32>(weight(v.x, j, a, pos, ga, la), weight(v.y, j + 1u, a, pos, ga, la),
                      weight(v.z, j + 2u, a, pos, ga, la), weight(v.w, j + 3u, a, pos, ga, la));
    for (var k = 0u; k < d; k++) {
      out[ab + k] += dot(w, vec4<f32>(zh[jb + k], zh[jb + d + k], zh[jb + 2u * d + k], zh[jb + 3u * d + k]));
    }
  }
  for (; j < p.m; j++) {
    let jb = j * d;
    let w = weight(dot1(ab, jb) * p.inv_tau, j, a, pos, ga, la);
    for (var k = 0u; k < d; k++) { out[ab + k] += w * zh[jb + k]; }
  }
  for (var k = 0u; k < d; k++) { out[ab + k] *= p.inv_tau; }
}

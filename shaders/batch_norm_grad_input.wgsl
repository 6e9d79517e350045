// batch_norm_grad_input.wgsl: last pass of batch norm's backward (training mode):
//   dx = gamma[c] * invstd[c] * (g - dbeta[c] / M - xhat * dgamma[c] / M),  xhat = (x - mean[c]) * invstd[c]
// with dbeta = sum g and dgamma = sum g * xhat over the channel's M = N*S values.
// Layout: x, g and dx are [N, C, S]; rows (n, c) split into P parts of E values, one invocation per
// part (as batch_norm_apply.wgsl). HAS_GAMMA = 0: gamma = 1 (its binding aliases x, unread).
// Bindings: 0 x, 1 g, 2 mean, 3 invstd, 4 gamma, 5 dgamma, 6 dbeta (read), 7 dx (read_write), 8 params.
#include "grid.wgsl"
#include "bn_rows.wgsl"
override WG: u32 = 256u;
override HAS_GAMMA: u32 = 1u;

struct Params { n: u32, c: u32, s: u32, parts: u32, e: u32, inv_m: f32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> invstd: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> dgamma: array<f32>;
@group(0) @binding(6) var<storage, read> dbeta: array<f32>;
@group(0) @binding(7) var<storage, read_write> dx: array<f32>;
@group(0) @binding(8) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let rp = bn_row_part(t);
  let c = rp.c;
  let mu = mean[c];
  let is = invstd[c];
  var a = is;
  if (HAS_GAMMA == 1u) { a *= gamma[c]; }
  let b = dbeta[c] * p.inv_m;
  let k = dgamma[c] * p.inv_m * is;
  var idx = rp.row * p.s + rp.s0;
  for (var s = rp.s0; s < rp.s1; s++) {
    dx[idx] = a * ((g[idx] - b) - (x[idx] - mu) * k);
    idx++;
  }
}

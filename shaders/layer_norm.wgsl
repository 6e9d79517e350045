// layer_norm.wgsl: per-sample layer normalization of x viewed as rows [N, D] (D = every axis after
// the first), no affine. One invocation per row: the mean, then the biased variance of the
// deviations (two passes, Kahan-compensated with the always-0 uniform p.zero, lib/kahan.wgsl), then
// y = (x - mean) * invstd; writes mean[i] and invstd[i] = 1 / sqrt(var + eps). No workgroup memory
// or barriers; 1-D grid split over x/y.
// Bindings: 0 x (read), 1 y, 2 mean, 3 invstd (read_write), 4 params {n, d, eps, zero}.
#include "grid.wgsl"
#include "kahan.wgsl"
override WG: u32 = 64u;

struct Params { n: u32, d: u32, eps: f32, zero: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> invstd: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let i = grid_index(gid);
  if (i >= p.n) { return; }
  let base = i * p.d;
  let fd = f32(p.d);
  var s = vec2<f32>(0.0);
  for (var j = 0u; j < p.d; j++) { s = kahan_add(s, x[base + j], p.zero); }
  let mu = s.x / fd;
  var q = vec2<f32>(0.0);
  for (var j = 0u; j < p.d; j++) { let t = x[base + j] - mu; q = kahan_add(q, t * t, p.zero); }
  let is = inverseSqrt(q.x / fd + p.eps);
  for (var j = 0u; j < p.d; j++) { y[base + j] = (x[base + j] - mu) * is; }
  mean[i] = mu;
  invstd[i] = is;
}

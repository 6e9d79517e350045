// l2_normalize.wgsl: row-wise L2 normalization of x viewed as rows [N, D] (D its last axis),
// y = x * rsqrt(max(s, 1e-12)), s = the row's sum of squares (engine/ops/l2normalize.ts). One
// invocation per row: s (Kahan-compensated with the always-0 uniform p.zero, lib/kahan.wgsl), then
// the scaled row; writes s[i] for the backward pass. No workgroup memory or barriers; 1-D grid
// split over x/y.
// Bindings: 0 x (read), 1 y, 2 s (read_write), 3 params {n, d, zero}.
#include "grid.wgsl"
#include "kahan.wgsl"
override WG: u32 = 64u;

struct Params { n: u32, d: u32, zero: u32, _p0: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> s: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let i = grid_index(gid);
  if (i >= p.n) { return; }
  let base = i * p.d;
  var q = vec2<f32>(0.0);
  for (var j = 0u; j < p.d; j++) { let v = x[base + j]; q = kahan_add(q, v * v, p.zero); }
  let r = inverseSqrt(max(q.x, 1e-12));
  for (var j = 0u; j < p.d; j++) { y[base + j] = x[base + j] * r; }
  s[i] = q.x;
}

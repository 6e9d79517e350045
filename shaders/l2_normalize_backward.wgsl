// l2_normalize_backward.wgsl: the input gradient of l2_normalize.wgsl for rows [N, D]: one
// invocation per row sums g * y (Kahan-compensated with the always-0 uniform p.zero), then writes
// dx = r (g - y <g, y>), r = rsqrt(max(s, 1e-12)); a row with s < 1e-12 was divided by the clamp, a
// constant, so there dx = r g. No workgroup memory or barriers; 1-D grid split over x/y.
// Bindings: 0 g, 1 y, 2 s (read), 3 dx (read_write), 4 params {n, d, zero}.
#include "grid.wgsl"
#include "kahan.wgsl"
override WG: u32 = 64u;

struct Params { n: u32, d: u32, zero: u32, _p0: u32 }

@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> s: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let i = grid_index(gid);
  if (i >= p.n) { return; }
  let base = i * p.d;
  let si = s[i];
  var gy = vec2<f32>(0.0);
  if (si >= 1e-12) {
    for (var j = 0u; j < p.d; j++) { gy = kahan_add(gy, g[base + j] * y[base + j], p.zero); }
  }
  let r = inverseSqrt(max(si, 1e-12));
  for (var j = 0u; j < p.d; j++) { dx[base + j] = r * (g[base + j] - y[base + j] * gy.x); }
}

// augment_solarize.wgsl: solarization, the last step of a view (simclr/augment.ts), in place.
// Layout: x is f32 [V, C, S, S]; vp holds VIEW_PARAMS f32 parameters per view
// (lib/augment_view.wgsl; solarize flag at 15).
// A flagged view maps every value v >= 0.5 to 1 - v (torchvision's RandomSolarize(0.5) on [0, 1]).
// One element per invocation, 1-D grid split over x/y; unflagged views are left as they are.
// Bindings: 0 vp (read), 1 x (read_write), 2 params {per_view, total}.
#include "grid.wgsl"
#include "augment_view.wgsl"
override WG: u32 = 256u;

struct Params { per_view: u32, total: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read> vp: array<f32>;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let i = grid_index(gid);
  if (i >= p.total) { return; }
  if (vp[(i / p.per_view) * VIEW_PARAMS + 15u] < 0.5) { return; }
  let v = x[i];
  x[i] = select(v, 1.0 - v, v >= 0.5);
}

// augment_solarize.wgsl: solarization, the last step of a view (simclr/augment.ts), in place.
// Layout: x is f32 [V, C, S, S]; vp holds VIEW_PARAMS f32 parameters per view
// (lib/augment_view.wgsl; solarize flag at 15).
// A flagged view maps every value v >= 0.5 to 1 - v (torchvision's RandomSolarize(0.5) on [0, 1]).
// One element per invocation, over the per-view grid (lib/augment_view.wgsl); unflagged views are left as
// they are.
// Bindings: 0 vp (read), 1 x (read_write), 2 params {per_view}.
#include "augment_view.wgsl"
override WG: u32 = 256u;

struct Params { per_view: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> vp: array<f32>;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(g: ViewGrid) {
  let vk = view_item(g);
  if (vk.y >= p.per_view || vp[vk.x * VIEW_PARAMS + 15u] < 0.5) { return; }
  let i = vk.x * p.per_view + vk.y;
  let v = x[i];
  x[i] = select(v, 1.0 - v, v >= 0.5);
}

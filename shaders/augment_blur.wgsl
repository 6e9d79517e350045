// augment_blur.wgsl: one pass of SimCLR's separable Gaussian blur (simclr/augment.ts).
// Layout: x and out are f32 [V, C, S, S]; vp holds VIEW_PARAMS f32 parameters per view
// (lib/augment_view.wgsl; sigma at 13, radius at 14; radius 0 copies). AXIS 0 blurs along rows (x), 1 along columns (y). Reflect
// padding without edge repeat. One output element per invocation,
// over the per-view grid (lib/augment_view.wgsl).
// Bindings: 0 x (read), 1 vp (read), 2 out (read_write), 3 params {c, s, per_view}.
#include "augment_view.wgsl"
override WG: u32 = 256u;
override AXIS: u32 = 0u;

struct Params { c: u32, s: u32, per_view: u32, _p0: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> vp: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(g: ViewGrid) {
  let vk = view_item(g);
  let v = vk.x;
  if (vk.y >= p.per_view) { return; }
  let i = v * p.per_view + vk.y;
  let s = p.s;
  let b = v * VIEW_PARAMS;
  let r = i32(vp[b + 14u]);
  if (r == 0) { out[i] = x[i]; return; }
  let sigma = vp[b + 13u];
  let px = i32(i % s);
  let py = i32((i / s) % s);
  let plane = i - (i % (s * s));
  var norm = 0.0;
  var acc = 0.0;
  for (var k = -r; k <= r; k++) {
    let t = f32(k) / sigma;
    let w = exp(-0.5 * t * t);
    norm += w;
    var idx: u32;
    if (AXIS == 0u) { idx = plane + u32(py) * s + u32(reflect_index(px + k, i32(s))); }
    else { idx = plane + u32(reflect_index(py + k, i32(s))) * s + u32(px); }
    acc += w * x[idx];
  }
  out[i] = acc / norm;
}

// augment_translate.wgsl: random translation with reflection padding (AMDIM's and CPC's
// RandomTranslateWithReflect), after crop and flip (simclr/augment.ts). Layout: x and out are f32
// [V, C, S, S]; vp holds VIEW_PARAMS f32 parameters per view (lib/augment_view.wgsl; shifts tx at 16,
// ty at 17, 0 when the view is not translated). out[v, c, y, x] = x[v, c, reflect(y - ty),
// reflect(x - tx)]: the image moves by (tx, ty) and the uncovered border mirrors the image (no edge
// repeat). One output element per invocation, over the per-view grid (lib/augment_view.wgsl).
// Bindings: 0 x (read), 1 vp (read), 2 out (read_write), 3 params {c, s, per_view}.
#include "augment_view.wgsl"
override WG: u32 = 256u;

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
  let s = i32(p.s);
  let plane = i / (p.s * p.s);
  let b = v * VIEW_PARAMS;
  let px = i32(i % p.s);
  let py = i32((i / p.s) % p.s);
  let sx = reflect_index(px - i32(vp[b + 16u]), s);
  let sy = reflect_index(py - i32(vp[b + 17u]), s);
  out[i] = x[plane * p.s * p.s + u32(sy * s + sx)];
}

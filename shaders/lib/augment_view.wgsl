// augment_view.wgsl (include): what the augmentation kernels share (simclr/augment.ts). Provides
// const VIEW_PARAMS (f32 parameters per view in vp: top, left, height, width, flip, jitter flag,
// brightness, contrast, saturation, hue, order, gray, blur flag, sigma, radius, solarize flag,
// translate x, translate y, two unused; augment.ts `P` names the offsets) and
// fn reflect_index(j, n) -> i32: reflect padding without repeating the edge (torch's 'reflect'),
// clamped for tiny images; struct ViewGrid and fn view_item(g) -> vec2<u32> (view v, item k within
// it): the per-view grid, x over a view's items (WG per workgroup), y + 65535 z over the views
// (augment.ts viewGrid). The view comes from the workgroup id instead of being divided out of a
// flat index: augment_crop 27 -> 16 ms for 512 views of 32x32 on lavapipe (whose JIT code still
// loads the view's parameters per lane, but no longer behind a chain of scalar divides).
// Needs `override WG: u32`.
const VIEW_PARAMS: u32 = 20u;

fn reflect_index(j: i32, n: i32) -> i32 {
  var r = j;
  if (r < 0) { r = -r; }
  if (r >= n) { r = 2 * (n - 1) - r; }
  return clamp(r, 0, n - 1);
}

struct ViewGrid {
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
}

fn view_item(g: ViewGrid) -> vec2<u32> {
  return vec2<u32>(g.wid.y + 65535u * g.wid.z, g.wid.x * WG + g.lid.x);
}

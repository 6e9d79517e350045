// augment_view.wgsl (include): what the augmentation kernels share (simclr/augment.ts). Provides
// const VIEW_PARAMS (f32 parameters per view in vp: top, left, height, width, flip, jitter flag,
// brightness, contrast, saturation, hue, order, gray, blur flag, sigma, radius, solarize flag,
// translate x, translate y, two unused; augment.ts `P` names the offsets) and
// fn reflect_index(j, n) -> i32: reflect padding without repeating the edge (torch's 'reflect'),
// clamped for tiny images.
const VIEW_PARAMS: u32 = 20u;

fn reflect_index(j: i32, n: i32) -> i32 {
  var r = j;
  if (r < 0) { r = -r; }
  if (r >= n) { r = 2 * (n - 1) - r; }
  return clamp(r, 0, n - 1);
}

// augment_crop.wgsl: SimCLR random resized crop + horizontal flip (simclr/augment.ts).
// Layout: src is the uint8 batch N x C x H x W packed 4 bytes per u32 (little-endian); vp holds
// VIEW_PARAMS f32 parameters per view (lib/augment_view.wgsl: top, left, height, width, flip, ...);
// out is f32 [V, C, S, S] in [0, 1] (V = 2N, or N with one view per image); view v samples image v
// mod N. One output row per invocation, over the per-view grid (lib/augment_view.wgsl; per_view =
// C * S rows): the row's source rows, weights and the view's parameters once, then S pixels (one
// pixel per invocation divided its index three ways and gathered the view's parameters per pixel,
// lane by lane on lavapipe). Bilinear resampling with align_corners = false, clamped to the crop.
// Bindings: 0 src (read), 1 vp (read), 2 out (read_write), 3 params {n, c, h, w, s, per_view}.
#include "augment_view.wgsl"
override WG: u32 = 256u;

struct Params { n: u32, c: u32, h: u32, w: u32, s: u32, per_view: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read> vp: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn byte_at(k: u32) -> f32 {
  return f32((src[k >> 2u] >> ((k & 3u) * 8u)) & 255u) / 255.0;
}

@compute @workgroup_size(WG)
fn main(g: ViewGrid) {
  let vk = view_item(g);
  let v = vk.x;
  let k = vk.y;
  if (k >= p.per_view) { return; }
  let s = p.s;
  // the row's terms once (a division and the view's parameters per row, not per pixel)
  let oy = k % s;
  let ch = k / s;
  let img = select(v, v - p.n, v >= p.n);
  let b = v * VIEW_PARAMS;
  let top = u32(vp[b]);
  let left = u32(vp[b + 1u]);
  let chh = vp[b + 2u];
  let cww = vp[b + 3u];
  let flip = vp[b + 4u] > 0.5;
  let sy = max((f32(oy) + 0.5) * chh / f32(s) - 0.5, 0.0);
  let y0 = min(u32(floor(sy)), u32(chh) - 1u);
  let y1 = min(y0 + 1u, u32(chh) - 1u);
  let ly = sy - f32(y0);
  let base = (img * p.c + ch) * p.h * p.w;
  let r0 = base + (top + y0) * p.w + left;
  let r1 = base + (top + y1) * p.w + left;
  let wlast = u32(cww) - 1u;
  let o = (v * p.c + ch) * s * s + oy * s;
  for (var ox = 0u; ox < s; ox++) {
    var x = ox;
    if (flip) { x = s - 1u - ox; }
    let sx = max((f32(x) + 0.5) * cww / f32(s) - 0.5, 0.0);
    let x0 = min(u32(floor(sx)), wlast);
    let x1 = min(x0 + 1u, wlast);
    let lx = sx - f32(x0);
    let a = byte_at(r0 + x0) * (1.0 - lx) + byte_at(r0 + x1) * lx;
    let c = byte_at(r1 + x0) * (1.0 - lx) + byte_at(r1 + x1) * lx;
    out[o + ox] = a * (1.0 - ly) + c * ly;
  }
}

// avg_pool2d.wgsl: 2-D average pooling (PyTorch count_include_pad = true, floor mode: every window
// divides by kh*kw, padded positions count as 0) and its gradient, which is also its adjoint.
// Entry `forward`: x [N, C, H, W] -> y [N, C, OH, OW], one invocation per output looping over the
// window clipped to the input. Entry `backward`: g [N, C, OH, OW] -> dx [N, C, H, W], one invocation
// per input element gathering g / (kh*kw) from the windows that cover it (no atomics).
// 1-D grid split over x/y. Bindings: 0 src (read), 1 dst (read_write), 2 params.
#include "grid.wgsl"
#include "pool_window.wgsl"
override WG: u32 = 256u;

struct Params { n: u32, h: i32, w: i32, oh: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, _p: u32 }

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn forward(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let ox = i32(t % u32(p.ow));
  let r = t / u32(p.ow);
  let oy = i32(r % u32(p.oh));
  let plane = r / u32(p.oh);
  let win = window_clip(oy, ox);
  let base = plane * u32(p.h * p.w);
  var acc = 0.0;
  for (var h = win.x; h < win.y; h++) {
    for (var w = win.z; w < win.w; w++) {
      acc += src[base + u32(h * p.w + w)];
    }
  }
  dst[t] = acc / f32(p.kh * p.kw);
}

@compute @workgroup_size(WG)
fn backward(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let w = i32(t % u32(p.w));
  let r = t / u32(p.w);
  let h = i32(r % u32(p.h));
  let plane = r / u32(p.h);
  let win = covering_windows(h, w);
  let base = plane * u32(p.oh * p.ow);
  var acc = 0.0;
  for (var oy = win.x; oy <= win.y; oy++) {
    for (var ox = win.z; ox <= win.w; ox++) {
      acc += src[base + u32(oy * p.ow + ox)];
    }
  }
  dst[t] = acc / f32(p.kh * p.kw);
}

// max_pool2d_backward.wgsl: gradient of max_pool2d.wgsl: dx[n, c, h, w] = sum of g over the output
// windows that contain (h, w) and whose argmax is h*W + w. Gathers instead of scattering (no float
// atomics): one invocation per input element loops over the few windows covering it
// (ceil(k / s)^2 of them). Layout: g and argmax [N, C, OH, OW], dx [N, C, H, W].
// 1-D grid split over x/y. Bindings: 0 g, 1 argmax (read), 2 dx (read_write), 3 params.
#include "grid.wgsl"
#include "pool_window.wgsl"
override WG: u32 = 256u;

struct Params { n: u32, h: i32, w: i32, oh: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, _p: u32 }

@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> argmax: array<i32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let w = i32(t % u32(p.w));
  let r = t / u32(p.w);
  let h = i32(r % u32(p.h));
  let plane = r / u32(p.h);
  let me = h * p.w + w;
  let win = covering_windows(h, w);
  let base = plane * u32(p.oh * p.ow);
  var acc = 0.0;
  for (var oy = win.x; oy <= win.y; oy++) {
    for (var ox = win.z; ox <= win.w; ox++) {
      let o = base + u32(oy * p.ow + ox);
      if (argmax[o] == me) { acc += g[o]; }
    }
  }
  dx[t] = acc;
}

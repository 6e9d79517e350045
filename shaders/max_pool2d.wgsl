// max_pool2d.wgsl: 2-D max pooling of x [N, C, H, W] into y [N, C, OH, OW] and argmax (i32, the
// flat index h*W + w of the max inside its (n, c) plane), PyTorch semantics: padding counts as
// -inf (padded positions never win), the first maximum in window order (rows, then columns) wins ties.
// One invocation per output, looping over the window clipped to the input; no workgroup memory.
// 1-D grid split over x/y. Bindings: 0 x (read), 1 y, 2 argmax (read_write), 3 params.
#include "grid.wgsl"
#include "pool_window.wgsl"
override WG: u32 = 256u;

struct Params { n: u32, h: i32, w: i32, oh: u32, ow: u32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, _p: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> argmax: array<i32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let ox = i32(t % p.ow);
  let r = t / p.ow;
  let oy = i32(r % p.oh);
  let plane = r / p.oh;
  let win = window_clip(oy, ox);
  let base = plane * u32(p.h * p.w);
  var best = win.x * p.w + win.z;
  var m = x[base + u32(best)];
  for (var h = win.x; h < win.y; h++) {
    for (var w = win.z; w < win.w; w++) {
      let i = h * p.w + w;
      let v = x[base + u32(i)];
      if (v > m) { m = v; best = i; }
    }
  }
  y[t] = m;
  argmax[t] = best;
}

// patches.wgsl: CPC's patch grid. Images [N, C, H, W]; patches [N * gh * gw, C, P, P], patch
// (n, gy, gx) at row (n * gh + gy) * gw + gx, its pixel (py, px) = image[n, c, gy * S + py, gx * S + px].
// Entry `unfold`: one patch element per invocation, copied from its image pixel. Entry `fold` (the
// adjoint): one image pixel per invocation, summing the patch elements that cover it (grid rows
// gy with gy * S <= y < gy * S + P, likewise columns), so no atomics. 1-D grid split over x/y.
// Bindings: 0 src (read), 1 dst (read_write), 2 params {n (dst elements), c, h, w, p, s, gh, gw}.
#include "grid.wgsl"
override WG: u32 = 256u;

struct Params { n: u32, c: u32, h: u32, w: u32, p: u32, s: u32, gh: u32, gw: u32 }

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn unfold(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let px = t % p.p;
  var r = t / p.p;
  let py = r % p.p;
  r = r / p.p;
  let ch = r % p.c;
  let q = r / p.c;
  let gx = q % p.gw;
  let gy = (q / p.gw) % p.gh;
  let img = q / (p.gw * p.gh);
  dst[t] = src[((img * p.c + ch) * p.h + gy * p.s + py) * p.w + gx * p.s + px];
}

// The first grid index whose patch (starting at g * s, spanning p) reaches coordinate v.
fn first_cover(v: u32) -> u32 {
  if (v + 1u <= p.p) { return 0u; }
  return (v + 1u - p.p + p.s - 1u) / p.s;
}

@compute @workgroup_size(WG)
fn fold(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let x = t % p.w;
  var r = t / p.w;
  let y = r % p.h;
  r = r / p.h;
  let ch = r % p.c;
  let img = r / p.c;
  let gy1 = min(y / p.s, p.gh - 1u);
  let gx1 = min(x / p.s, p.gw - 1u);
  var acc = 0.0;
  for (var gy = first_cover(y); gy <= gy1; gy++) {
    for (var gx = first_cover(x); gx <= gx1; gx++) {
      let q = (img * p.gh + gy) * p.gw + gx;
      acc += src[((q * p.c + ch) * p.p + y - gy * p.s) * p.p + x - gx * p.s];
    }
  }
  dst[t] = acc;
}

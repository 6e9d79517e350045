// augment_color.wgsl: SimCLR color jitter (random order) + grayscale (simclr/augment.ts).
// Layout: x is f32 [V, C, S, S] (the crops), vp VIEW_PARAMS f32 parameters per view
// (lib/augment_view.wgsl). Contrast blends with the mean luma of the view after the jitter steps
// that precede it, in two passes (1-D grids split over x/y): entry `row_sums`, one (view, row) per
// invocation (p.total = V * S), writes that row's luma sum to out[v * S + y] (out is scratch until
// `main` overwrites it); entry `means_main`, one view per invocation (p.total = V), adds its S row
// sums into means[v] (one invocation walking a whole view left 8 lanes per 8 views: on lavapipe
// 512 views of 32 x 32 ran on 2 workgroups, and a GPU would run a few hundred threads for the
// whole batch). Entry `main`: one pixel (all channels) per invocation over
// the per-view grid (lib/augment_view.wgsl), applies the jitter steps in the view's order (each
// clipped to [0, 1]) and grayscale, writes out. Hue is a rotation of the YIQ chroma plane
// (luma-preserving).
// Bindings: 0 x (read), 1 vp (read), 2 means (read_write), 3 out (read_write), 4 params {c, s,
// total: V * S for row_sums, V for means_main}.
#include "grid.wgsl"
#include "augment_view.wgsl"
override WG: u32 = 256u;

struct Params { c: u32, s: u32, total: u32, _p0: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> vp: array<f32>;
@group(0) @binding(2) var<storage, read_write> means: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

const EI = vec3<f32>(0.9561706854041453, -0.2726886023301063, -1.1037440821760263);
const EQ = vec3<f32>(0.6214325663465856, -0.6468132370201739, 1.7006230946773064);
const LUMA = vec3<f32>(0.299, 0.587, 0.114);

fn step_op(op: u32, px: vec3<f32>, b: u32, mean: f32, rgb: bool) -> vec3<f32> {
  switch (op) {
    case 0u: { return clamp(px * vp[b + 6u], vec3<f32>(0.0), vec3<f32>(1.0)); }
    case 1u: {
      let f = vp[b + 7u];
      return clamp(f * px + (1.0 - f) * mean, vec3<f32>(0.0), vec3<f32>(1.0));
    }
    case 2u: {
      if (!rgb) { return px; }
      let f = vp[b + 8u];
      let g = dot(LUMA, px);
      return clamp(f * px + (1.0 - f) * g, vec3<f32>(0.0), vec3<f32>(1.0));
    }
    default: {
      if (!rgb) { return px; }
      let y = dot(LUMA, px);
      let i = dot(vec3<f32>(0.596, -0.274, -0.322), px);
      let q = dot(vec3<f32>(0.211, -0.523, 0.312), px);
      let th = 6.283185307179586 * vp[b + 9u];
      let cs = cos(th);
      let sn = sin(th);
      let i2 = cs * i - sn * q;
      let q2 = sn * i + cs * q;
      return clamp(y + EI * i2 + EQ * q2, vec3<f32>(0.0), vec3<f32>(1.0));
    }
  }
}

fn load(v: u32, k: u32, rgb: bool) -> vec3<f32> {
  let ss = p.s * p.s;
  let o = v * p.c * ss + k;
  if (rgb) { return vec3<f32>(x[o], x[o + ss], x[o + 2u * ss]); }
  return vec3<f32>(x[o]);
}

// The luma sum of one view row before the steps from contrast on (0 without jitter).
@compute @workgroup_size(WG)
fn row_sums(gid: Grid1D) {
  let i = grid_index(gid);
  if (i >= p.total) { return; }
  let v = i / p.s;
  let y = i % p.s;
  let rgb = p.c == 3u;
  let b = v * VIEW_PARAMS;
  var row = 0.0;
  if (vp[b + 5u] > 0.5) {
    let order = u32(vp[b + 10u]);
    for (var xx = 0u; xx < p.s; xx++) {
      var px = load(v, y * p.s + xx, rgb);
      for (var k = 0u; k < 4u; k++) {
        let op = (order >> (2u * k)) & 3u;
        if (op == 1u) { break; }
        px = step_op(op, px, b, 0.0, rgb);
      }
      row += select(px.x, dot(LUMA, px), rgb);
    }
  }
  out[i] = row;
}

// Mean luma per view from its row sums, added in row order.
@compute @workgroup_size(WG)
fn means_main(gid: Grid1D) {
  let v = grid_index(gid);
  if (v >= p.total) { return; }
  var total = 0.0;
  for (var y = 0u; y < p.s; y++) { total += out[v * p.s + y]; }
  means[v] = total / f32(p.s * p.s);
}

// One pixel (all channels) per invocation, over the per-view grid.
@compute @workgroup_size(WG)
fn main(g: ViewGrid) {
  let vk = view_item(g);
  let v = vk.x;
  let k = vk.y;
  let ss = p.s * p.s;
  if (k >= ss) { return; }
  let rgb = p.c == 3u;
  let b = v * VIEW_PARAMS;
  var px = load(v, k, rgb);
  if (vp[b + 5u] > 0.5) {
    let order = u32(vp[b + 10u]);
    let mean = means[v];
    for (var j = 0u; j < 4u; j++) {
      px = step_op((order >> (2u * j)) & 3u, px, b, mean, rgb);
    }
  }
  if (rgb && vp[b + 11u] > 0.5) { px = vec3<f32>(dot(LUMA, px)); }
  let o = v * p.c * ss + k;
  out[o] = px.x;
  if (rgb) {
    out[o + ss] = px.y;
    out[o + 2u * ss] = px.z;
  }
}

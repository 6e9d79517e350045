// optim_sgd.wgsl: one fused update of one parameter tensor for SGD and LARS (engine/ops/optim.ts),
// instead of a dispatch per elementwise op. Layout: every tensor contiguous f32 of n elements, read
// and written as vec4s (lib/vec4_tail.wgsl); E vec4s per invocation, grid-stride (vec4 q = t + k * T
// for k < E, T invocations), so neighbouring invocations touch neighbouring addresses. 1-D grid
// split over x/y.
// Entry `momentum`: d = g (+ wd * w when HAS_WD), times the scale (SCALE_BUF: scale[0], LARS's
//   lr * trust from optim_lars.wgsl; else p.c: 1 for SGD, lr for a LARS-excluded parameter);
//   v' = m * v + d (HAS_V) or d (the first step); step = d + m * v' (NESTEROV) or v';
//   w' = w - p.lr_out * step (lr for SGD, whose lr sits outside the buffer; 1 for LARS).
//   Bindings: 0 w, 1 g, 2 v, 3 scale (read; v and scale alias w when unused), 4 w_out, 5 v_out
//   (read_write), 6 params.
// Entry `plain` (SGD without momentum): w' = w - lr * (g + wd * w). Bindings: 0 w, 1 g (read),
//   2 w_out (read_write), 3 params.
#include "grid.wgsl"
#include "vec4_tail.wgsl"
override WG: u32 = 256u;
override E: u32 = 4u;
override HAS_V: bool = true;
override HAS_WD: bool = true;
override NESTEROV: bool = false;
override SCALE_BUF: bool = false;

struct Params { n: u32, T: u32, lr_out: f32, c: f32, m: f32, wd: f32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> scale: array<f32>;
@group(0) @binding(4) var<storage, read_write> w_out: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> v_out: array<vec4<f32>>;
@group(0) @binding(6) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn momentum(gid: Grid1D) {
  let t = grid_index(gid);
  var c = p.c;
  if (SCALE_BUF) { c = scale[0]; }
  for (var k = 0u; k < E; k++) {
    let q = vec4_step(t, k, p.T, p.n);
    if (q == NO_VEC4) { break; }
    let wq = w[q];
    var d = g[q];
    if (HAS_WD) { d += p.wd * wq; }
    d *= c;
    var vq = d;
    if (HAS_V) { vq = p.m * v[q] + d; }
    var step = vq;
    if (NESTEROV) { step = d + p.m * vq; }
    v_out[q] = vq;
    w_out[q] = wq - p.lr_out * step;
  }
}

@group(0) @binding(2) var<storage, read_write> plain_out: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> pp: Params;

@compute @workgroup_size(WG)
fn plain(gid: Grid1D) {
  let t = grid_index(gid);
  for (var k = 0u; k < E; k++) {
    let q = vec4_step(t, k, pp.T, pp.n);
    if (q == NO_VEC4) { break; }
    let wq = w[q];
    plain_out[q] = wq - pp.lr_out * (g[q] + pp.wd * wq);
  }
}

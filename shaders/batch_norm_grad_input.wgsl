// batch_norm_grad_input.wgsl: last pass of batch norm's backward (training mode):
//   dx = gamma[c] * invstd[c] * (g - dbeta[c] / M - xhat * dgamma[c] / M),  xhat = (x - mean[c]) * invstd[c]
// with dbeta = sum g and dgamma = sum g * xhat over the channel's M = N*S values, from the
// per-channel coefficients of batch_norm_grad_merge.wgsl: dx = a * ((g - b) - (x - mean) * k).
// With RELU (batch norm fused with a ReLU, y its output) g is masked to g * (y > 0) first.
// Layout: x, g, y and dx are [N, C, S]; rows (n, c) split into P parts of E values, one invocation
// per part (as batch_norm_apply.wgsl). Entry `main`: scalar loads; entry `main4` (S % 4 == 0 and
// E % 4 == 0): x, g, y and dx viewed as vec4s.
// Bindings: 0 x, 1 g, 2 y (read; aliases g without RELU), 3 coef ([4C], read), 4 dx (read_write), 5 params.
#include "grid.wgsl"
#include "bn_rows.wgsl"
override WG: u32 = 256u;
override RELU: bool = false;

struct Params { n: u32, c: u32, s: u32, parts: u32, e: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> coef: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let rp = bn_row_part(t);
  let k = coef[rp.c];
  var idx = rp.row * p.s + rp.s0;
  for (var s = rp.s0; s < rp.s1; s++) {
    var gv = g[idx];
    if (RELU) { gv *= select(0.0, 1.0, y[idx] > 0.0); }
    dx[idx] = k.y * ((gv - k.z) - (x[idx] - k.x) * k.w);
    idx++;
  }
}

@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> g4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> y4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dx4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main4(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let rp = bn_row_part(t);
  let k = coef[rp.c];
  var q = (rp.row * p.s + rp.s0) / 4u;
  for (var s = rp.s0; s < rp.s1; s += 4u) {
    var gv = g4[q];
    if (RELU) { gv *= select(vec4<f32>(0.0), vec4<f32>(1.0), y4[q] > vec4<f32>(0.0)); }
    dx4[q] = k.y * ((gv - k.z) - (x4[q] - k.x) * k.w);
    q++;
  }
}

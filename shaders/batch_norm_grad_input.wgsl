// batch_norm_grad_input.wgsl: last pass of batch norm's backward (training mode):
//   dx = gamma[c] * invstd[c] * (g - dbeta[c] / M - xhat * dgamma[c] / M),  xhat = (x - mean[c]) * invstd[c]
// with dbeta = sum g and dgamma = sum g * xhat over the channel's M = N*S values, from the
// per-channel coefficients of batch_norm_grad_merge.wgsl: dx = a * ((g - b) - (x - mean) * k).
// With RELU (batch norm fused with a ReLU) g is masked first to g * (v > 0), v = (x - mean) * a +
// beta the forward's pre-ReLU value, recomputed as batch_norm_apply.wgsl computes it.
// Layout: x, g and dx are [N, C, S]; rows (n, c) split into P parts of E values, one invocation
// per part (as batch_norm_apply.wgsl). Entry `main`: scalar loads; entry `main4` (S % 4 == 0 and
// E % 4 == 0): x, g and dx viewed as vec4s.
// Bindings: 0 x, 1 g (read), 2 coef ([C, 2] vec4s, read), 3 dx (read_write), 4 params.
#include "grid.wgsl"
#include "bn_rows.wgsl"
override WG: u32 = 256u;
override RELU: bool = false;

struct Params { n: u32, c: u32, s: u32, parts: u32, e: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> coef: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let rp = bn_row_part(t);
  let k = coef[2u * rp.c];
  let beta = coef[2u * rp.c + 1u].x;
  var idx = rp.row * p.s + rp.s0;
  for (var s = rp.s0; s < rp.s1; s++) {
    var gv = g[idx];
    let d = x[idx] - k.x;
    if (RELU) { gv *= select(0.0, 1.0, d * k.y + beta > 0.0); }
    dx[idx] = k.y * ((gv - k.z) - d * k.w);
    idx++;
  }
}

@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> g4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dx4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main4(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let rp = bn_row_part(t);
  let k = coef[2u * rp.c];
  let beta = coef[2u * rp.c + 1u].x;
  var q = (rp.row * p.s + rp.s0) / 4u;
  for (var s = rp.s0; s < rp.s1; s += 4u) {
    var gv = g4[q];
    let d = x4[q] - k.x;
    if (RELU) { gv *= select(vec4<f32>(0.0), vec4<f32>(1.0), d * k.y + beta > vec4<f32>(0.0)); }
    dx4[q] = k.y * ((gv - k.z) - d * k.w);
    q++;
  }
}

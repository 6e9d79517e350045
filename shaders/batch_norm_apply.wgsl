// batch_norm_apply.wgsl: y = (x - mean[c]) * invstd[c] * gamma[c] + beta[c] (batch norm's
// normalization, training and evaluation alike), plus r (the residual branch) when RESIDUAL, then
// max(y, 0) when RELU (batch norm + ReLU, or a ResNet block's batch norm + residual add + ReLU, in
// one pass). x - mean first, so large offsets cancel exactly.
// Layout: x, r and y are [N, C, S] contiguous; each row (n, c) is split into P parts of E values; one
// invocation per part (t = row * P + part, lib/bn_rows.wgsl), so no per-element index division.
// Entry `main`: scalar loads. Entry `main4` (S % 4 == 0, E % 4 == 0: parts start on 16-byte
// boundaries): the same with x and y viewed as vec4s (on lavapipe a 16-byte load costs about a
// 4-byte one). HAS_GAMMA/HAS_BETA = 0 mean gamma = 1 / beta = 0 (their bindings then alias
// another input and are not read; so does r's without RESIDUAL).
// Bindings: 0 x, 1 mean, 2 invstd, 3 gamma, 4 beta, 5 r (read), 6 y (read_write), 7 params.
#include "grid.wgsl"
#include "bn_rows.wgsl"
#include "bn_affine.wgsl"
override WG: u32 = 256u;
override HAS_GAMMA: u32 = 1u;
override HAS_BETA: u32 = 1u;
override RELU: bool = false;
override RESIDUAL: bool = false;

struct Params { n: u32, c: u32, s: u32, parts: u32, e: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> mean: array<f32>;
@group(0) @binding(2) var<storage, read> invstd: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read> r: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

// Channel c's (mean, scale, shift): y = (x - mean) * scale + shift.
fn channel(c: u32) -> vec3<f32> {
  let k = bn_scale_shift(c);
  return vec3<f32>(mean[c], k.x, k.y);
}

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let rp = bn_row_part(t);
  let k = channel(rp.c);
  var idx = rp.row * p.s + rp.s0;
  for (var s = rp.s0; s < rp.s1; s++) {
    var v = (x[idx] - k.x) * k.y + k.z;
    if (RESIDUAL) { v += r[idx]; }
    if (RELU) { v = max(v, 0.0); }
    y[idx] = v;
    idx++;
  }
}

@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> r4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> y4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main4(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let rp = bn_row_part(t);
  let k = channel(rp.c);
  var q = (rp.row * p.s + rp.s0) / 4u;
  for (var s = rp.s0; s < rp.s1; s += 4u) {
    var v = (x4[q] - k.x) * k.y + k.z;
    if (RESIDUAL) { v += r4[q]; }
    if (RELU) { v = max(v, vec4<f32>(0.0)); }
    y4[q] = v;
    q++;
  }
}

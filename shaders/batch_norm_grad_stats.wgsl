// batch_norm_grad_stats.wgsl: first pass of batch norm's backward: per channel and chunk, the sums
// of g and of g * (x - mean[c]) (Kahan-compensated with p.zero, lib/kahan.wgsl). With RELU (batch
// norm fused with a ReLU) g is first masked by ReLU's backward, g * (v > 0), v the forward's
// pre-ReLU value recomputed from x as batch_norm_apply.wgsl computes it ((x - mean) * invstd * gamma
// + beta, the same operations in the same order, so the same mask): reading the output y as well
// cost half as much traffic again. HAS_GAMMA / HAS_BETA = 0: gamma 1 / beta 0.
// Layout and chunking as batch_norm_stats.wgsl: x and g are [N, C, S]; invocation t = c*K + k
// writes part[2t] = sum g, part[2t+1] = sum g * (x - mean). batch_norm_grad_merge.wgsl adds chunks.
// Entry `main4` (S and the chunk length multiples of 4): x and g read as vec4s, one compensated
// add per vec4 (kahan_add4).
// Bindings: 0 x, 1 g, 2 mean, 3 invstd, 4 gamma, 5 beta (read; 3-5 alias x where unused), 6 part
// (read_write), 7 params.
#include "grid.wgsl"
#include "kahan.wgsl"
#include "bn_chunk.wgsl"
#include "bn_affine.wgsl"
override WG: u32 = 256u;
override RELU: bool = false;
override HAS_GAMMA: u32 = 1u;
override HAS_BETA: u32 = 1u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> invstd: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> beta: array<f32>;
@group(0) @binding(6) var<storage, read_write> part: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

// Channel c's forward scale and shift, read only for the ReLU's mask.
fn scale_shift(c: u32) -> vec2<f32> {
  if (!RELU) { return vec2<f32>(0.0); }
  return bn_scale_shift(c);
}

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let ch = bn_chunk(t);
  var idx = ch.idx0;
  var s = ch.s0;
  let mu = mean[ch.c];
  let k = scale_shift(ch.c);
  var sg = vec2<f32>(0.0);
  var sgx = vec2<f32>(0.0);
  for (var m = ch.m0; m < ch.m1; m++) {
    var gv = g[idx];
    let d = x[idx] - mu;
    if (RELU) { gv *= select(0.0, 1.0, d * k.x + k.y > 0.0); }
    sg = kahan_add(sg, gv, p.zero);
    sgx = kahan_add(sgx, gv * d, p.zero);
    chunk_next(&idx, &s, 1u);
  }
  part[2u * t] = sg.x;
  part[2u * t + 1u] = sgx.x;
}

@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> g4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main4(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let ch = bn_chunk(t);
  var idx = ch.idx0;
  var s = ch.s0;
  let mu = mean[ch.c];
  let k = scale_shift(ch.c);
  var sg = vec2<f32>(0.0);
  var sgx = vec2<f32>(0.0);
  for (var m = ch.m0; m < ch.m1; m += 4u) {
    var gv = g4[idx / 4u];
    let d = x4[idx / 4u] - mu;
    if (RELU) { gv *= select(vec4<f32>(0.0), vec4<f32>(1.0), d * k.x + k.y > vec4<f32>(0.0)); }
    let gx = gv * d;
    sg = kahan_add4(sg, gv, p.zero);
    sgx = kahan_add4(sgx, gx, p.zero);
    chunk_next(&idx, &s, 4u);
  }
  part[2u * t] = sg.x;
  part[2u * t + 1u] = sgx.x;
}

// batch_norm_grad_merge.wgsl: second pass of batch norm's backward: adds the K chunk partials of
// each channel (Kahan-compensated) into dbeta[c] = sum g and dgamma[c] = invstd[c] * sum g*(x - mean),
// the sums batch_norm_grad_input.wgsl needs as well.
// Layout: part is [C, K, 2]. One invocation per channel.
// Bindings: 0 part, 1 invstd (read), 2 dgamma, 3 dbeta (read_write), 4 params.
#include "kahan.wgsl"
override WG: u32 = 64u;

struct Params { c: u32, k: u32, zero: u32, _p: u32 }

@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read> invstd: array<f32>;
@group(0) @binding(2) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(3) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.c) { return; }
  var base = 2u * c * p.k;
  var sg = vec2<f32>(0.0);
  var sgx = vec2<f32>(0.0);
  for (var k = 0u; k < p.k; k++) {
    sg = kahan_add(sg, part[base], p.zero);
    sgx = kahan_add(sgx, part[base + 1u], p.zero);
    base += 2u;
  }
  dbeta[c] = sg.x;
  dgamma[c] = sgx.x * invstd[c];
}

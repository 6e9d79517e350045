// optim_ema.wgsl: the moving average of a target network's parameter (MoCo's key encoder, BYOL's
// target; engine/ops/optim.ts emaUpdate): out = m * target + (1 - m) * online, one dispatch per
// tensor. Layout: contiguous f32 of n elements as vec4s (lib/vec4_tail.wgsl), E per invocation,
// grid-stride (as optim_sgd.wgsl). Bindings: 0 tgt (the target), 1 online (read), 2 out
// (read_write), 3 params. 1-D grid split over x/y.
#include "grid.wgsl"
#include "vec4_tail.wgsl"
override WG: u32 = 256u;
override E: u32 = 4u;

struct Params { n: u32, T: u32, m: f32, _p0: u32 }

@group(0) @binding(0) var<storage, read> tgt: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> online: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let t = grid_index(gid);
  for (var k = 0u; k < E; k++) {
    let q = vec4_step(t, k, p.T, p.n);
    if (q == NO_VEC4) { break; }
    out[q] = p.m * tgt[q] + (1.0 - p.m) * online[q];
  }
}

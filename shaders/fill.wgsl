// fill.wgsl: out[i] = value (bit pattern, so it fills f32, i32 and u32 alike).
// Layout: contiguous, one element per invocation, 1-D grid split over x/y.
// Bindings: 0 out (read_write), 1 params {n, bits}.
#include "grid.wgsl"
override WG: u32 = 256u;

struct Params { n: u32, bits: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let i = grid_index(gid);
  if (i >= p.n) { return; }
  out[i] = p.bits;
}

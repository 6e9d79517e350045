// one_hot.wgsl: out[j, k] = labels[j] == k ? 1 : 0 for k in [0, C).
// Layout: labels i32 contiguous [M], out f32 contiguous [M, C]. One output element per invocation,
// 1-D grid split over x/y. Labels outside [0, C) give an all-zero row.
// Bindings: 0 labels (read, i32), 1 out (read_write), 2 params {n = M*C, c}.
#include "grid.wgsl"
override WG: u32 = 256u;

struct Params { n: u32, c: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read> labels: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  out[t] = select(0.0, 1.0, labels[t / p.c] == i32(t % p.c));
}

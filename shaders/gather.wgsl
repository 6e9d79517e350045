// gather.wgsl: out[o, k, i] = x[o, idx[k], i], x viewed as [outer, D, inner], out [outer, K, inner].
// Layout: x, out contiguous; idx i32 [K]. One output element per invocation, 1-D grid split over
// x/y. Moves u32 bit patterns, so it serves every 4-byte dtype. Indices outside [0, D) write 0.
// Bindings: 0 x (read), 1 idx (read, i32), 2 out (read_write), 3 params {n, d, k, inner}.
#include "grid.wgsl"
override WG: u32 = 256u;

struct Params { n: u32, d: u32, k: u32, inner: u32 }

@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let i = t % p.inner;
  let ok = t / p.inner;
  let j = idx[ok % p.k];
  if (j < 0 || u32(j) >= p.d) {
    out[t] = 0u;
    return;
  }
  out[t] = x[((ok / p.k) * p.d + u32(j)) * p.inner + i];
}

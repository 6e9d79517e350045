// scatter_add.wgsl: out[o, d, i] = sum of g[o, k, i] over the k with idx[k] == d (gather's adjoint).
// Layout: g contiguous [outer, K, inner], idx i32 [K], out contiguous [outer, D, inner]. One
// destination element per invocation loops over all K indices in order: deterministic, no atomics,
// O(K) per output. Indices outside [0, D) match no destination and are dropped. 1-D grid over x/y.
// Bindings: 0 g (read), 1 idx (read, i32), 2 out (read_write), 3 params {n, d, k, inner}.
#include "grid.wgsl"
override WG: u32 = 256u;

struct Params { n: u32, d: u32, k: u32, inner: u32 }

@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let i = t % p.inner;
  let od = t / p.inner;
  let d = i32(od % p.d);
  var src = (od / p.d) * p.k * p.inner + i;
  var s = 0.0;
  for (var k = 0u; k < p.k; k++) {
    if (idx[k] == d) { s += g[src]; }
    src += p.inner;
  }
  out[t] = s;
}

// scatter_add.wgsl: out[o, d, i] = sum of g[o, k, i] over the k with idx[k] == d (gather's adjoint).
// Layout: g contiguous [outer, K, inner], idx i32 [K], out contiguous [outer, D, inner]. One
// invocation owns CHUNK consecutive elements of one destination row (chunks = ceil(inner / CHUNK)
// per row) and loops over all K indices once, adding the matching source slices in index order:
// deterministic, no atomics, O(K) per chunk, not per element. CHUNK is chosen per device: large on
// CPU adapters (where the index loop, not the adds, is the cost), small on GPUs (parallelism).
// Indices outside [0, D) match no destination and are dropped. 1-D grid over x/y.
// Bindings: 0 g (read), 1 idx (read, i32), 2 out (read_write), 3 params {n, d, k, inner} with n =
// outer * D * chunks (invocations).
#include "grid.wgsl"
override WG: u32 = 256u;
override CHUNK: u32 = 4u;

struct Params { n: u32, d: u32, k: u32, inner: u32 }

@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let chunks = (p.inner + CHUNK - 1u) / CHUNK;
  let i0 = (t % chunks) * CHUNK;
  let len = min(CHUNK, p.inner - i0);
  let od = t / chunks;
  let d = i32(od % p.d);
  let dst = od * p.inner + i0;
  for (var j = 0u; j < len; j++) { out[dst + j] = 0.0; }
  var src = (od / p.d) * p.k * p.inner + i0;
  for (var k = 0u; k < p.k; k++) {
    if (idx[k] == d) {
      for (var j = 0u; j < len; j++) { out[dst + j] += g[src + j]; }
    }
    src += p.inner;
  }
}

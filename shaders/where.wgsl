// where.wgsl: out[i] = cond[ic] != 0 ? a[ia] : b[ib], all three broadcast to out's shape.
// Layout: out contiguous; operand offsets from out's multi-index and per-operand strides (0 on
// broadcast axes), rank <= 8. One element per invocation, 1-D grid split over x/y.
// Bindings: 0 cond (read, f32 mask), 1 a, 2 b (read), 3 out (read_write), 4 params.
#include "grid.wgsl"
override WG: u32 = 256u;

struct Params {
  n: u32, rank: u32, _p0: u32, _p1: u32,
  shape: array<vec4<u32>, 2>,
  sc: array<vec4<u32>, 2>,
  sa: array<vec4<u32>, 2>,
  sb: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> c: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let i = grid_index(gid);
  if (i >= p.n) { return; }
  var rem = i;
  var ic = 0u;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let dim = p.shape[d / 4][d % 4];
    let idx = rem % dim;
    rem = rem / dim;
    ic += idx * p.sc[d / 4][d % 4];
    ia += idx * p.sa[d / 4][d % 4];
    ib += idx * p.sb[d / 4][d % 4];
  }
  out[i] = select(b[ib], a[ia], c[ic] != 0.0);
}

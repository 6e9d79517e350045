// scatter_copy.wgsl: out[offset + sum_d idx_d * stride_d] = src[i], idx = i's multi-index in shape.
// Layout: src contiguous; out written through per-axis element strides into a region the host
// has allocated (and filled, for pad); the region's elements are distinct, so no two invocations
// write one element. rank <= 8 after merging. Moves u32 bit patterns (f32, i32 and u32 alike).
// Used by concat (one dispatch per input) and pad. One element per invocation, 1-D grid split
// over x/y; no workgroup memory.
// Bindings: 0 src (read), 1 out (read_write), 2 params.
#include "grid.wgsl"
#include "strided_copy_layout.wgsl"
override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let i = grid_index(gid);
  if (i >= p.n) { return; }
  out[strided_index(i)] = src[i];
}

// strided_copy.wgsl: out[i] = src[offset + sum_d idx_d * stride_d], idx = i's multi-index in shape.
// Layout: out contiguous; src read through per-axis element strides (0 repeats an axis, as in
// broadcasting), rank <= 8 after the host merges contiguous axes. Moves u32 bit patterns, so it
// copies f32, i32 and u32 alike. Used by permute, slice, broadcastTo and clone.
// One element per invocation, 1-D grid split over x/y; no workgroup memory.
// Bindings: 0 src (read), 1 out (read_write), 2 params.
#include "grid.wgsl"
#include "strided_copy_layout.wgsl"
override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let i = grid_index(gid);
  if (i >= p.n) { return; }
  out[i] = src[strided_index(i)];
}

// strided_copy.wgsl: out[i] = src[offset + sum_d idx_d * stride_d], idx = i's multi-index in shape.
// Layout: out contiguous; src read through per-axis element strides (0 repeats an axis, as in
// broadcasting), rank <= 8 after the host merges contiguous axes. Moves u32 bit patterns, so it
// copies f32, i32 and u32 alike. Used by permute, slice, broadcastTo and clone.
// One element per invocation, 1-D grid split over x/y; no workgroup memory.
// Entry `rows`: the innermost axis repeats one source element (stride 0, p.inner long, a multiple of
// 4; a broadcast over trailing axes, as the backward of a mean over H and W): one invocation per
// row, one index walk and p.inner / 4 vec4 stores. The per-element walk divides by every axis
// length, and lavapipe divides lane by lane: [512,128,1,1] -> [512,128,4,4] took 11 ms.
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

@group(0) @binding(1) var<storage, read_write> out4: array<vec4<u32>>;

@compute @workgroup_size(WG)
fn rows(gid: Grid1D) {
  let r = grid_index(gid);
  if (r >= p.n) { return; }
  let v = vec4<u32>(src[strided_index(r)]);
  let q4 = p.inner / 4u;
  for (var k = 0u; k < q4; k++) { out4[r * q4 + k] = v; }
}

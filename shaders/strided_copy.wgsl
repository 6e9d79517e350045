// strided_copy.wgsl: out[i] = src[offset + sum_d idx_d * stride_d], idx = i's multi-index in shape.
// Layout: out contiguous; src read through per-axis element strides (0 repeats an axis, as in
// broadcasting), rank <= 8 after the host merges contiguous axes. Moves u32 bit patterns, so it
// copies f32, i32 and u32 alike. Used by permute, slice, broadcastTo and clone.
// One element per invocation, 1-D grid split over x/y; no workgroup memory.
// Bindings: 0 src (read), 1 out (read_write), 2 params.
override WG: u32 = 256u;

struct Params {
  n: u32, rank: u32, offset: u32, _p0: u32,
  shape: array<vec4<u32>, 2>,
  strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid.x;
  if (i >= p.n) { return; }
  var rem = i;
  var j = p.offset;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let dim = p.shape[d / 4][d % 4];
    j += (rem % dim) * p.strides[d / 4][d % 4];
    rem = rem / dim;
  }
  out[i] = src[j];
}

// strided_copy_layout.wgsl (include): what strided_copy.wgsl and scatter_copy.wgsl share (they
// differ only in which side of the copy goes through the strides). Provides struct Params
// {n, rank, offset, inner, shape, strides} (rank <= 8 axes, packed 4 to a vec4; inner: see
// strided_copy.wgsl's `rows`), the bindings 0 src
// (read, u32), 1 out (read_write, u32), 2 p (uniform), and fn strided_index(i) -> u32:
// p.offset + sum_d idx_d * p.strides[d], idx = i's multi-index in p.shape.
struct Params {
  n: u32, rank: u32, offset: u32, inner: u32,
  shape: array<vec4<u32>, 2>,
  strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

fn strided_index(i: u32) -> u32 {
  var rem = i;
  var j = p.offset;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let dim = p.shape[d / 4][d % 4];
    j += (rem % dim) * p.strides[d / 4][d % 4];
    rem = rem / dim;
  }
  return j;
}

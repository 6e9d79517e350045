// transpose.wgsl: out[b, c, r] = src[b, r, c] for a batch of R x C matrices, R and C multiples of
// 4. One invocation per 4 x 4 block: four vec4 loads along rows of src, four vec4 stores along
// rows of out. Blocks run column block fastest, so neighbouring invocations read neighbouring
// vec4s of the same four source rows; the stores are the strided side. Moves u32 bit patterns (any
// 32-bit dtype). Used by permute/transpose where they swap the last two axes (strided_copy.wgsl's
// element-wise walk took 58 ms for 2048 x 2048 on lavapipe, this 6.5 ms) and by matmul on CPU
// adapters (engine/ops/matmul.ts: an operand walked down rows of 8 KiB or more).
// Bindings: 0 src (read, vec4), 1 out (read_write, vec4), 2 params. 1-D grid split over x/y.
#include "grid.wgsl"
override WG: u32 = 64u;

struct Params { blocks: u32, RB: u32, CB: u32, _p0: u32 }

@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<u32>>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let i = grid_index(gid);
  if (i >= p.blocks) { return; }
  let cb = i % p.CB;
  let q = i / p.CB;
  let rb = q % p.RB;
  let b = q / p.RB;
  // src rows 4rb..4rb+3 hold CB vec4s each; out rows 4cb..4cb+3 hold RB
  let s = (b * p.RB * 4u + rb * 4u) * p.CB + cb;
  let v0 = src[s];
  let v1 = src[s + p.CB];
  let v2 = src[s + 2u * p.CB];
  let v3 = src[s + 3u * p.CB];
  let o = (b * p.CB * 4u + cb * 4u) * p.RB + rb;
  out[o] = vec4<u32>(v0.x, v1.x, v2.x, v3.x);
  out[o + p.RB] = vec4<u32>(v0.y, v1.y, v2.y, v3.y);
  out[o + 2u * p.RB] = vec4<u32>(v0.z, v1.z, v2.z, v3.z);
  out[o + 3u * p.RB] = vec4<u32>(v0.w, v1.w, v2.w, v3.w);
}

// cast.wgsl: out[i] = convert(src[i]) between f32, i32 and u32, selected by FROM and TO
// (0 f32, 1 i32, 2 u32; codes must match engine/ops/movement.ts). Values travel as u32 bit
// patterns. f32 -> i32/u32 rounds toward zero and saturates (WGSL conversion rules, NaN
// unspecified); i32 <-> u32 keeps the bits (two's complement wrap); integers -> f32 round to nearest.
// Layout: contiguous, one element per invocation, 1-D grid split over x/y.
// Bindings: 0 src (read), 1 out (read_write), 2 params {n}.
#include "grid.wgsl"
override FROM: u32 = 0u;
override TO: u32 = 1u;
override WG: u32 = 256u;

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

fn convert(bits: u32) -> u32 {
  switch (FROM * 3u + TO) {
    case 1u: { return bitcast<u32>(i32(bitcast<f32>(bits))); }  // f32 -> i32
    case 2u: { return u32(bitcast<f32>(bits)); }                 // f32 -> u32
    case 3u: { return bitcast<u32>(f32(bitcast<i32>(bits))); }  // i32 -> f32
    case 6u: { return bitcast<u32>(f32(bits)); }                 // u32 -> f32
    default: { return bits; }                                    // same type, i32 <-> u32
  }
}

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let i = grid_index(gid);
  if (i >= p.n) { return; }
  out[i] = convert(src[i]);
}

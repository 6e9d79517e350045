// fill.wgsl: out[i] = value (bit pattern, so it fills f32, i32 and u32 alike).
// Layout: contiguous, one element per invocation, 1-D grid split over x/y.
// Bindings: 0 out (read_write), 1 params {n, bits}.
override WG: u32 = 256u;

struct Params { n: u32, bits: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid.x;
  if (i >= p.n) { return; }
  out[i] = p.bits;
}

// unary.wgsl: out[i] = f(x[i]) for the elementwise unary ops, selected by the OP constant.
// Layout: contiguous f32 of n elements read and written as vec4s (lib/vec4_tail.wgsl: on lavapipe
// a 16-byte load costs about what a 4-byte one does); E vec4s per invocation, grid-stride (vec4
// q = t + k * T, T invocations), 1-D grid split over x/y (lib/grid.wgsl).
// Bindings: 0 x (read), 1 out (read_write), 2 params {n, alpha, beta, T}.
// OP codes must match engine/ops/elementwise.ts.
#include "grid.wgsl"
#include "vec4_tail.wgsl"
override OP: u32 = 0u;
override WG: u32 = 256u;
override E: u32 = 4u;

struct Params { n: u32, alpha: f32, beta: f32, T: u32 }

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

fn pow_scalar(v: f32, a: f32) -> f32 {
  // Runtime values: WGSL rejects inf and NaN in constant expressions.
  var inf_bits = 0x7f800000u;
  var nan_bits = 0x7fc00000u;
  if (a == 0.0) { return 1.0; }
  if (v == 0.0) { return select(0.0, bitcast<f32>(inf_bits), a < 0.0); }
  let r = exp2(a * log2(abs(v)));
  if (v > 0.0) { return r; }
  if (fract(a) != 0.0) { return bitcast<f32>(nan_bits); }
  // negative base, integer exponent: odd exponents keep the sign
  return select(r, -r, fract(a * 0.5) != 0.0);
}

fn apply(v: f32) -> f32 {
  switch (OP) {
    case 0u: { return -v; }
    case 1u: { return exp(v); }
    case 2u: { return log(v); }
    case 3u: { return sqrt(v); }
    case 4u: { return inverseSqrt(v); }
    case 5u: { return abs(v); }
    case 6u: { return max(v, 0.0); }
    case 7u: { return 1.0 / (1.0 + exp(-v)); }
    case 8u: { return tanh(v); }
    case 9u: { return v * v; }
    case 10u: { return pow_scalar(v, p.alpha); }
    case 11u: { return v * p.alpha + p.beta; }
    case 12u: { return sign(v); }
    case 13u: { return select(0.0, 1.0, v > p.alpha); }
    case 14u: { return clamp(v, p.alpha, p.beta); }
    default: { return v; }
  }
}

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let t = grid_index(gid);
  for (var k = 0u; k < E; k++) {
    let q = vec4_step(t, k, p.T, p.n);
    if (q == NO_VEC4) { break; }
    let v = x[q];
    out[q] = vec4<f32>(apply(v.x), apply(v.y), apply(v.z), apply(v.w));
  }
}

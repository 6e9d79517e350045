// binary.wgsl: out[i] = f(a[ia], b[ib]) with NumPy broadcasting, f selected by the OP constant.
// Entry `main` (broadcasting): out contiguous; ia/ib come from out's multi-index and per-operand
//   strides (0 on broadcast axes), rank <= 8 after the host merges contiguous axes; one element per
//   invocation, 1-D grid split over x/y. Bindings: 0 a (read), 1 b (read), 2 out (read_write), 3 params.
// Entry `bcast4` (broadcasting whose innermost merged axis is a multiple of 4 long): one vec4 of out
//   per invocation (p.T of them), its multi-index computed once for its 4 elements; an operand with
//   stride 1 on that axis is read as one vec4 (its offset is then a multiple of 4), one with stride 0
//   (a per-channel scale, a bias) as one float splatted. Same bindings viewed as vec4 arrays.
// Entry `same4` (a, b and out of one shape): everything read and written as vec4s
//   (lib/vec4_tail.wgsl), E per invocation, grid-stride over T = p.T invocations; the same bindings
//   viewed as vec4 arrays.
// OP codes must match engine/ops/elementwise.ts.
#include "grid.wgsl"
#include "vec4_tail.wgsl"
override OP: u32 = 0u;
override WG: u32 = 256u;
override E: u32 = 4u;

struct Params {
  n: u32, rank: u32, T: u32, _p1: u32,
  shape: array<vec4<u32>, 2>,
  sa: array<vec4<u32>, 2>,
  sb: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn apply(x: f32, y: f32) -> f32 {
  switch (OP) {
    case 0u: { return x + y; }
    case 1u: { return x - y; }
    case 2u: { return x * y; }
    case 3u: { return x / y; }
    case 4u: { return max(x, y); }
    case 5u: { return min(x, y); }
    case 6u: { return select(0.0, 1.0, x > y); }
    case 7u: { return select(0.0, 1.0, x >= y); }
    case 8u: { return select(0.0, 1.0, x < y); }
    case 9u: { return select(0.0, 1.0, x <= y); }
    case 10u: { return select(0.0, 1.0, x == y); }
    case 11u: { return select(0.0, 1.0, x != y); }
    case 12u: { return x * select(0.0, 1.0, y > 0.0); }
    case 13u: { return max(x + y, 0.0); }
    default: { return x; }
  }
}

fn apply4(x: vec4<f32>, y: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(apply(x.x, y.x), apply(x.y, y.y), apply(x.z, y.z), apply(x.w, y.w));
}

// (a's offset, b's offset) of out's element i: its multi-index against the per-operand strides.
fn offsets(i: u32) -> vec2<u32> {
  var rem = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let dim = p.shape[d / 4][d % 4];
    let idx = rem % dim;
    rem = rem / dim;
    ia += idx * p.sa[d / 4][d % 4];
    ib += idx * p.sb[d / 4][d % 4];
  }
  return vec2<u32>(ia, ib);
}

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let i = grid_index(gid);
  if (i >= p.n) { return; }
  let o = offsets(i);
  out[i] = apply(a[o.x], b[o.y]);
}

@group(0) @binding(0) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn same4(gid: Grid1D) {
  let t = grid_index(gid);
  for (var k = 0u; k < E; k++) {
    let q = vec4_step(t, k, p.T, p.n);
    if (q == NO_VEC4) { break; }
    let x = a4[q];
    let y = b4[q];
    out4[q] = apply4(x, y);
  }
}

@compute @workgroup_size(WG)
fn bcast4(gid: Grid1D) {
  let q = grid_index(gid);
  if (q >= p.T) { return; }
  let o = offsets(4u * q);
  let last = p.rank - 1u;
  let xa = a4[o.x / 4u];
  let x = select(vec4<f32>(xa[o.x % 4u]), xa, p.sa[last / 4u][last % 4u] == 1u);
  let yb = b4[o.y / 4u];
  let y = select(vec4<f32>(yb[o.y % 4u]), yb, p.sb[last / 4u][last % 4u] == 1u);
  out4[q] = apply4(x, y);
}

// reduce.wgsl: sum (Kahan-compensated) or max over the middle axis of x viewed as [outer, R, inner].
// Layout: out is [outer, C, inner] contiguous; out[o, c, i] reduces r in [c*chunk, min(R, (c+1)*chunk))
// of x[o, r, i]. C = 1 is a plain reduction; C > 1 writes partials that the host reduces again with
// this same kernel (two-pass split, so a full reduction of a long vector is not one thread).
// One output per invocation, no workgroup memory or barriers; the r loop strides by inner, so
// neighbouring invocations (neighbouring i) read neighbouring addresses. 1-D grid split over x/y.
// Bindings: 0 x (read), 1 out (read_write), 2 params. OP: 0 sum, 1 max (engine/ops/reduce.ts).
#include "grid.wgsl"
#include "kahan.wgsl"
override OP: u32 = 0u;
override WG: u32 = 256u;

struct Params { n: u32, r: u32, inner: u32, c: u32, chunk: u32, zero: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let i = t % p.inner;
  let oc = t / p.inner;
  let c = oc % p.c;
  let o = oc / p.c;
  let r0 = c * p.chunk;
  let r1 = min(p.r, r0 + p.chunk);
  var idx = (o * p.r + r0) * p.inner + i;
  if (OP == 1u) {
    var m = x[idx];
    for (var r = r0 + 1u; r < r1; r++) {
      idx += p.inner;
      m = max(m, x[idx]);
    }
    out[t] = m;
    return;
  }
  // Kahan summation (lib/kahan.wgsl: the xor with p.zero keeps Mesa from folding it away).
  var s = vec2<f32>(0.0);
  for (var r = r0; r < r1; r++) {
    s = kahan_add(s, x[idx], p.zero);
    idx += p.inner;
  }
  out[t] = s.x;
}

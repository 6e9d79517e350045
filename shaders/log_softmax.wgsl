// log_softmax.wgsl: out = x - logsumexp(x) along the middle axis of x viewed as [outer, R, inner].
// Layout: x and out contiguous, same shape. One invocation per row (o, i): a single online pass
// keeps the running max m and sum s of exp(x - m) (rescaled when m grows), then a second loop
// writes (x - m) - log s. The loops stride by inner (coalesced over i). No workgroup memory.
// -inf entries contribute 0; a row of only -inf gives NaN (as PyTorch). 1-D grid split over x/y.
// Bindings: 0 x (read), 1 out (read_write), 2 params {n = outer*inner, r, inner}.
#include "grid.wgsl"
override WG: u32 = 256u;

struct Params { n: u32, r: u32, inner: u32, _p0: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let t = grid_index(gid);
  if (t >= p.n) { return; }
  let i = t % p.inner;
  let o = t / p.inner;
  let base = o * p.r * p.inner + i;
  var m = x[base];
  var s = 1.0;
  var idx = base;
  for (var r = 1u; r < p.r; r++) {
    idx += p.inner;
    let v = x[idx];
    if (v > m) {
      s = s * exp(m - v) + 1.0;
      m = v;
    } else {
      // v == m also covers two -inf entries, whose exp(v - m) would be NaN
      s += select(exp(v - m), 1.0, v == m);
    }
  }
  // (x - m) - log(s), not x - (m + log(s)): x - m is exact near the max, so large logits keep
  // their small log-probabilities accurate.
  let log_s = log(s);
  idx = base;
  for (var r = 0u; r < p.r; r++) {
    out[idx] = (x[idx] - m) - log_s;
    idx += p.inner;
  }
}

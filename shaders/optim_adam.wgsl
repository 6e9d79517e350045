// optim_adam.wgsl: one fused Adam / AdamW update of one parameter tensor (engine/ops/optim.ts),
// PyTorch's rule: with decoupled decay w0 = w * (1 - lr * wd), else g += wd * w; m' = b1 m + (1-b1) g,
// v' = b2 v + (1-b2) g^2 (the first step: m and v taken as 0); bias corrections bc = 1 - b^t with
// b^t = exp(t ln b) (1 when b = 0) from the step count t on the device (already incremented);
// w' = w0 - (lr / bc1) * m' / (sqrt(v') / sqrt(bc2) + eps).
// Layout: contiguous f32 of n elements as vec4s (lib/vec4_tail.wgsl), E per invocation, grid-stride
// (as optim_sgd.wgsl). Bindings: 0 w, 1 g, 2 t ([1]), 3 m, 4 v (read; m and v alias w on the first
// step), 5 w_out, 6 m_out, 7 v_out (read_write), 8 params. 1-D grid split over x/y.
#include "grid.wgsl"
#include "vec4_tail.wgsl"
override WG: u32 = 256u;
override E: u32 = 4u;
override HAS_MOMENTS: bool = true;
override DECOUPLED: bool = false;

struct Params { n: u32, T: u32, lr: f32, b1: f32, b2: f32, eps: f32, wd: f32, _p0: u32 }

@group(0) @binding(0) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> tstep: array<f32>;
@group(0) @binding(3) var<storage, read> m: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> w_out: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> m_out: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> v_out: array<vec4<f32>>;
@group(0) @binding(8) var<uniform> p: Params;

fn one_minus_pow(b: f32, t: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  return 1.0 - exp(t * log(b));
}

@compute @workgroup_size(WG)
fn main(gid: Grid1D) {
  let t = grid_index(gid);
  let step = tstep[0];
  let step_size = p.lr / one_minus_pow(p.b1, step);
  let sqrt_bc2 = sqrt(one_minus_pow(p.b2, step));
  for (var k = 0u; k < E; k++) {
    let q = vec4_step(t, k, p.T, p.n);
    if (q == NO_VEC4) { break; }
    var wq = w[q];
    var gq = g[q];
    if (DECOUPLED) { wq *= 1.0 - p.lr * p.wd; } else { gq += p.wd * wq; }
    var mq = (1.0 - p.b1) * gq;
    var vq = (1.0 - p.b2) * gq * gq;
    if (HAS_MOMENTS) { mq += p.b1 * m[q]; vq += p.b2 * v[q]; }
    m_out[q] = mq;
    v_out[q] = vq;
    w_out[q] = wq - step_size * (mq / (sqrt(vq) / sqrt_bc2 + p.eps));
  }
}

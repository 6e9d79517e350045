// optim_lars.wgsl: LARS's trust ratio for one parameter tensor on the device (engine/ops/optim.ts),
// two small dispatches before optim_sgd.wgsl's `momentum` update; nothing is read back.
// Entry `partials`: invocation q < P sums, over the vec4s i = q, q + P, q + 2P, ... of the tensor
//   (lib/vec4_tail.wgsl; lanes past n masked out), w^2 and (g + wd * w)^2 (the decayed gradient
//   whose norm LARS takes) into part[2q] and part[2q + 1]. Bindings: 0 w, 1 g (read), 2 part
//   (read_write, [2P]), 3 params.
// Entry `trust` (one invocation): the norms from the P partials (Kahan-compensated, lib/kahan.wgsl),
//   then scale[0] = lr * (eta * ||w|| / ||g'|| when both norms are > 0, else 1), the factor the
//   momentum update multiplies the gradient by. Bindings: 0 part (read), 1 scale (read_write, [1]),
//   2 params.
#include "grid.wgsl"
#include "kahan.wgsl"
#include "vec4_tail.wgsl"
override WG: u32 = 64u;

struct Params { n: u32, P: u32, wd: f32, eta: f32, lr: f32, zero: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn partials(gid: Grid1D) {
  let q = grid_index(gid);
  if (q >= p.P) { return; }
  let nq = vec4_count(p.n);
  var sw = vec4<f32>(0.0);
  var sg = vec4<f32>(0.0);
  for (var i = q; i < nq; i += p.P) {
    let ok = lanes_valid(i, p.n);
    let wi = select(vec4<f32>(0.0), w[i], ok);
    let gi = select(vec4<f32>(0.0), g[i] + p.wd * wi, ok);
    sw += wi * wi;
    sg += gi * gi;
  }
  part[2u * q] = sw.x + sw.y + sw.z + sw.w;
  part[2u * q + 1u] = sg.x + sg.y + sg.z + sg.w;
}

@group(0) @binding(0) var<storage, read> tpart: array<f32>;
@group(0) @binding(1) var<storage, read_write> scale: array<f32>;
@group(0) @binding(2) var<uniform> tp: Params;

@compute @workgroup_size(1)
fn trust() {
  var sw = vec2<f32>(0.0);
  var sg = vec2<f32>(0.0);
  for (var q = 0u; q < tp.P; q++) {
    sw = kahan_add(sw, tpart[2u * q], tp.zero);
    sg = kahan_add(sg, tpart[2u * q + 1u], tp.zero);
  }
  let wn = sqrt(sw.x);
  let gn = sqrt(sg.x);
  scale[0] = tp.lr * select(1.0, tp.eta * wn / gn, wn > 0.0 && gn > 0.0);
}

// optim_lars.wgsl: LARS's trust ratio for one parameter tensor on the device (engine/ops/optim.ts),
// two small dispatches before optim_sgd.wgsl's `momentum` update; nothing is read back.
// Entry `partials`: invocation q < P (P a multiple of 8) sums w^2 and (g + wd * w)^2 (the decayed
//   gradient whose norm LARS takes) over its share of the tensor's vec4s (lib/vec4_tail.wgsl;
//   components past n masked out) into part[2q] and part[2q + 1]. The 8 invocations q = 8b..8b+7
//   share block b, a contiguous run of B vec4s (B a multiple of 32), and walk it together, 4
//   vec4s 8 apart per step: on lavapipe an 8-wide SIMD row then streams through one region with 4
//   loads in flight, 2x faster than a P-strided walk (each row touching a far page per step).
//   Bindings: 0 w, 1 g (read), 2 part (read_write, [2P]), 3 params.
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

// w[i]^2 and the decayed gradient's square at vec4 i, zero where i or its components are past the
// tensor (or past the block's end e).
fn squares(i: u32, e: u32, nq: u32) -> array<vec4<f32>, 2> {
  let ok = lanes_valid(i, p.n) & vec4<bool>(i < e && i < nq);
  let wi = select(vec4<f32>(0.0), w[min(i, nq - 1u)], ok);
  let gi = select(vec4<f32>(0.0), g[min(i, nq - 1u)] + p.wd * wi, ok);
  return array<vec4<f32>, 2>(wi * wi, gi * gi);
}

@compute @workgroup_size(WG)
fn partials(gid: Grid1D) {
  let q = grid_index(gid);
  if (q >= p.P) { return; }
  let nq = vec4_count(p.n);
  let B = ((nq + p.P / 8u - 1u) / (p.P / 8u) + 31u) & ~31u;
  let e = (q / 8u + 1u) * B;
  var s0 = array<vec4<f32>, 2>(vec4<f32>(0.0), vec4<f32>(0.0));
  var s1 = s0;
  for (var i = (q / 8u) * B + q % 8u; i < min(e, nq); i += 32u) {
    let a = squares(i, e, nq);
    let b = squares(i + 8u, e, nq);
    let c = squares(i + 16u, e, nq);
    let d = squares(i + 24u, e, nq);
    s0[0] += a[0] + b[0];
    s1[0] += c[0] + d[0];
    s0[1] += a[1] + b[1];
    s1[1] += c[1] + d[1];
  }
  let sw = s0[0] + s1[0];
  let sg = s0[1] + s1[1];
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

// winograd_output.wgsl: the output transform of a Winograd F(4x4, 3x3) convolution
// (winograd_transform.wgsl has the input transforms): out[n, o, 4*ty + i, 4*tx + j] =
// (A^T M A)[i, j] (+ bias[o]) for the 6x6 product sums M[xi, o, t] of tile t = (n - n0) * TT +
// ty * TW + tx, rows and columns past Ho and Wo dropped.
// Bindings: 0 m [36, O, PP] (read), 1 bias [O] (read), 2 out [N, O, Ho, Wo] (read_write), 3 params.
// One invocation per (tile, output channel): grid x over the tiles, y over the output channels.
override WG: u32 = 64u;
override HAS_BIAS: bool = false;

struct Params {
  n0: u32, O: u32, Ho: u32, Wo: u32,
  TW: u32, TT: u32, P: u32, PP: u32,
}

@group(0) @binding(0) var<storage, read> m: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

#include "winograd_f43.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let t = id.x;
  let o = id.y;
  if (t >= p.P) { return; }
  let OP = p.O * p.PP;
  var cols: array<array<f32, 4>, 6>; // cols[j] = column j of A^T M
  for (var j = 0u; j < 6u; j++) {
    var v: array<f32, 6>;
    for (var i = 0u; i < 6u; i++) { v[i] = m[(i * 6u + j) * OP + o * p.PP + t]; }
    cols[j] = at6(v);
  }
  var b = 0.0;
  if (HAS_BIAS) { b = bias[o]; }
  let n = p.n0 + t / p.TT;
  let r = t % p.TT;
  let y0 = (r / p.TW) * 4u;
  let x0 = (r % p.TW) * 4u;
  let base = (n * p.O + o) * p.Ho * p.Wo;
  for (var i = 0u; i < 4u; i++) {
    let oy = y0 + i;
    if (oy >= p.Ho) { break; }
    let row = at6(array<f32, 6>(cols[0][i], cols[1][i], cols[2][i], cols[3][i], cols[4][i], cols[5][i]));
    for (var j = 0u; j < 4u; j++) {
      if (x0 + j < p.Wo) { out[base + oy * p.Wo + x0 + j] = row[j] + b; }
    }
  }
}

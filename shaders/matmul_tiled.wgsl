// matmul_tiled.wgsl: C[b] = op(A[b]) x op(B[b]) with workgroup-memory tiling (the kernel for real
// GPUs, where many invocations sharing a tile through workgroup memory saves global bandwidth).
// Layout: as matmul.wgsl. op(A) is M x K: A is [M,K], or [K,M] when TRANS_A. op(B) is K x N: B is
// [K,N], or [N,K] when TRANS_B. C is [M,N] contiguous; batch b = wid.z + p.batch0, operand batch
// offsets p.aBase + b * p.strideA / b * p.strideB (0 broadcasts a 2-D operand), C's p.cBase + b * M * N.
// Tiling: a workgroup computes a 64 x 64 tile of C with 256 invocations (16 x 16), each a 4 x 4
// block in registers. Per step of 16 along k, every invocation copies one 4-vector of op(A)
// (4 rows, one k) and one of op(B) (one k, 4 columns) into workgroup memory (2 x 4.25 KiB), read so
// that neighbouring invocations touch neighbouring addresses in whichever layout the operand has;
// out-of-range elements load as 0.
// Grid: x = ceil(N / 64), y = ceil(M / 64), z the batch (split over several dispatches past 65535).
// Bindings: 0 a (read), 1 b (read), 2 c (read_write), 3 params.
override TRANS_A: bool = false;
override TRANS_B: bool = false;

#include "matmul_params.wgsl"
#include "tile64.wgsl"

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn opA(off: u32, m: u32, k: u32) -> f32 {
  if (m >= p.M || k >= p.K) { return 0.0; }
  if (TRANS_A) { return a[off + k * p.M + m]; }
  return a[off + m * p.K + k];
}

fn opB(off: u32, k: u32, n: u32) -> f32 {
  if (k >= p.K || n >= p.N) { return 0.0; }
  if (TRANS_B) { return b[off + n * p.K + k]; }
  return b[off + k * p.N + n];
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let batch = wid.z + p.batch0;
  let aOff = p.aBase + batch * p.strideA;
  let bOff = batch * p.strideB;
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;
  let tx = lid % 16u;
  let ty = lid / 16u;
  // Which 4-vector this invocation copies: the contiguous axis varies fastest across lid.
  var ak: u32; var ai: u32;
  if (TRANS_A) { ai = lid % 16u; ak = lid / 16u; } else { ak = lid % 16u; ai = lid / 16u; }
  var bk: u32; var bj: u32;
  if (TRANS_B) { bk = lid % 16u; bj = lid / 16u; } else { bj = lid % 16u; bk = lid / 16u; }

  var acc: array<vec4<f32>, 4>;
  for (var t = 0u; t < p.K; t += TK) {
    let am = row0 + 4u * ai;
    let ka = t + ak;
    As[ak * PAD + ai] = vec4<f32>(opA(aOff, am, ka), opA(aOff, am + 1u, ka), opA(aOff, am + 2u, ka), opA(aOff, am + 3u, ka));
    let bn = col0 + 4u * bj;
    let kb = t + bk;
    Bs[bk * PAD + bj] = vec4<f32>(opB(bOff, kb, bn), opB(bOff, kb, bn + 1u), opB(bOff, kb, bn + 2u), opB(bOff, kb, bn + 3u));
    workgroupBarrier();
    tile_fma(&acc, tx, ty);
    workgroupBarrier();
  }

  let cOff = p.cBase + batch * p.M * p.N;
  for (var i = 0u; i < 4u; i++) {
    let m = row0 + 4u * ty + i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = col0 + 4u * tx + j;
      if (n < p.N) { c[cOff + m * p.N + n] = acc[i][j]; }
    }
  }
}

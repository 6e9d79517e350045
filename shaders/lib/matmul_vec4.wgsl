// matmul_vec4.wgsl (include): what the register-tiled matmul kernels matmul.wgsl and
// matmul_subgroup.wgsl share. Provides struct Params (matmul_params.wgsl); the bindings 0 a, 1 b
// (read, viewed as vec4 so aligned rows load 16 bytes at once), 2 c (read_write), 3 p; the scalar
// loads lda/ldb (pick a component); and the B loaders fn load_b4(bOff, k, cols, nq) ->
// array<vec4<f32>, 8>, bv[kk * 2 + q] = op(B)[k + kk, columns 4q..4q+3] of this invocation (4
// values of k), and fn load_b1(bOff, k, cols) -> array<vec4<f32>, 2>, the same for one k. cols are
// the invocation's TN clamped columns, nq[q] = min(n0 + 4q, N - 4) the starts of its vector loads.
// Needs the shader's override constants TN, TRANS_B and VEC_B (see matmul.wgsl).
#include "matmul_params.wgsl"

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn lda(i: u32) -> f32 { return a[i >> 2u][i & 3u]; }
fn ldb(i: u32) -> f32 { return b[i >> 2u][i & 3u]; }

fn load_b4(bOff: u32, k: u32, cols: array<u32, 8>, nq: array<u32, 2>) -> array<vec4<f32>, 8> {
  let K = p.K;
  let N = p.N;
  let NQ = TN / 4u;
  var bv: array<vec4<f32>, 8>;
  if (!TRANS_B) {
    for (var kk = 0u; kk < 4u; kk++) {
      let base = bOff + (k + kk) * N;
      for (var q = 0u; q < NQ; q++) {
        if (VEC_B) { bv[kk * 2u + q] = b[(base + nq[q]) >> 2u]; }
        else {
          bv[kk * 2u + q] = vec4<f32>(ldb(base + cols[4u * q]), ldb(base + cols[4u * q + 1u]),
                                      ldb(base + cols[4u * q + 2u]), ldb(base + cols[4u * q + 3u]));
        }
      }
    }
  } else {
    for (var q = 0u; q < NQ; q++) {
      var cv: array<vec4<f32>, 4>; // cv[j] = op(B)[k..k+3, column 4q+j]
      for (var j = 0u; j < 4u; j++) {
        let base = bOff + cols[4u * q + j] * K + k;
        if (VEC_B) { cv[j] = b[base >> 2u]; }
        else { cv[j] = vec4<f32>(ldb(base), ldb(base + 1u), ldb(base + 2u), ldb(base + 3u)); }
      }
      bv[q] = vec4<f32>(cv[0].x, cv[1].x, cv[2].x, cv[3].x);
      bv[2u + q] = vec4<f32>(cv[0].y, cv[1].y, cv[2].y, cv[3].y);
      bv[4u + q] = vec4<f32>(cv[0].z, cv[1].z, cv[2].z, cv[3].z);
      bv[6u + q] = vec4<f32>(cv[0].w, cv[1].w, cv[2].w, cv[3].w);
    }
  }
  return bv;
}

fn load_b1(bOff: u32, k: u32, cols: array<u32, 8>) -> array<vec4<f32>, 2> {
  var bk: array<vec4<f32>, 2>;
  for (var q = 0u; q < TN / 4u; q++) {
    var v: vec4<f32>;
    for (var j = 0u; j < 4u; j++) {
      let n = cols[4u * q + j];
      if (TRANS_B) { v[j] = ldb(bOff + n * p.K + k); } else { v[j] = ldb(bOff + k * p.N + n); }
    }
    bk[q] = v;
  }
  return bk;
}

// matmul.wgsl: C[b] = op(A[b]) x op(B[b]), barrier-free register tiling: the kernel for CPU
// adapters such as lavapipe (one workgroup runs on one thread, invocations 8 to a SIMD vector, so
// barriers and workgroup memory are expensive) that lack 8-wide subgroups (matmul_subgroup.wgsl).
// Bindings: 0 a (read), 1 b (read), 2 c (read_write), 3 params.
// Layout: row-major. op(A) is M x K: A is [M,K], or [K,M] when TRANS_A. op(B) is K x N: B is
// [K,N], or [N,K] when TRANS_B. C is [M,N] contiguous. Batch b = wid.z + p.batch0; operand batch
// offsets are p.aBase + b * p.strideA / b * p.strideB (0 broadcasts a 2-D operand), C's is p.cBase + b * M * N.
// Tiling: each invocation accumulates a TM x TN block of C in registers (TN a multiple of 4),
// reading its operands straight from storage, 4 values of k at a time. Invocations are laid out
// (WG / WGN) x WGN over the workgroup's tile (WGN = WG: every invocation on the same rows, so A's
// addresses are the same in all lanes). Each lane's load costs about a gather on lavapipe, so the
// tile per invocation trades loads (TM + TN per k) against FMAs (TM * TN per k) and registers.
// Out-of-range rows/columns read a clamped index (no branches in the k loop) and are not stored.
// VEC_A / VEC_B: 16-byte vector loads along the operand's contiguous axis (the host sets them when
// that axis' length, and so every row and batch offset, is a multiple of 4); scalar otherwise.
// Grid: x covers N, y covers M, z the batch (split over several dispatches past 65535).
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override VEC_A: bool = false;
override VEC_B: bool = false;
override TM: u32 = 8u;   // rows per invocation, <= 8
override TN: u32 = 4u;   // columns per invocation, 4 or 8
override WG: u32 = 64u;  // invocations per workgroup
override WGN: u32 = 64u; // invocations along N (WG / WGN along M)

#include "matmul_vec4.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let M = p.M;
  let K = p.K;
  let N = p.N;
  let batch = wid.z + p.batch0;
  let aOff = p.aBase + batch * p.strideA;
  let bOff = batch * p.strideB;
  let m0 = (wid.y * (WG / WGN) + lid / WGN) * TM;
  let n0 = (wid.x * WGN + lid % WGN) * TN;
  let NQ = TN / 4u;

  // Clamped row/column indices: reads stay in range, stores are guarded.
  var rows: array<u32, 8>;
  for (var i = 0u; i < TM; i++) { rows[i] = min(m0 + i, M - 1u); }
  var cols: array<u32, 8>;
  for (var j = 0u; j < TN; j++) { cols[j] = min(n0 + j, N - 1u); }
  // Vector loads along N (B not transposed) need the 4-block to start in range and aligned.
  var nq: array<u32, 2>;
  for (var q = 0u; q < NQ; q++) { nq[q] = min(n0 + 4u * q, N - 4u); }

  var acc: array<vec4<f32>, 16>;
  for (var i = 0u; i < 16u; i++) { acc[i] = vec4<f32>(0.0); }

  let K4 = K & ~3u;
  for (var k = 0u; k < K4; k += 4u) {
    // av[i] = op(A)[row i, k..k+3]
    var av: array<vec4<f32>, 8>;
    if (!TRANS_A) {
      for (var i = 0u; i < TM; i++) {
        let base = aOff + rows[i] * K + k;
        if (VEC_A) { av[i] = a[base >> 2u]; }
        else { av[i] = vec4<f32>(lda(base), lda(base + 1u), lda(base + 2u), lda(base + 3u)); }
      }
    } else {
      if (VEC_A && TM % 4u == 0u) {
        for (var i4 = 0u; i4 < TM; i4 += 4u) {
          let mm = min(m0 + i4, M - 4u);
          let r0 = a[(aOff + k * M + mm) >> 2u];
          let r1 = a[(aOff + (k + 1u) * M + mm) >> 2u];
          let r2 = a[(aOff + (k + 2u) * M + mm) >> 2u];
          let r3 = a[(aOff + (k + 3u) * M + mm) >> 2u];
          av[i4] = vec4<f32>(r0.x, r1.x, r2.x, r3.x);
          av[i4 + 1u] = vec4<f32>(r0.y, r1.y, r2.y, r3.y);
          av[i4 + 2u] = vec4<f32>(r0.z, r1.z, r2.z, r3.z);
          av[i4 + 3u] = vec4<f32>(r0.w, r1.w, r2.w, r3.w);
        }
      } else {
        for (var i = 0u; i < TM; i++) {
          let base = aOff + k * M + rows[i];
          av[i] = vec4<f32>(lda(base), lda(base + M), lda(base + 2u * M), lda(base + 3u * M));
        }
      }
    }
    // bv[kk * 2 + q] = op(B)[k + kk, columns 4q..4q+3]
    var bv = load_b4(bOff, k, cols, nq);
    for (var i = 0u; i < TM; i++) {
      for (var q = 0u; q < NQ; q++) {
        acc[i * 2u + q] = fma(vec4<f32>(av[i].x), bv[q], acc[i * 2u + q]);
        acc[i * 2u + q] = fma(vec4<f32>(av[i].y), bv[2u + q], acc[i * 2u + q]);
        acc[i * 2u + q] = fma(vec4<f32>(av[i].z), bv[4u + q], acc[i * 2u + q]);
        acc[i * 2u + q] = fma(vec4<f32>(av[i].w), bv[6u + q], acc[i * 2u + q]);
      }
    }
  }
  // Remaining K % 4 values of k, one at a time.
  for (var k = K4; k < K; k++) {
    var bk = load_b1(bOff, k, cols);
    for (var i = 0u; i < TM; i++) {
      var x: f32;
      if (TRANS_A) { x = lda(aOff + k * M + rows[i]); } else { x = lda(aOff + rows[i] * K + k); }
      for (var q = 0u; q < NQ; q++) { acc[i * 2u + q] = fma(vec4<f32>(x), bk[q], acc[i * 2u + q]); }
    }
  }

  let cOff = p.cBase + batch * M * N;
  for (var i = 0u; i < TM; i++) {
    let m = m0 + i;
    if (m >= M) { break; }
    for (var q = 0u; q < NQ; q++) {
      for (var j = 0u; j < 4u; j++) {
        let n = n0 + 4u * q + j;
        if (n < N) { c[cOff + m * N + n] = acc[i * 2u + q][j]; }
      }
    }
  }
}

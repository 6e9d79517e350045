// matmul_subgroup.wgsl: C[b] = op(A[b]) x op(B[b]) for CPU adapters with 8-wide subgroups
// (lavapipe), barrier-free: the 8 lanes of a subgroup share A through subgroupBroadcast instead of
// each loading every row. On lavapipe a storage load whose address is not a constant runs a loop
// over the 8 lanes (bounds check, scalar load, insert), so each load instruction (best a vec4)
// costs far more than an FMA, and a constant-index broadcast is one shuffle.
// Bindings: 0 a (read), 1 b (read), 2 c (read_write), 3 params.
// Layout: as matmul.wgsl. op(A) is M x K: A is [M,K], or [K,M] when TRANS_A. op(B) is K x N: B is
// [K,N], or [N,K] when TRANS_B. C is [M,N]; batch b = wid.z + p.batch0, operand batch offsets
// p.aBase + b * p.strideA / b * p.strideB (0 broadcasts a 2-D operand), C's p.cBase + b * M * N.
// Tiling: a subgroup computes TM x (8 * TN) of C; lane l owns columns l*TN..l*TN+TN-1 of it and
// all TM rows. Per 4 values of k, lane l loads 4 k-values of row l of each 8-row block (one 16-byte
// load when VEC_A; for A^T a 4 x 8 block is split over the lanes and regathered) and its own
// columns of B; broadcasts hand every lane all rows. WG / 8 subgroups per workgroup, SGN of them
// along N. Requires subgroup size 8 (the host checks) and subgroups made of consecutive
// local_invocation_index values (lavapipe's layout). Clamped reads, guarded stores.
// VEC_A / VEC_B: vector loads along the operand's contiguous axis (set by the host when its length
// is a multiple of 4); scalar loads otherwise. Grid: x covers N, y covers M, z the batch.
enable subgroups;

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override VEC_A: bool = false;
override VEC_B: bool = false;
override TM: u32 = 16u;  // rows per subgroup: 8, 16, 24 or 32
override TN: u32 = 4u;   // columns per lane: 4 or 8
override WG: u32 = 64u;  // invocations per workgroup (a multiple of 8)
override SGN: u32 = 1u;  // subgroups along N

#include "matmul_vec4.wgsl"
#include "bcast8.wgsl"
#include "tile_fma.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) sl: u32) {
  let M = p.M;
  let K = p.K;
  let N = p.N;
  let batch = wid.z + p.batch0;
  let aOff = p.aBase + batch * p.strideA;
  let bOff = batch * p.strideB;
  let sg = lid / 8u;
  let SGM = WG / 8u / SGN;
  let m0 = (wid.y * SGM + sg / SGN) * TM;
  let n0 = ((wid.x * SGN + sg % SGN) * 8u + sl) * TN;
  let NQ = TN / 4u;
  let RB = TM / 8u;

  var cols: array<u32, 8>;
  for (var j = 0u; j < TN; j++) { cols[j] = min(n0 + j, N - 1u); }
  var nq: array<u32, 2>;
  for (var q = 0u; q < NQ; q++) { nq[q] = min(n0 + 4u * q, N - 4u); }
  // This lane's row in each 8-row block (clamped), and for A^T vector loads its piece of the 4 x 8
  // block: k offset sl & 3, rows 4 * (sl >> 2)..+3.
  var myRow: array<u32, 4>;
  var tRow: array<u32, 4>;
  for (var r = 0u; r < RB; r++) {
    myRow[r] = min(m0 + 8u * r + sl, M - 1u);
    tRow[r] = min(m0 + 8u * r + 4u * (sl >> 2u), M - 4u);
  }

  // zeros by WGSL's rule for a var, not by a loop; the one write at an index the compiler cannot
  // fold (always 0) keeps the array addressable (ARCHITECTURE.md: accumulator arrays on lavapipe)
  var acc: array<vec4<f32>, 64>;
  acc[select(0u, 1u, K == 0xffffffffu)] = vec4<f32>(0.0);

  let K4 = K & ~3u;
  for (var k = 0u; k < K4; k += 4u) {
    // bv[kk * 2 + q] = op(B)[k + kk, this lane's columns 4q..4q+3]
    var bv = load_b4(bOff, k, cols, nq);
    for (var r = 0u; r < RB; r++) {
      // av[i] = op(A)[row 8r + i, k..k+3], the same in every lane
      var av: array<vec4<f32>, 8>;
      if (TRANS_A && VEC_A) {
        let x = bcast8(a[(aOff + (k + (sl & 3u)) * M + tRow[r]) >> 2u]);
        for (var i = 0u; i < 8u; i++) {
          let l = 4u * (i >> 2u);
          av[i] = vec4<f32>(x[l][i & 3u], x[l + 1u][i & 3u], x[l + 2u][i & 3u], x[l + 3u][i & 3u]);
        }
      } else {
        var mine: vec4<f32>;
        if (TRANS_A) {
          let base = aOff + k * M + myRow[r];
          mine = vec4<f32>(lda(base), lda(base + M), lda(base + 2u * M), lda(base + 3u * M));
        } else {
          let base = aOff + myRow[r] * K + k;
          if (VEC_A) { mine = a[base >> 2u]; }
          else { mine = vec4<f32>(lda(base), lda(base + 1u), lda(base + 2u), lda(base + 3u)); }
        }
        av = bcast8(mine);
      }
      for (var i = 0u; i < 8u; i++) {
        for (var q = 0u; q < NQ; q++) {
          let o = (8u * r + i) * 2u + q;
          acc[o] = fma_k4(acc[o], av[i], bv, q);
        }
      }
    }
  }
  // Remaining K % 4 values of k, one at a time.
  for (var k = K4; k < K; k++) {
    var bk = load_b1(bOff, k, cols);
    for (var r = 0u; r < RB; r++) {
      var mine: f32;
      if (TRANS_A) { mine = lda(aOff + k * M + myRow[r]); } else { mine = lda(aOff + myRow[r] * K + k); }
      let x = bcast8s(mine);
      for (var i = 0u; i < 8u; i++) {
        for (var q = 0u; q < NQ; q++) {
          let o = (8u * r + i) * 2u + q;
          acc[o] = fma(vec4<f32>(x[i]), bk[q], acc[o]);
        }
      }
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

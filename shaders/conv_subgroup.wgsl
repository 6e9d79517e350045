// conv_subgroup.wgsl: the three convolution GEMMs (forward, input gradient, weight gradient) as
// implicit GEMMs for CPU adapters with 8-wide subgroups (lavapipe): barrier-free, no workgroup
// memory, structured like matmul_subgroup.wgsl (the 8 lanes of a subgroup share the rows of
// operand A through subgroupBroadcast; each lane owns TN columns of operand B and C).
// Bindings: 0 asrc (read), 1 bsrc (read), 2 bias (read), 3 out (read_write), 4 params.
// Layouts (NCHW): x [N,C,H,W], w [O,C,KH,KW], g (output gradient) [N,O,Ho,Wo], P = Ho*Wo.
// The GEMM C[M, NC] = A[M, K] B[K, NC] per MODE:
//   0 forward: rows (n,oy,ox), columns o, k (c,ky,kx). A = x gathered (implicit im2col), B = the
//     packed weight wT [K, NC4] (conv_util.wgsl). C goes to out[n,o,oy,ox] (+ bias[o]).
//   1 input gradient, one stride phase (ry,rx) per dispatch: rows (n,qy,qx) for input pixels
//     iy = ry + SY*qy, ix = rx + SX*qx; k (o,kyi,kxi) over only the taps that reach this phase
//     (ky = ky0 + kyi*sty), so a strided conv multiplies no structural zeros; A = g gathered at
//     oy = qy + offy(kyi), ox = qx + offx(kxi) (a stride-1 gather); B = the packed weight
//     wD [O*KH*KW, NC4] (rows (o,ky,kx), columns c). C goes to dx[n,c,iy,ix].
//   2 weight gradient: rows (c,ky,kx), columns o, k (n,oy,ox) split over wid.z in ranges of
//     p.split (a second pass sums the partial results). A = x gathered, B = g read along p (16-byte
//     loads when VEC_B: P % 4 == 0). C goes to out[z*M*NC + o*M + row].
// Every A element is asrc[rb(row) + off(k)], valid when ya(row) + a(k) is in [0, LY) and
// xa(row) + b(k) in [0, LX) (zero padding; checks compiled out when CHECK_Y/CHECK_X are false).
// The k state (off, a, b, B row) advances by counters (no division in the k loop); kernel size,
// stride, padding and dilation are override constants so the tap arithmetic folds.
// Tiling: a subgroup computes TM x (8*TN) of C; lane l owns columns l*TN..l*TN+TN-1 and gathers
// row l of every 8-row block (4 values of k per step), broadcast to all lanes. WG/8 subgroups per
// workgroup, SGN along the columns. Grid: x covers NC, y covers M, z the weight-gradient splits.
// TN 4 or 8: vec4 accumulators and 16-byte loads of B's columns. TN 1 or 2 (few columns: 8 or 16
// output channels, where a 32-column tile would leave half or more of the lanes' work unused):
// scalar accumulators and one load per column.
// Requires subgroup size 8 made of consecutive local_invocation_index values (the host checks).
enable subgroups;

override TM: u32 = 16u;  // rows per subgroup: 8, 16, 24 or 32
override TN: u32 = 4u;   // columns per lane: 1, 2, 4 or 8
override WG: u32 = 64u;  // invocations per workgroup (a multiple of 8)
override SGN: u32 = 1u;  // subgroups along the columns

#include "conv_params.wgsl"
#include "bcast8.wgsl"
#include "tile_fma.wgsl"

@group(0) @binding(0) var<storage, read> asrc: array<f32>;
@group(0) @binding(1) var<storage, read> bsrc: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

fn ldb(i: u32) -> f32 { return bsrc[i >> 2u][i & 3u]; }

// One value of k: A offset and the two bounds terms, and B's row (MODE 0/1) or base (MODE 2).
struct KS { off: i32, a: i32, b: i32, brow: u32 }

fn kstate(c0: u32, c1: u32, c2: u32) -> KS {
  var s: KS;
  if (MODE == 0u) {
    s.a = i32(c1 * DY);
    s.b = i32(c2 * DX);
    s.off = i32(c0 * p.H * p.W) + s.a * i32(p.W) + s.b;
    s.brow = (c0 * KH + c1) * KW + c2;
  } else if (MODE == 1u) {
    s.a = p.offy0 - i32(c1) * p.dOffy;
    s.b = p.offx0 - i32(c2) * p.dOffx;
    s.off = i32(c0 * p.Ho * p.Wo) + s.a * i32(p.Wo) + s.b;
    s.brow = (c0 * KH + p.ky0 + c1 * p.sty) * KW + p.kx0 + c2 * p.stx;
  } else {
    s.a = i32(c1 * SY);
    s.b = i32(c2 * SX);
    s.off = i32(c0 * p.C * p.H * p.W) + s.a * i32(p.W) + s.b;
    s.brow = c0 * p.O * p.Ho * p.Wo + c1 * p.Wo + c2;
  }
  return s;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) sl: u32) {
  let M = p.M;
  let NC = p.NC;
  let sg = lid / 8u;
  let SGM = WG / 8u / SGN;
  let m0 = (wid.y * SGM + sg / SGN) * TM;
  let n0 = ((wid.x * SGN + sg % SGN) * 8u + sl) * TN;
  let NQ = TN / 4u;
  let RB = TM / 8u;
  let P = p.Ho * p.Wo;
  let kb = wid.z * p.split;
  let ke = min(p.K, kb + p.split);

  var cols: array<u32, 8>;
  for (var j = 0u; j < TN; j++) { cols[j] = min(n0 + j, NC - 1u); }
  var nq: array<u32, 2>;
  for (var q = 0u; q < NQ; q++) { nq[q] = min(n0 + 4u * q, p.NC4 - 4u); }

  // This lane's row of each 8-row block: gather base, bounds terms, output offset.
  var rb: array<i32, 4>;
  var ya: array<i32, 4>;
  var xa: array<i32, 4>;
  var ro: array<u32, 4>;
  for (var r = 0u; r < RB; r++) {
    let row = min(m0 + 8u * r + sl, M - 1u);
    if (MODE == 0u) {
      let n = row / P;
      let pp = row % P;
      let oy = pp / p.Wo;
      let ox = pp % p.Wo;
      ya[r] = i32(oy * SY) - PY;
      xa[r] = i32(ox * SX) - PX;
      rb[r] = i32(n * p.C * p.H * p.W) + ya[r] * i32(p.W) + xa[r];
      ro[r] = n * p.O * P + pp;
    } else if (MODE == 1u) {
      let q2 = p.Hq * p.Wq;
      let n = row / q2;
      let qq = row % q2;
      let qy = qq / p.Wq;
      let qx = qq % p.Wq;
      ya[r] = i32(qy);
      xa[r] = i32(qx);
      rb[r] = i32(n * p.O * P + qy * p.Wo + qx);
      ro[r] = n * p.C * p.H * p.W + (p.ry + SY * qy) * p.W + p.rx + SX * qx;
    } else {
      let c = row / (KH * KW);
      let t = row % (KH * KW);
      ya[r] = i32((t / KW) * DY) - PY;
      xa[r] = i32((t % KW) * DX) - PX;
      rb[r] = i32(c * p.H * p.W) + ya[r] * i32(p.W) + xa[r];
      ro[r] = wid.z * M * NC + row;
    }
  }

  // k counters at kb
  var c0: u32; var c1: u32; var c2: u32;
  if (MODE == 0u) { c0 = kb / (KH * KW); c1 = (kb % (KH * KW)) / KW; c2 = kb % KW; }
  else if (MODE == 1u) { let nk = p.nky * p.nkx; c0 = kb / nk; c1 = (kb % nk) / p.nkx; c2 = kb % p.nkx; }
  else { c0 = kb / P; c1 = (kb % P) / p.Wo; c2 = kb % p.Wo; }
  var l1: u32; var l2: u32;
  if (MODE == 0u) { l1 = KH; l2 = KW; } else if (MODE == 1u) { l1 = p.nky; l2 = p.nkx; } else { l1 = p.Ho; l2 = p.Wo; }

  let WIDE = TN >= 4u;
  var acc: array<vec4<f32>, 64>;
  var sacc: array<f32, 64>; // TN < 4: row i, column j at i * TN + j
  if (WIDE) { for (var i = 0u; i < 64u; i++) { acc[i] = vec4<f32>(0.0); } }
  else { for (var i = 0u; i < 64u; i++) { sacc[i] = 0.0; } }

  for (var k = kb; k < ke; k += 4u) {
    var ks: array<KS, 4>;
    var kok: array<bool, 4>;
    for (var i = 0u; i < 4u; i++) {
      ks[i] = kstate(c0, c1, c2);
      kok[i] = k + i < ke;
      // branch-free carries: lavapipe turns an if inside the loop into masked writes
      c2++;
      let w2 = c2 == l2;
      c2 = select(c2, 0u, w2);
      c1 += u32(w2);
      let w1 = c1 == l1;
      c1 = select(c1, 0u, w1);
      c0 += u32(w1);
    }
    // bv[kk * 2 + q] = B[k + kk, this lane's columns 4q..4q+3] (TN >= 4); bs[kk * TN + j] = B[k + kk,
    // this lane's column j] (TN < 4)
    var bv: array<vec4<f32>, 8>;
    var bs: array<f32, 8>;
    if (MODE == 2u) {
      for (var q = 0u; q < max(NQ, 1u); q++) {
        var cv: array<vec4<f32>, 4>; // cv[j] = B[k..k+3, column 4q+j]
        for (var j = 0u; j < min(TN, 4u); j++) {
          let cb = cols[4u * q + j] * P;
          if (VEC_B) { cv[j] = bsrc[(ks[0].brow + cb) >> 2u]; }
          else {
            cv[j] = vec4<f32>(ldb(select(0u, ks[0].brow + cb, kok[0])), ldb(select(0u, ks[1].brow + cb, kok[1])),
                              ldb(select(0u, ks[2].brow + cb, kok[2])), ldb(select(0u, ks[3].brow + cb, kok[3])));
          }
        }
        if (WIDE) {
          bv[q] = vec4<f32>(cv[0].x, cv[1].x, cv[2].x, cv[3].x);
          bv[2u + q] = vec4<f32>(cv[0].y, cv[1].y, cv[2].y, cv[3].y);
          bv[4u + q] = vec4<f32>(cv[0].z, cv[1].z, cv[2].z, cv[3].z);
          bv[6u + q] = vec4<f32>(cv[0].w, cv[1].w, cv[2].w, cv[3].w);
        } else {
          for (var j = 0u; j < TN; j++) {
            bs[j] = cv[j].x; bs[TN + j] = cv[j].y; bs[2u * TN + j] = cv[j].z; bs[3u * TN + j] = cv[j].w;
          }
        }
      }
    } else {
      for (var kk = 0u; kk < 4u; kk++) {
        let base = select(0u, ks[kk].brow, kok[kk]) * p.NC4;
        if (WIDE) { for (var q = 0u; q < NQ; q++) { bv[kk * 2u + q] = bsrc[(base + nq[q]) >> 2u]; } }
        else { for (var j = 0u; j < TN; j++) { bs[kk * TN + j] = ldb(base + cols[j]); } }
      }
    }
    for (var r = 0u; r < RB; r++) {
      var mine: vec4<f32>;
      for (var i = 0u; i < 4u; i++) {
        var ok = kok[i];
        if (CHECK_Y) { ok = ok && u32(ya[r] + ks[i].a) < p.LY; }
        if (CHECK_X) { ok = ok && u32(xa[r] + ks[i].b) < p.LX; }
        mine[i] = select(0.0, asrc[select(0u, u32(rb[r] + ks[i].off), ok)], ok);
      }
      let av = bcast8(mine);
      for (var i = 0u; i < 8u; i++) {
        if (WIDE) {
          for (var q = 0u; q < NQ; q++) {
            let o = (8u * r + i) * 2u + q;
            acc[o] = fma_k4(acc[o], av[i], bv, q);
          }
        } else {
          for (var j = 0u; j < TN; j++) {
            let o = (8u * r + i) * TN + j;
            // one write of the accumulator per 4 values of k (lavapipe masks every write in a loop)
            sacc[o] = fma(av[i].w, bs[3u * TN + j], fma(av[i].z, bs[2u * TN + j], fma(av[i].y, bs[TN + j], fma(av[i].x, bs[j], sacc[o]))));
          }
        }
      }
    }
  }

  for (var r = 0u; r < RB; r++) {
    let ros = bcast8u(ro[r]);
    for (var i = 0u; i < 8u; i++) {
      if (m0 + 8u * r + i >= M) { break; }
      for (var j = 0u; j < TN; j++) {
        let n = n0 + j;
        if (n < NC) {
          var v: f32;
          if (WIDE) { v = acc[(8u * r + i) * 2u + j / 4u][j % 4u]; } else { v = sacc[(8u * r + i) * TN + j]; }
          if (HAS_BIAS) { v += bias[n]; }
          out[ros[i] + n * p.colStride] = v;
        }
      }
    }
  }
}

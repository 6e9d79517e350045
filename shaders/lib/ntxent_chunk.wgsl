// ntxent_chunk.wgsl (include): what ntxent_stats.wgsl and ntxent_weights.wgsl share. A chunk is
// R anchor rows (global rows r0..r0+R-1) of the M x M dot products s = <zh_i, zh_j>, stored [R, M]
// row-major by the matmul kernel; logits are s * inv_tau, row i's positive is i + half (mod M) and
// the diagonal is excluded. Provides struct Params {m, rows = R, r0, half, inv_tau} and
// fn positive(i) -> u32 (reads the shader's `p`).
struct Params { m: u32, rows: u32, r0: u32, half: u32, inv_tau: f32, _p0: u32, _p1: u32, _p2: u32 }

fn positive(i: u32) -> u32 {
  return select(i + p.half, i - p.half, i >= p.half);
}

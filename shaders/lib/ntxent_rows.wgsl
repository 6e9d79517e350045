// ntxent_rows.wgsl (include): what ntxent_forward.wgsl and ntxent_backward.wgsl share. zh is
// [M, d] (rows L2-normalized), M = 2N, row i's positive is i + N (mod M). Provides struct Params
// {m, d, half = N, inv_tau}, fn positive(i) -> u32, and the dot products of row i (starting at
// flat index ib) with rows of zh: fn dot4(ib, jb) -> vec4<f32> with the four rows starting at jb,
// fn dot1(ib, jb) -> f32 with one. They read the shader's `zh` and `p`.
struct Params { m: u32, d: u32, half: u32, inv_tau: f32 }

fn positive(i: u32) -> u32 {
  return select(i + p.half, i - p.half, i >= p.half);
}

// Each load of row i's element serves four dot products.
fn dot4(ib: u32, jb: u32) -> vec4<f32> {
  let d = p.d;
  var s = vec4<f32>(0.0);
  for (var k = 0u; k < d; k++) {
    s += zh[ib + k] * vec4<f32>(zh[jb + k], zh[jb + d + k], zh[jb + 2u * d + k], zh[jb + 3u * d + k]);
  }
  return s;
}

fn dot1(ib: u32, jb: u32) -> f32 {
  var s = 0.0;
  for (var k = 0u; k < p.d; k++) { s += zh[ib + k] * zh[jb + k]; }
  return s;
}

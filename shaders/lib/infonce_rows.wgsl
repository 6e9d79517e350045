// infonce_rows.wgsl (include): what the InfoNCE-with-queue kernels share (MoCo's loss,
// engine/ops/infonce.ts). q is [N, d] (queries), queue is [K, d] (negative keys); rows are used as
// given (the op normalizes q and k, MoCo stores normalized keys). Provides struct Params
// {n, d, k, inv_tau} and the dot products of row a of `x` (flat start ab) with rows of `y`:
// fn dot4(ab, jb) -> vec4<f32> with the four rows of y starting at jb, fn dot1(ab, jb) -> f32.
// The including shader names its arrays x and y.
struct Params { n: u32, d: u32, k: u32, inv_tau: f32 }

// Each load of x's element serves four dot products.
fn dot4(ab: u32, jb: u32) -> vec4<f32> {
  let d = p.d;
  var s = vec4<f32>(0.0);
  for (var c = 0u; c < d; c++) {
    s += x[ab + c] * vec4<f32>(y[jb + c], y[jb + d + c], y[jb + 2u * d + c], y[jb + 3u * d + c]);
  }
  return s;
}

fn dot1(ab: u32, jb: u32) -> f32 {
  var s = 0.0;
  for (var c = 0u; c < p.d; c++) { s += x[ab + c] * y[jb + c]; }
  return s;
}

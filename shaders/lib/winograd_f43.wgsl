// winograd_f43.wgsl (include): the transform matrices of Winograd F(4x4, 3x3) (Lavin & Gray 2016,
// interpolation points 0, 1, -1, 2, -2 and infinity), each applied to one vector, in one place for
// winograd_transform.wgsl and winograd_output.wgsl. Provides bt6 (B^T: input tiles), g3 (G:
// weights), at6 (A^T: output), and the weight gradient's adjoints a4 (A) and gt6 (G^T).

// B^T v for one 6-vector (rows of B^T: [4,0,-5,0,1,0], [0,-4,-4,1,1,0], [0,4,-4,-1,1,0],
// [0,-2,-1,2,1,0], [0,2,-1,-2,1,0], [0,4,0,-5,0,1])
fn bt6(v: array<f32, 6>) -> array<f32, 6> {
  let a = v[4] - 4.0 * v[2];
  let b = v[3] - 4.0 * v[1];
  let c = v[4] - v[2];
  let d = 2.0 * (v[3] - v[1]);
  return array<f32, 6>(4.0 * v[0] - 5.0 * v[2] + v[4], a + b, a - b, c + d, c - d, 4.0 * v[1] - 5.0 * v[3] + v[5]);
}

// G v for one 3-vector (rows of G: [1/4,0,0], [-1/6,-1/6,-1/6], [-1/6,1/6,-1/6],
// [1/24,1/12,1/6], [1/24,-1/12,1/6], [0,0,1])
fn g3(v: array<f32, 3>) -> array<f32, 6> {
  let s = -(v[0] + v[2]) / 6.0;
  let t = v[1] / 6.0;
  let u = v[0] / 24.0 + v[2] / 6.0;
  let w = v[1] / 12.0;
  return array<f32, 6>(v[0] / 4.0, s - t, s + t, u + w, u - w, v[2]);
}

// A v for one 4-vector (rows of A: [1,0,0,0], [1,1,1,1], [1,-1,1,-1], [1,2,4,8], [1,-2,4,-8], [0,0,0,1])
fn a4(v: array<f32, 4>) -> array<f32, 6> {
  let e = v[0] + v[2];
  let o = v[1] + v[3];
  let e4 = v[0] + 4.0 * v[2];
  let o4 = 2.0 * v[1] + 8.0 * v[3];
  return array<f32, 6>(v[0], e + o, e - o, e4 + o4, e4 - o4, v[3]);
}

// G^T v for one 6-vector (rows of G^T: [1/4,-1/6,-1/6,1/24,1/24,0], [0,-1/6,1/6,1/12,-1/12,0],
// [0,-1/6,-1/6,1/6,1/6,1])
fn gt6(v: array<f32, 6>) -> array<f32, 3> {
  let s = -(v[1] + v[2]) / 6.0;
  let t = v[3] + v[4];
  return array<f32, 3>(v[0] / 4.0 + s + t / 24.0, (v[2] - v[1]) / 6.0 + (v[3] - v[4]) / 12.0, s + t / 6.0 + v[5]);
}

// A^T v for one 6-vector (rows of A^T: [1,1,1,1,1,0], [0,1,-1,2,-2,0], [0,1,1,4,4,0], [0,1,-1,8,-8,1])
fn at6(v: array<f32, 6>) -> array<f32, 4> {
  let a = v[1] + v[2];
  let b = v[1] - v[2];
  let c = v[3] + v[4];
  let d = v[3] - v[4];
  return array<f32, 4>(v[0] + a + c, b + 2.0 * d, a + 4.0 * c, b + 8.0 * d + v[5]);
}

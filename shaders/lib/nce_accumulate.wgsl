// nce_accumulate.wgsl (include): the gradient kernels' sum over weighted rows of y into the
// invocation's own row of `out` (flat start ab), after nce_rows.wgsl. Provides fn begin(ab, cached)
// (zeroes the sum; when cached, also copies the own row of x into xa), fn add4(ab, jb, w, cached)
// (adds w.x y[jb..] + ... + w.w y[jb + 3d..]), fn add1(ab, jb, w, cached) (one weighted row) and
// fn finish(ab, cached) (writes the sum). Uncached: straight into out (read-modify-write of
// storage); cached: into the private acc, written once by finish. The including shader names its
// output array `out`.
var<private> acc: array<f32, ROW_CACHE>;

fn begin(ab: u32, cached: bool) {
  if (cached) {
    cache_row(ab);
    for (var c = 0u; c < p.d; c++) { acc[c] = 0.0; }
  } else {
    for (var c = 0u; c < p.d; c++) { out[ab + c] = 0.0; }
  }
}

fn add4(ab: u32, jb: u32, w: vec4<f32>, cached: bool) {
  let d = p.d;
  for (var c = 0u; c < d; c++) {
    let t = dot(w, vec4<f32>(y[jb + c], y[jb + d + c], y[jb + 2u * d + c], y[jb + 3u * d + c]));
    if (cached) { acc[c] += t; } else { out[ab + c] += t; }
  }
}

fn add1(ab: u32, jb: u32, w: f32, cached: bool) {
  for (var c = 0u; c < p.d; c++) {
    let t = w * y[jb + c];
    if (cached) { acc[c] += t; } else { out[ab + c] += t; }
  }
}

fn finish(ab: u32, cached: bool) {
  if (cached) { for (var c = 0u; c < p.d; c++) { out[ab + c] = acc[c]; } }
}

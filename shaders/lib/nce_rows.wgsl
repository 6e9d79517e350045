// nce_rows.wgsl (include): after nce_score.wgsl, the dot products of the streaming NCE kernels: of
// the invocation's own row of `x` (flat start ab) with rows of `y`: fn dot4(ab, jb, cached) ->
// vec4<f32> (the four rows from jb), fn dot1(ab, jb, cached) -> f32. Two ways to read the own row:
// from storage (cached = false; every lane reads its own row, a gather on CPU adapters), or from
// `xa`, a private copy made once by fn cache_row(ab) (cached = true; the index is the same for every
// lane, so a CPU adapter reads it as one vector, and the 256 floats stay out of a GPU's registers
// when the uncached entry point is used). Provides ROW_CACHE, which bounds d for the cached path.
// The including shader names its arrays x (the row owner) and y.
const ROW_CACHE: u32 = 256u;
var<private> xa: array<f32, ROW_CACHE>;

fn cache_row(ab: u32) {
  for (var c = 0u; c < p.d; c++) { xa[c] = x[ab + c]; }
}

fn own(ab: u32, c: u32, cached: bool) -> f32 {
  if (cached) { return xa[c]; }
  return x[ab + c];
}

// Each read of the own row's element serves four dot products.
fn dot4(ab: u32, jb: u32, cached: bool) -> vec4<f32> {
  let d = p.d;
  var s = vec4<f32>(0.0);
  for (var c = 0u; c < d; c++) {
    s += own(ab, c, cached) * vec4<f32>(y[jb + c], y[jb + d + c], y[jb + 2u * d + c], y[jb + 3u * d + c]);
  }
  return s;
}

fn dot1(ab: u32, jb: u32, cached: bool) -> f32 {
  var s = 0.0;
  for (var c = 0u; c < p.d; c++) { s += own(ab, c, cached) * y[jb + c]; }
  return s;
}

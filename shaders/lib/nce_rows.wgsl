// nce_rows.wgsl (include): what the feature-map NCE kernels share (engine/ops/nce.ts). Anchors
// [M, d] and targets [N, d]; a score is f(scale * <row, row>), f the identity (clip = 0) or the soft
// clip c tanh(x / c) with its argument clamped to +-15 (where f32 tanh is saturated anyway). With
// rpg > 0, anchor r leaves out the columns of its own group [floor(r / rpg) * cpg, + cpg).
// Provides struct Params {m, n, d, rpg, cpg, scale, clip}, fn score(dot) -> f32, fn slope(dot) ->
// f32 (d score / d dot), fn own_cols(r) -> vec2<u32> and fn own_rows(n) -> vec2<u32> (the excluded
// [lo, hi) of a row or a column; lo = hi when nothing is), and the dot products of the invocation's
// own row of `x` (flat start ab) with rows of `y`: fn dot4(ab, jb, cached) -> vec4<f32> (the four
// rows from jb), fn dot1(ab, jb, cached) -> f32.
// Two ways to read the own row: from storage (cached = false; every lane reads its own row, a gather
// on CPU adapters), or from `xa`, a private copy made once by fn cache_row(ab) (cached = true; the
// index is the same for every lane, so a CPU adapter reads it as one vector, and the 256 floats stay
// out of a GPU's registers when the uncached entry point is used). ROW_CACHE bounds d for the cached
// path. The including shader names its arrays x (the row owner) and y.
struct Params { m: u32, n: u32, d: u32, rpg: u32, cpg: u32, scale: f32, clip: f32, _pad: u32 }

const ROW_CACHE: u32 = 256u;
var<private> xa: array<f32, ROW_CACHE>;

fn clip_arg(v: f32) -> f32 { return clamp(v * p.scale / p.clip, -15.0, 15.0); }

fn score(v: f32) -> f32 {
  if (p.clip > 0.0) { return p.clip * tanh(clip_arg(v)); }
  return v * p.scale;
}

fn slope(v: f32) -> f32 {
  if (p.clip > 0.0) { let t = tanh(clip_arg(v)); return p.scale * (1.0 - t * t); }
  return p.scale;
}

fn own_cols(r: u32) -> vec2<u32> {
  if (p.rpg == 0u) { return vec2<u32>(p.n, p.n); }
  let lo = min((r / p.rpg) * p.cpg, p.n);
  return vec2<u32>(lo, min(lo + p.cpg, p.n));
}

fn own_rows(n: u32) -> vec2<u32> {
  if (p.rpg == 0u) { return vec2<u32>(p.m, p.m); }
  let lo = min((n / p.cpg) * p.rpg, p.m);
  return vec2<u32>(lo, min(lo + p.rpg, p.m));
}

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

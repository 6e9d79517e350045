// nce_score.wgsl (include): the scores of the feature-map NCE kernels (engine/ops/nce.ts). A score
// is f(scale * dot), f the identity (clip = 0) or the soft clip c tanh(x / c) with its argument
// clamped to +-15 (where f32 tanh is saturated anyway). With rpg > 0, anchor row r (r0 + r within
// a tile of rows starting at r0) leaves out the columns of its own group [floor(r / rpg) * cpg,
// + cpg). Provides struct Params {m, n, d, rpg, cpg, scale, clip, r0}, fn score(dot) -> f32,
// fn slope(dot) -> f32 (d score / d dot), and fn own_cols(r) -> vec2<u32>, fn own_rows(n) ->
// vec2<u32>: the excluded [lo, hi) of a row or a column (lo = hi when nothing is). Needs the
// uniform `p`.
struct Params { m: u32, n: u32, d: u32, rpg: u32, cpg: u32, scale: f32, clip: f32, r0: u32 }

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
  let lo = min(((p.r0 + r) / p.rpg) * p.cpg, p.n);
  return vec2<u32>(lo, min(lo + p.cpg, p.n));
}

fn own_rows(n: u32) -> vec2<u32> {
  if (p.rpg == 0u) { return vec2<u32>(p.m, p.m); }
  let lo = min((n / p.cpg) * p.rpg, p.m);
  return vec2<u32>(lo, min(lo + p.rpg, p.m));
}

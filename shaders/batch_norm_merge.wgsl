// batch_norm_merge.wgsl: second pass of batch norm's training statistics. Merges the K chunk
// partials (mean, M2) of each channel from batch_norm_stats.wgsl with Chan et al.'s pairwise
// update (mean += delta * nb / n; M2 += M2b + delta^2 * na * nb / n), which never forms E[x^2].
// Writes mean[c], invstd[c] = 1 / sqrt(var + eps) and the biased variance var[c] = M2 / M.
// Entry `running` also takes the running mean and variance and writes their updates (PyTorch:
// running' = (1 - momentum) * running + momentum * the batch statistic, the variance unbiased by
// M / (M - 1)), so a training step's running statistics take no dispatch of their own.
// Layout: part is [C, K, 2]; chunk k holds min(chunk, M - k*chunk) values. One invocation per channel.
// Bindings: (main) 0 part (read), 1 mean, 2 invstd, 3 var (read_write), 4 params; (running) 0 part,
// 1 running mean, 2 running var (read), 3 mean, 4 invstd, 5 var, 6 running mean', 7 running var'
// (read_write), 8 params.
override WG: u32 = 64u;

// keep: the running statistics' weight (1 - momentum); unbias: M / (M - 1)
struct Params { c: u32, k: u32, chunk: u32, m: u32, eps: f32, keep: f32, unbias: f32, _p0: u32 }

@group(0) @binding(0) var<storage, read> part: array<f32>;

// channel c's mean and biased variance
fn merge(c: u32, q: Params) -> vec2<f32> {
  var base = 2u * c * q.k;
  var mu = part[base];
  var m2 = part[base + 1u];
  var na = f32(min(q.chunk, q.m));
  for (var k = 1u; k < q.k; k++) {
    base += 2u;
    let nb = f32(min(q.chunk, q.m - k * q.chunk));
    let n = na + nb;
    let delta = part[base] - mu;
    mu += delta * (nb / n);
    m2 += part[base + 1u] + delta * delta * (na * (nb / n));
    na = n;
  }
  return vec2<f32>(mu, max(m2 / f32(q.m), 0.0));
}

@group(0) @binding(1) var<storage, read_write> mean: array<f32>;
@group(0) @binding(2) var<storage, read_write> invstd: array<f32>;
@group(0) @binding(3) var<storage, read_write> variance: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.c) { return; }
  let s = merge(c, p);
  mean[c] = s.x;
  variance[c] = s.y;
  invstd[c] = 1.0 / sqrt(s.y + p.eps);
}

@group(0) @binding(1) var<storage, read> run_mean: array<f32>;
@group(0) @binding(2) var<storage, read> run_var: array<f32>;
@group(0) @binding(3) var<storage, read_write> mean_r: array<f32>;
@group(0) @binding(4) var<storage, read_write> invstd_r: array<f32>;
@group(0) @binding(5) var<storage, read_write> variance_r: array<f32>;
@group(0) @binding(6) var<storage, read_write> run_mean_out: array<f32>;
@group(0) @binding(7) var<storage, read_write> run_var_out: array<f32>;
@group(0) @binding(8) var<uniform> pr: Params;

@compute @workgroup_size(WG)
fn running(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= pr.c) { return; }
  let s = merge(c, pr);
  mean_r[c] = s.x;
  variance_r[c] = s.y;
  invstd_r[c] = 1.0 / sqrt(s.y + pr.eps);
  // as emaUpdate(running, stat, keep) computes it (optim_ema.wgsl), so the two paths agree
  run_mean_out[c] = pr.keep * run_mean[c] + (1.0 - pr.keep) * s.x;
  run_var_out[c] = pr.keep * run_var[c] + (1.0 - pr.keep) * (s.y * pr.unbias);
}

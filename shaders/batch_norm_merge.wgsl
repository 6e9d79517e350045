// batch_norm_merge.wgsl: second pass of batch norm's training statistics. Merges the K chunk
// partials (mean, M2) of each channel from batch_norm_stats.wgsl with Chan et al.'s pairwise
// update (mean += delta * nb / n; M2 += M2b + delta^2 * na * nb / n), which never forms E[x^2].
// Writes mean[c], invstd[c] = 1 / sqrt(var + eps) and the biased variance var[c] = M2 / M.
// Layout: part is [C, K, 2]; chunk k holds min(chunk, M - k*chunk) values. One invocation per channel.
// Bindings: 0 part (read), 1 mean, 2 invstd, 3 var (read_write), 4 params.
override WG: u32 = 64u;

struct Params { c: u32, k: u32, chunk: u32, m: u32, eps: f32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read_write> mean: array<f32>;
@group(0) @binding(2) var<storage, read_write> invstd: array<f32>;
@group(0) @binding(3) var<storage, read_write> variance: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.c) { return; }
  var base = 2u * c * p.k;
  var mu = part[base];
  var m2 = part[base + 1u];
  var na = f32(min(p.chunk, p.m));
  for (var k = 1u; k < p.k; k++) {
    base += 2u;
    let nb = f32(min(p.chunk, p.m - k * p.chunk));
    let n = na + nb;
    let delta = part[base] - mu;
    mu += delta * (nb / n);
    m2 += part[base + 1u] + delta * delta * (na * (nb / n));
    na = n;
  }
  let v = max(m2 / f32(p.m), 0.0);
  mean[c] = mu;
  variance[c] = v;
  invstd[c] = 1.0 / sqrt(v + p.eps);
}

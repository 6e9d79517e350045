// ntxent_forward.wgsl: the NT-Xent (SimCLR) loss per anchor row, without materializing the M x M
// logits. zh is [M, d] (rows already L2-normalized), M = 2N; row i's positive is i + N (mod M).
// One invocation per anchor row i: it streams over the other rows j, four at a time (each load of
// its own row's element then serves four dot products), computes the logits
// s = <zh_i, zh_j> * inv_tau, and keeps an online max mx and sum se of exp(logit - mx) (rescaled
// when mx grows, as flash attention does), the positive's logit, and the largest negative logit.
// Writes loss[i] = (mx - pos) + log(se) (= logsumexp - pos), lse[i] = mx + log(se), and
// correct[i] = 1 when the positive's logit is strictly above every negative (else 0).
// Every lane of a workgroup reads the same rows j at once (a broadcast, not a gather); no
// workgroup memory or barriers. 1-D grid split over x/y.
// Bindings: 0 zh (read), 1 loss, 2 lse, 3 correct (read_write), 4 params {m, d, half, inv_tau}.
override WG: u32 = 64u;

struct Params { m: u32, d: u32, half: u32, inv_tau: f32 }

@group(0) @binding(0) var<storage, read> zh: array<f32>;
@group(0) @binding(1) var<storage, read_write> loss: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read_write> correct: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

const NEG_BIG: f32 = -3.0e38;

var<private> mx: f32;
var<private> se: f32;
var<private> pos_logit: f32;
var<private> max_neg: f32;

// Folds logit v of candidate j into anchor i's running state (j == i is skipped).
fn take(v: f32, j: u32, i: u32, pos: u32) {
  if (j == i) { return; }
  if (j == pos) { pos_logit = v; } else { max_neg = max(max_neg, v); }
  if (v > mx) {
    se = se * exp(mx - v) + 1.0;
    mx = v;
  } else {
    se += exp(v - mx);
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid.x;
  if (i >= p.m) { return; }
  let pos = select(i + p.half, i - p.half, i >= p.half);
  let ib = i * p.d;
  mx = NEG_BIG;
  se = 0.0;
  pos_logit = 0.0;
  max_neg = NEG_BIG;
  var j = 0u;
  for (; j + 4u <= p.m; j += 4u) {
    let jb = j * p.d;
    var dot = vec4<f32>(0.0);
    for (var k = 0u; k < p.d; k++) {
      let a = zh[ib + k];
      dot += a * vec4<f32>(zh[jb + k], zh[jb + p.d + k], zh[jb + 2u * p.d + k], zh[jb + 3u * p.d + k]);
    }
    let v = dot * p.inv_tau;
    take(v.x, j, i, pos);
    take(v.y, j + 1u, i, pos);
    take(v.z, j + 2u, i, pos);
    take(v.w, j + 3u, i, pos);
  }
  for (; j < p.m; j++) {
    let jb = j * p.d;
    var dot = 0.0;
    for (var k = 0u; k < p.d; k++) { dot += zh[ib + k] * zh[jb + k]; }
    take(dot * p.inv_tau, j, i, pos);
  }
  let log_s = log(se);
  loss[i] = (mx - pos_logit) + log_s;
  lse[i] = mx + log_s;
  correct[i] = select(0.0, 1.0, pos_logit > max_neg);
}

// batch_norm_grad_stats.wgsl: first pass of batch norm's backward: per channel and chunk, the sums
// of g and of g * (x - mean[c]) (Kahan-compensated, xor with p.zero as in reduce.wgsl).
// Layout and chunking as batch_norm_stats.wgsl: x and g are [N, C, S]; invocation t = c*K + k
// writes part[2t] = sum g, part[2t+1] = sum g * (x - mean). batch_norm_grad_merge.wgsl adds chunks.
// Bindings: 0 x, 1 g, 2 mean (read), 3 part (read_write), 4 params.
override WG: u32 = 256u;

struct Params { n: u32, c: u32, s: u32, k: u32, chunk: u32, m: u32, zero: u32, _p: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> part: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = (wid.x + wid.y * nwg.x) * WG + lid.x;
  if (t >= p.n) { return; }
  let c = t / p.k;
  let m0 = (t % p.k) * p.chunk;
  let m1 = min(p.m, m0 + p.chunk);
  let jump = (p.c - 1u) * p.s;
  var s = m0 % p.s;
  var idx = ((m0 / p.s) * p.c + c) * p.s + s;
  let mu = mean[c];
  var sg = 0.0;
  var cg = 0.0;
  var sgx = 0.0;
  var cgx = 0.0;
  for (var m = m0; m < m1; m++) {
    let gv = g[idx];
    let y1 = gv - cg;
    let t1 = bitcast<f32>(bitcast<u32>(sg + y1) ^ p.zero);
    cg = (t1 - sg) - y1;
    sg = t1;
    let y2 = gv * (x[idx] - mu) - cgx;
    let t2 = bitcast<f32>(bitcast<u32>(sgx + y2) ^ p.zero);
    cgx = (t2 - sgx) - y2;
    sgx = t2;
    idx++;
    s++;
    if (s == p.s) { s = 0u; idx += jump; }
  }
  part[2u * t] = sg;
  part[2u * t + 1u] = sgx;
}

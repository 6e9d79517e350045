// max_pool2d_backward.wgsl: gradient of max_pool2d.wgsl: dx[n, c, h, w] = sum of g over the output
// windows that contain (h, w) and whose argmax is h*W + w. Gathers instead of scattering (no float
// atomics): one invocation per input element loops over the few windows covering it
// (ceil(k / s)^2 of them). Layout: g and argmax [N, C, OH, OW], dx [N, C, H, W].
// 1-D grid split over x/y. Bindings: 0 g, 1 argmax (read), 2 dx (read_write), 3 params.
override WG: u32 = 256u;

struct Params { n: u32, h: i32, w: i32, oh: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, _p: u32 }

@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> argmax: array<i32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// First output index o >= 0 whose window [o*s - pad, o*s - pad + k) contains i, and the last.
fn first_window(i: i32, k: i32, s: i32, pad: i32) -> i32 {
  let lo = i + pad - k;
  return select(lo / s + 1, 0, lo < 0);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = (wid.x + wid.y * nwg.x) * WG + lid.x;
  if (t >= p.n) { return; }
  let w = i32(t % u32(p.w));
  let r = t / u32(p.w);
  let h = i32(r % u32(p.h));
  let plane = r / u32(p.h);
  let me = h * p.w + w;
  let oy0 = first_window(h, p.kh, p.sh, p.ph);
  let oy1 = min((h + p.ph) / p.sh, p.oh - 1);
  let ox0 = first_window(w, p.kw, p.sw, p.pw);
  let ox1 = min((w + p.pw) / p.sw, p.ow - 1);
  let base = plane * u32(p.oh * p.ow);
  var acc = 0.0;
  for (var oy = oy0; oy <= oy1; oy++) {
    for (var ox = ox0; ox <= ox1; ox++) {
      let o = base + u32(oy * p.ow + ox);
      if (argmax[o] == me) { acc += g[o]; }
    }
  }
  dx[t] = acc;
}

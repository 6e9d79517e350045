// avg_pool2d.wgsl: 2-D average pooling (PyTorch count_include_pad = true, floor mode: every window
// divides by kh*kw, padded positions count as 0) and its gradient, which is also its adjoint.
// Entry `forward`: x [N, C, H, W] -> y [N, C, OH, OW], one invocation per output looping over the
// window clipped to the input. Entry `backward`: g [N, C, OH, OW] -> dx [N, C, H, W], one invocation
// per input element gathering g / (kh*kw) from the windows that cover it (no atomics).
// 1-D grid split over x/y. Bindings: 0 src (read), 1 dst (read_write), 2 params.
override WG: u32 = 256u;

struct Params { n: u32, h: i32, w: i32, oh: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, _p: u32 }

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

fn index(wid: vec3<u32>, lid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + lid.x;
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = index(wid, lid, nwg);
  if (t >= p.n) { return; }
  let ox = i32(t % u32(p.ow));
  let r = t / u32(p.ow);
  let oy = i32(r % u32(p.oh));
  let plane = r / u32(p.oh);
  let hs = oy * p.sh - p.ph;
  let ws = ox * p.sw - p.pw;
  let h0 = max(hs, 0);
  let h1 = min(hs + p.kh, p.h);
  let w0 = max(ws, 0);
  let w1 = min(ws + p.kw, p.w);
  let base = plane * u32(p.h * p.w);
  var acc = 0.0;
  for (var h = h0; h < h1; h++) {
    for (var w = w0; w < w1; w++) {
      acc += src[base + u32(h * p.w + w)];
    }
  }
  dst[t] = acc / f32(p.kh * p.kw);
}

fn first_window(i: i32, k: i32, s: i32, pad: i32) -> i32 {
  let lo = i + pad - k;
  return select(lo / s + 1, 0, lo < 0);
}

@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = index(wid, lid, nwg);
  if (t >= p.n) { return; }
  let w = i32(t % u32(p.w));
  let r = t / u32(p.w);
  let h = i32(r % u32(p.h));
  let plane = r / u32(p.h);
  let oy0 = first_window(h, p.kh, p.sh, p.ph);
  let oy1 = min((h + p.ph) / p.sh, p.oh - 1);
  let ox0 = first_window(w, p.kw, p.sw, p.pw);
  let ox1 = min((w + p.pw) / p.sw, p.ow - 1);
  let base = plane * u32(p.oh * p.ow);
  var acc = 0.0;
  for (var oy = oy0; oy <= oy1; oy++) {
    for (var ox = ox0; ox <= ox1; ox++) {
      acc += src[base + u32(oy * p.ow + ox)];
    }
  }
  dst[t] = acc / f32(p.kh * p.kw);
}

// pool_window.wgsl (include): the 2-D pooling window arithmetic shared by max_pool2d.wgsl,
// max_pool2d_backward.wgsl and avg_pool2d.wgsl (floor mode, no dilation). Output (oy, ox)'s window
// is rows [oy*sh - ph, +kh) and columns [ox*sw - pw, +kw) of the input. Provides
// fn window_clip(oy, ox) -> vec4<i32> (h0, h1, w0, w1): that window clipped to the input;
// fn first_window(i, k, s, pad) -> i32; fn covering_windows(h, w) -> vec4<i32> (oy0, oy1, ox0, ox1):
// the outputs whose windows contain input (h, w), bounds inclusive. They read the i32 fields
// h, w, kh, kw, sh, sw, ph, pw (and oh, ow, i32 or u32, for covering_windows) of the shader's `p`.
fn window_clip(oy: i32, ox: i32) -> vec4<i32> {
  let hs = oy * p.sh - p.ph;
  let ws = ox * p.sw - p.pw;
  return vec4<i32>(max(hs, 0), min(hs + p.kh, p.h), max(ws, 0), min(ws + p.kw, p.w));
}

// First output index o >= 0 whose window [o*s - pad, o*s - pad + k) contains i.
fn first_window(i: i32, k: i32, s: i32, pad: i32) -> i32 {
  let lo = i + pad - k;
  return select(lo / s + 1, 0, lo < 0);
}

fn covering_windows(h: i32, w: i32) -> vec4<i32> {
  return vec4<i32>(first_window(h, p.kh, p.sh, p.ph), min((h + p.ph) / p.sh, i32(p.oh) - 1),
                   first_window(w, p.kw, p.sw, p.pw), min((w + p.pw) / p.sw, i32(p.ow) - 1));
}

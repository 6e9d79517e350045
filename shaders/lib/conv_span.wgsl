// conv_span.wgsl (include): a lane's input row span in the direct convolutions (conv_direct.wgsl,
// conv_direct_wgrad.wgsl, conv_direct_dgrad.wgsl): NV aligned vec4s of x from `base`, a multiple
// of 4 at or before the lane's first tap (OFF = (-PX) mod 4 elements before it in the forward
// kernels; the kernel's header says). With W % 4 == 0 each vec4 lies wholly inside or
// wholly outside its row, so one flag per vec4 masks the padding. Provides override OFF and NV,
// fn span_cols(base) -> array<bool, 4> (which of the vec4s lie inside the row) and
// fn load_span(rb, rowok, cols) -> array<f32, 16> (the span's elements from flat index rb, zeros
// outside the image). They read x (array<vec4<f32>>) and p.W of the including shader.
override OFF: u32 = 3u;  // where the span starts, relative to the lane's first column
override NV: u32 = 3u;   // aligned vec4s per span (at most 4)

fn span_cols(base: i32) -> array<bool, 4> {
  var ok: array<bool, 4>;
  for (var v = 0u; v < NV; v++) { ok[v] = u32(base + i32(4u * v)) < p.W; }
  return ok;
}

fn load_span(rb: i32, rowok: bool, cols: array<bool, 4>) -> array<f32, 16> {
  var xs: array<f32, 16>;
  for (var v = 0u; v < NV; v++) {
    let ok = rowok && cols[v];
    let xv = select(vec4<f32>(0.0), x[select(0u, u32(rb + i32(4u * v)) >> 2u, ok)], ok);
    xs[4u * v] = xv.x; xs[4u * v + 1u] = xv.y; xs[4u * v + 2u] = xv.z; xs[4u * v + 3u] = xv.w;
  }
  return xs;
}

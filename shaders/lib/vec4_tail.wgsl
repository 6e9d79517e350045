// vec4_tail.wgsl (include): the vec4 layout of the fused elementwise update kernels (optim_*.wgsl).
// On lavapipe every storage load is a per-lane loop, so one 16-byte load per lane costs about as
// much as one 4-byte load: a tensor of n f32 is read and written as ceil(n / 4) vec4s. The last
// vec4 may reach past n into the bound buffer's slack (the host checks the buffer holds whole
// vec4s): those lanes compute garbage that is written to the slack and never read as data.
// Provides fn vec4_count(n) -> u32, fn lanes_valid(q, n) -> vec4<bool> (which components of
// vec4 q are < n, for reductions that must not sum the slack), and the grid-stride walk:
// vec4_step(t, k, T, n) is the vec4 that invocation t of T handles at its step k (t + k * T), or
// NO_VEC4 once that is past the tensor (or t is past T); kernels loop `for k < E` and break on it.
fn vec4_count(n: u32) -> u32 { return (n + 3u) / 4u; }

const NO_VEC4: u32 = 0xffffffffu;

fn vec4_step(t: u32, k: u32, T: u32, n: u32) -> u32 {
  let q = t + k * T;
  return select(NO_VEC4, q, t < T && q < vec4_count(n));
}

fn lanes_valid(q: u32, n: u32) -> vec4<bool> {
  let b = 4u * q;
  return vec4<bool>(b < n, b + 1u < n, b + 2u < n, b + 3u < n);
}

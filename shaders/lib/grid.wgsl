// grid.wgsl (include): the 1-D grid split over x/y of the one-element-per-invocation kernels, so
// that tensors beyond 65535 workgroups work: invocation i = (wid.x + wid.y * nwg.x) * WG + lid.x.
// Provides: struct Grid1D (the three builtins, taken as an entry point's one parameter) and
// fn grid_index(g: Grid1D) -> u32. Needs `override WG: u32` (the workgroup size) in the shader.
struct Grid1D {
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
}

fn grid_index(g: Grid1D) -> u32 {
  return (g.wid.x + g.wid.y * g.nwg.x) * WG + g.lid.x;
}

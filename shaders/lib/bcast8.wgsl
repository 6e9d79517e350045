// bcast8.wgsl (include): subgroup broadcasts for 8-wide subgroups (lavapipe), shared by
// matmul_subgroup.wgsl and conv_subgroup.wgsl: every lane's value, in every lane, as an array
// indexed by lane. Provides bcast8 (vec4<f32>), bcast8s (f32) and bcast8u (u32). The including
// shader starts with `enable subgroups;` (above the #include line).
fn bcast8(v: vec4<f32>) -> array<vec4<f32>, 8> {
  return array<vec4<f32>, 8>(
    subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u), subgroupBroadcast(v, 2u), subgroupBroadcast(v, 3u),
    subgroupBroadcast(v, 4u), subgroupBroadcast(v, 5u), subgroupBroadcast(v, 6u), subgroupBroadcast(v, 7u));
}
fn bcast8s(v: f32) -> array<f32, 8> {
  return array<f32, 8>(
    subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u), subgroupBroadcast(v, 2u), subgroupBroadcast(v, 3u),
    subgroupBroadcast(v, 4u), subgroupBroadcast(v, 5u), subgroupBroadcast(v, 6u), subgroupBroadcast(v, 7u));
}
fn bcast8u(v: u32) -> array<u32, 8> {
  return array<u32, 8>(
    subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u), subgroupBroadcast(v, 2u), subgroupBroadcast(v, 3u),
    subgroupBroadcast(v, 4u), subgroupBroadcast(v, 5u), subgroupBroadcast(v, 6u), subgroupBroadcast(v, 7u));
}

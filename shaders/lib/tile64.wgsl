// tile64.wgsl (include): the workgroup-memory tiling shared by matmul_tiled.wgsl and
// conv_tiled.wgsl: a workgroup of 256 invocations (16 x 16) computes a TILE x TILE = 64 x 64 tile
// of C, each invocation a 4 x 4 block in registers, stepping TK = 16 along k. Provides the
// constants TILE, TK, PAD, the workgroup arrays As, Bs and fn tile_fma(acc, tx, ty), which adds
// this step's TK products into the invocation's block acc (rows 4ty.., columns 4tx..).
const TILE: u32 = 64u;
const TK: u32 = 16u;

// As[k * 17 + i] = op(A)[rows 4i..4i+3, k]; Bs[k * 17 + j] = op(B)[k, columns 4j..4j+3]. Rows of
// 17 vectors, not 16, so that invocations storing consecutive k hit different banks.
const PAD: u32 = 17u;
var<workgroup> As: array<vec4<f32>, 272>;
var<workgroup> Bs: array<vec4<f32>, 272>;

fn tile_fma(acc: ptr<function, array<vec4<f32>, 4>>, tx: u32, ty: u32) {
  for (var k = 0u; k < TK; k++) {
    let av = As[k * PAD + ty];
    let bv = Bs[k * PAD + tx];
    (*acc)[0] = fma(vec4<f32>(av.x), bv, (*acc)[0]);
    (*acc)[1] = fma(vec4<f32>(av.y), bv, (*acc)[1]);
    (*acc)[2] = fma(vec4<f32>(av.z), bv, (*acc)[2]);
    (*acc)[3] = fma(vec4<f32>(av.w), bv, (*acc)[3]);
  }
}

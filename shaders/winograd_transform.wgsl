// winograd_transform.wgsl: the tile transforms of a Winograd F(4x4, 3x3) convolution
// (Lavin & Gray 2016): stride 1, 3x3 kernel, no dilation. A 4x4 block of output pixels (a tile)
// is A^T [(G g G^T) . (B^T d B)] A over the 6x6 input patch d under it and each 3x3 kernel g, so
// the 36 multiplies per (tile, input channel, output channel) replace direct convolution's 144;
// the sum over input channels of the 36 elementwise products is 36 GEMMs (done by matmul).
// Bindings: 0 src (read; src4 is the same binding as vec4s, for input_tiles_rows), 1 dst
// (read_write), 2 params. One invocation per output element's column: grid x over the columns (WG
// per workgroup), y over the rows.
// input_tiles: src x [N, C, H, W] (images n0.. of a chunk), dst V [36, C, PP]: V[xi, c, t] =
//   (B^T d B)[xi / 6, xi % 6] for tile t = (n - n0) * TT + ty * TW + tx, whose patch starts at row
//   4*ty - py, column 4*tx - px (zeros outside the image; tiles P..PP-1, the GEMM's padding, zero).
// weight_tiles: src w [O, C, 3, 3], dst U [36, O, C]: U[xi, o, c] = (G w[o, c] G^T)[xi / 6, xi % 6];
//   with FLIP the weight of the input gradient (a conv with the kernel flipped and its in and out
//   channels swapped): U[xi, c, o] from w[o, c, 2 - ky, 2 - kx], i.e. O and C name the flipped
//   weight's output and input channels and src is [C, O, 3, 3].
// The weight gradient is the adjoint: dw[o, c] = G^T (sum over tiles t of Z[o, t] . V[c, t]) G
// with Z = A dy A^T, the sum 36 GEMMs S[xi] = Z[xi] V[xi]^T per chunk of images.
// grad_tiles: src dy [N, C, H, W] (here C, H, W name dy's channels and size), dst Z [36, C, PP]:
//   Z[xi, c, t] = (A d A^T)[xi / 6, xi % 6] for the 4x4 block d of tile t (zeros past the map).
// weight_grad: src S [36, O, C] (one chunk's sums), dst dw [O, C, 3, 3]: dw[o, c] = G^T S[o, c] G,
//   added to dw unless FIRST (the first chunk writes it).
override WG: u32 = 64u;
override FLIP: bool = false;
override FIRST: bool = true;

struct Params {
  n0: u32, C: u32, H: u32, W: u32,
  TW: u32, TT: u32, P: u32, PP: u32,
  O: u32, py: i32, px: i32, _p0: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

#include "winograd_f43.wgsl"

// Tile t of channel c: its index o in V-like [36, C, PP] outputs (row stride CP), the first row of
// its image-channel plane (base, in rows) and its patch origin; padding tiles (t >= P) are zeroed
// here and come back done.
struct Tile { o: u32, CP: u32, base: u32, y0: i32, x0: i32, done: bool }

fn tile_of(t: u32, c: u32) -> Tile {
  let CP = p.C * p.PP;
  let o = c * p.PP + t;
  if (t >= p.P) {
    for (var xi = 0u; xi < 36u; xi++) { dst[xi * CP + o] = 0.0; }
    return Tile(o, CP, 0u, 0, 0, true);
  }
  let n = p.n0 + t / p.TT;
  let r = t % p.TT;
  return Tile(o, CP, (n * p.C + c) * p.H, i32(r / p.TW) * 4 - p.py, i32(r % p.TW) * 4 - p.px, false);
}

// V[., c, t] = B^T d B for the patch d given by columns (d[j] = column j): the columns' transform,
// then each row's.
fn store_input_tile(d: array<array<f32, 6>, 6>, k: Tile) {
  var cols = d;
  for (var j = 0; j < 6; j++) { cols[j] = bt6(cols[j]); }
  for (var i = 0u; i < 6u; i++) {
    let row = bt6(array<f32, 6>(cols[0][i], cols[1][i], cols[2][i], cols[3][i], cols[4][i], cols[5][i]));
    for (var j = 0u; j < 6u; j++) { dst[(i * 6u + j) * k.CP + k.o] = row[j]; }
  }
}

@compute @workgroup_size(WG)
fn input_tiles(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x >= p.PP) { return; }
  let k = tile_of(id.x, id.y);
  if (k.done) { return; }
  var d: array<array<f32, 6>, 6>;
  for (var i = 0; i < 6; i++) {
    let iy = k.y0 + i;
    for (var j = 0; j < 6; j++) {
      let ix = k.x0 + j;
      var v = 0.0;
      if (u32(iy) < p.H && u32(ix) < p.W) { v = src[(k.base + u32(iy)) * p.W + u32(ix)]; }
      d[j][i] = v;
    }
  }
  store_input_tile(d, k);
}

// input_tiles with whole-vec4 row loads, where W % 4 == 0: a patch row's 6 columns lie in 3 aligned
// vec4s (12 columns from 4 * floor(x0 / 4)), R = x0 mod 4 (a constant: x0 = 4 tx - px) picks them.
// On lavapipe a lane's 16-byte load costs what a 4-byte one does: 18 loads per tile instead of 36.
override R: u32 = 3u;
@group(0) @binding(0) var<storage, read> src4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn input_tiles_rows(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x >= p.PP) { return; }
  let k = tile_of(id.x, id.y);
  if (k.done) { return; }
  let b0 = (k.x0 - i32(R)) / 4; // exact: x0 - R is a multiple of 4
  let W4 = p.W / 4u;
  var d: array<array<f32, 6>, 6>;
  for (var i = 0; i < 6; i++) {
    let iy = k.y0 + i;
    var f: array<vec4<f32>, 3>;
    for (var q = 0; q < 3; q++) {
      let bx = b0 + q;
      f[q] = vec4<f32>(0.0);
      if (u32(iy) < p.H && u32(bx) < W4) { f[q] = src4[(k.base + u32(iy)) * W4 + u32(bx)]; }
    }
    for (var j = 0u; j < 6u; j++) { d[j][i] = f[(R + j) / 4u][(R + j) % 4u]; }
  }
  store_input_tile(d, k);
}

@compute @workgroup_size(WG)
fn weight_tiles(@builtin(global_invocation_id) id: vec3<u32>) {
  let c = id.x;
  let o = id.y;
  if (c >= p.C) { return; }
  var g: array<array<f32, 3>, 3>; // g[kx] = column kx of the kernel
  for (var ky = 0u; ky < 3u; ky++) {
    for (var kx = 0u; kx < 3u; kx++) {
      if (FLIP) { g[kx][ky] = src[((c * p.O + o) * 3u + 2u - ky) * 3u + 2u - kx]; }
      else { g[kx][ky] = src[((o * p.C + c) * 3u + ky) * 3u + kx]; }
    }
  }
  // G g: three columns of 6, then each of its 6 rows times G^T
  let a = g3(g[0]);
  let b = g3(g[1]);
  let d = g3(g[2]);
  let OC = p.O * p.C;
  for (var i = 0u; i < 6u; i++) {
    let row = g3(array<f32, 3>(a[i], b[i], d[i]));
    for (var j = 0u; j < 6u; j++) { dst[(i * 6u + j) * OC + o * p.C + c] = row[j]; }
  }
}

@compute @workgroup_size(WG)
fn grad_tiles(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x >= p.PP) { return; }
  let k = tile_of(id.x, id.y); // the host passes no padding: (y0, x0) is the block's corner
  if (k.done) { return; }
  let y0 = u32(k.y0);
  let x0 = u32(k.x0);
  var cols: array<array<f32, 6>, 4>; // cols[j] = A times column j of d
  for (var j = 0u; j < 4u; j++) {
    var v: array<f32, 4>;
    for (var i = 0u; i < 4u; i++) {
      v[i] = 0.0;
      if (y0 + i < p.H && x0 + j < p.W) { v[i] = src[(k.base + y0 + i) * p.W + x0 + j]; }
    }
    cols[j] = a4(v);
  }
  for (var i = 0u; i < 6u; i++) {
    let row = a4(array<f32, 4>(cols[0][i], cols[1][i], cols[2][i], cols[3][i]));
    for (var j = 0u; j < 6u; j++) { dst[(i * 6u + j) * k.CP + k.o] = row[j]; }
  }
}

@compute @workgroup_size(WG)
fn weight_grad(@builtin(global_invocation_id) id: vec3<u32>) {
  let c = id.x;
  let o = id.y;
  if (c >= p.C) { return; }
  let OC = p.O * p.C;
  var cols: array<array<f32, 3>, 6>; // cols[j] = G^T times column j of S[o, c]
  for (var j = 0u; j < 6u; j++) {
    var v: array<f32, 6>;
    for (var i = 0u; i < 6u; i++) { v[i] = src[(i * 6u + j) * OC + o * p.C + c]; }
    cols[j] = gt6(v);
  }
  for (var ky = 0u; ky < 3u; ky++) {
    let row = gt6(array<f32, 6>(cols[0][ky], cols[1][ky], cols[2][ky], cols[3][ky], cols[4][ky], cols[5][ky]));
    for (var kx = 0u; kx < 3u; kx++) {
      let k = ((o * p.C + c) * 3u + ky) * 3u + kx;
      if (FIRST) { dst[k] = row[kx]; } else { dst[k] += row[kx]; }
    }
  }
}

/**
 * Winograd F(4x4, 3x3) convolution (Lavin & Gray 2016) of stride-1, undilated 3x3 convs on GPU
 * storage: each 4x4 block of output pixels (a tile) costs 36 multiplies per input and output
 * channel instead of 144. Three passes per chunk of images: the input tiles' transform
 * (shaders/winograd_transform.wgsl input_tiles, V [36, C, PP]), 36 GEMMs M[xi] = U[xi] V[xi]
 * (matmul, U [36, O, C] the weight's transform, made once), and the output transform
 * (shaders/winograd_output.wgsl); the weight gradient (winogradWgrad) is the adjoint, 36 GEMMs
 * reducing over the tiles. Images are chunked so V and M stay within `CHUNK_BYTES` each (8 MiB:
 * the CPU's caches keep a chunk's tiles between passes; on lavapipe 64 -> 64 channels at 32x32,
 * batch 512: 8 MiB 1.33x the direct kernel, 32 MiB 1.25x, 96 MiB 1.18x).
 * The price is rounding: the transforms' coefficients reach 8 (A^T) and 1/24 (G), squared in two
 * dimensions, so results carry about 2e-5 of the output's spread as error in float32 (the direct
 * kernels about 1e-6).
 */
import { i32, u32, type GpuStorage, type Param, type WebGpuBackend } from '../webgpu/backend.js';
import { hasSubgroups8, matmulBatchedGpu, matmulKernelFor, type MatmulKernel } from './matmul.js';

/** A stride-1 3x3 conv: x [N, C, H, W] -> out [N, O, Ho, Wo] with padding py, px. */
export interface WinogradGeo { N: number; C: number; H: number; W: number; O: number; Ho: number; Wo: number; py: number; px: number }

/** Bytes of V and of M per chunk: a chunk's transformed tiles stay in the CPU's caches between passes (measured on lavapipe). */
const CHUNK_BYTES = 8 * 2 ** 20;
/** The weight gradient's: each chunk's GEMMs write S [36, O, C] once, so longer chunks write it less (batch 512, 8 -> 32 MiB: 512 -> 512 at 4x4 320 -> 250 ms, 256 -> 256 at 8x8 274 -> 251). */
const WGRAD_CHUNK_BYTES = 32 * 2 ** 20;
let chunkBytes = CHUNK_BYTES, wgradChunkBytes = WGRAD_CHUNK_BYTES;
/** Overrides the chunk sizes in bytes (tests cross chunk boundaries with small inputs); null restores them. */
export function setWinogradChunkBytes(bytes: number | null): void {
  chunkBytes = bytes ?? CHUNK_BYTES;
  wgradChunkBytes = bytes ?? WGRAD_CHUNK_BYTES;
}
const XI = 36;
const WG = 64;
const round8 = (n: number) => Math.ceil(n / 8) * 8;

function tiles(g: WinogradGeo) {
  const TW = Math.ceil(g.Wo / 4);
  return { TW, TT: Math.ceil(g.Ho / 4) * TW };
}

/**
 * The GEMMs' kernel: the device's, but on lavapipe (8-wide subgroups) tiles that fit the shapes.
 * Forward and input gradient ([36, O, C] x [C, tiles]): 64 x 128 tiles, or 128 x 32 when a chunk
 * has under 128 tiles (4x4 maps at batch 32). Weight gradient ([36, O, tiles] x [tiles, C]): 64 x 64.
 * On lavapipe, GFLOP/s: [36,64,64] x [64,2048] 26.0 (64 x 64: 21.9, 128 x 32: 12.9); [36,512,512] x
 * [512,32] 35.9 (64 x 128: 10.6); the weight gradient of 64 -> 64 at 32x32, batch 32, 25.0 ms with
 * 64 x 64 tiles against 38-40 with 64 x 128 or 128 x 32.
 */
function gemmKernel(gpu: WebGpuBackend, shape: 'conv' | 'wgrad', columns: number): MatmulKernel {
  if (!(gpu.isCpuAdapter && hasSubgroups8(gpu))) return matmulKernelFor(gpu);
  if (shape === 'wgrad') return { kind: 'subgroup', tm: 16, tn: 4, wg: 64, sgn: 2 };
  return columns >= 128 ? { kind: 'subgroup', tm: 16, tn: 8, wg: 64, sgn: 2 } : { kind: 'subgroup', tm: 16, tn: 4, wg: 64, sgn: 1 };
}

/** Images per chunk (V and M, or V and Z, within `bytes` each), or 0 where one image's tiles exceed a storage binding. */
function imagesPerChunk(gpu: WebGpuBackend, g: WinogradGeo, bytes: number): number {
  const { TT } = tiles(g);
  const perTile = XI * Math.max(g.C, g.O) * 4;
  const limit = gpu.device.limits.maxStorageBufferBindingSize;
  if (round8(TT) * perTile > limit) return 0;
  return Math.max(1, Math.min(g.N, Math.floor(Math.min(bytes, limit) / (TT * perTile))));
}

/** winograd_transform.wgsl's params: the chunk (first image n0, P tiles padded to PP) over a map of `ch` channels, H x W. */
function transformParams(g: WinogradGeo, n0: number, ch: number, H: number, W: number, P: number, PP: number, py: number, px: number): Param[] {
  const { TW, TT } = tiles(g);
  return [u32(n0), u32(ch), u32(H), u32(W), u32(TW), u32(TT), u32(P), u32(PP), u32(g.O), i32(py), i32(px), u32(0)];
}

/** V [36, C, PP] of images n0.. (input_tiles, or input_tiles_rows with vec4 row loads where W % 4 == 0). */
function inputTiles(gpu: WebGpuBackend, x: GpuStorage, v: GpuStorage, g: WinogradGeo, n0: number, P: number, PP: number): void {
  const rows = g.W % 4 === 0;
  gpu.run({
    shader: 'winograd_transform', entry: rows ? 'input_tiles_rows' : 'input_tiles', constants: rows ? { R: (((-g.px) % 4) + 4) % 4 } : {},
    inputs: [x], outputs: [v], params: transformParams(g, n0, g.C, g.H, g.W, P, PP, g.py, g.px), workgroups: [Math.ceil(PP / WG), g.C, 1],
  });
}

/**
 * Whether winogradConv (or with 'wgrad' winogradWgrad) runs this conv on this device: grid and
 * binding limits, and for the weight gradient chunks of 128 tiles or more. Each chunk's GEMMs
 * write S [36, O, C] once per reduction over its tiles: 4x4 maps at batch 32 (32 tiles) made
 * 512 -> 512 0.71x the direct kernel, at batch 512 1.81x.
 */
export function winogradFits(gpu: WebGpuBackend, g: WinogradGeo, pass: 'conv' | 'wgrad'): boolean {
  if (g.N === 0 || g.C > 65535 || g.O > 65535) return false;
  const nc = imagesPerChunk(gpu, g, pass === 'conv' ? chunkBytes : wgradChunkBytes);
  return nc > 0 && (pass === 'conv' || nc * tiles(g).TT >= 128);
}

/**
 * out = conv(x, w) (+ bias) for a stride-1 3x3 conv, w [O, C, 3, 3]; with `flip` w is [C, O, 3, 3]
 * and the conv uses it flipped and transposed (the input gradient of a stride-1 conv).
 */
export function winogradConv(gpu: WebGpuBackend, x: GpuStorage, w: GpuStorage, bias: GpuStorage | null, out: GpuStorage,
  g: WinogradGeo, flip: boolean): void {
  const { N, C, O } = g;
  const { TW, TT } = tiles(g);
  const nc = imagesPerChunk(gpu, g, chunkBytes);
  const u = gpu.alloc(XI * O * C);
  gpu.run({
    shader: 'winograd_transform', entry: 'weight_tiles', constants: { FLIP: +flip },
    inputs: [w], outputs: [u], params: transformParams(g, 0, C, 0, 0, 0, 0, 0, 0), workgroups: [Math.ceil(C / WG), O, 1],
  });
  const PPmax = round8(nc * TT);
  const kernel = gemmKernel(gpu, 'conv', PPmax);
  const v = gpu.alloc(XI * C * PPmax), m = gpu.alloc(XI * O * PPmax);
  for (let n0 = 0; n0 < N; n0 += nc) {
    const P = Math.min(nc, N - n0) * TT, PP = round8(P);
    inputTiles(gpu, x, v, g, n0, P, PP);
    matmulBatchedGpu(gpu, u, v, m, XI, O, C, PP, kernel);
    gpu.run({
      shader: 'winograd_output', constants: { HAS_BIAS: +(bias !== null) },
      inputs: [m, bias ?? m], outputs: [out],
      params: [n0, O, g.Ho, g.Wo, TW, TT, P, PP].map(u32),
      workgroups: [Math.ceil(P / WG), O, 1],
    });
  }
  gpu.release(u);
  gpu.release(v);
  gpu.release(m);
}

/**
 * dw [O, C, 3, 3] of a stride-1 3x3 conv from x [N, C, H, W] and dy [N, O, Ho, Wo]: per chunk the
 * input tiles V, the gradient tiles Z = A dy A^T, 36 GEMMs S[xi] = Z[xi] V[xi]^T reducing over the
 * chunk's tiles, and dw (+)= G^T S G.
 */
export function winogradWgrad(gpu: WebGpuBackend, x: GpuStorage, dy: GpuStorage, out: GpuStorage, g: WinogradGeo): void {
  const { N, C, O } = g;
  const { TT } = tiles(g);
  const nc = imagesPerChunk(gpu, g, wgradChunkBytes);
  const PPmax = round8(nc * TT);
  const kernel = gemmKernel(gpu, 'wgrad', C);
  const v = gpu.alloc(XI * C * PPmax), z = gpu.alloc(XI * O * PPmax), s = gpu.alloc(XI * O * C);
  for (let n0 = 0; n0 < N; n0 += nc) {
    const P = Math.min(nc, N - n0) * TT, PP = round8(P);
    inputTiles(gpu, x, v, g, n0, P, PP);
    gpu.run({
      shader: 'winograd_transform', entry: 'grad_tiles',
      inputs: [dy], outputs: [z], params: transformParams(g, n0, O, g.Ho, g.Wo, P, PP, 0, 0), workgroups: [Math.ceil(PP / WG), O, 1],
    });
    matmulBatchedGpu(gpu, z, v, s, XI, O, PP, C, kernel, true);
    gpu.run({
      shader: 'winograd_transform', entry: 'weight_grad', constants: { FIRST: +(n0 === 0) },
      inputs: [s], outputs: [out], params: transformParams(g, 0, C, 0, 0, 0, 0, 0, 0), workgroups: [Math.ceil(C / WG), O, 1],
    });
  }
  gpu.release(v);
  gpu.release(z);
  gpu.release(s);
}

/**
 * 2-D convolution, NCHW, PyTorch semantics: any kernel size, stride, zero padding and dilation,
 * optional bias. Three primitive ops, each an implicit GEMM on WebGPU (no im2col buffer):
 *
 * - `conv2d` (x [N,C,H,W], w [O,C,KH,KW], bias [O]?) -> [N,O,Ho,Wo]: rows = output pixels,
 *   columns = output channels, reduction over (c, ky, kx).
 * - `conv2dBackwardInput` (g [N,O,Ho,Wo], w) -> dx [N,C,H,W], a transposed convolution: one GEMM
 *   per stride phase (input pixels with iy % sy = ry, ix % sx = rx), reducing over (o, ky, kx) for
 *   only the taps that reach that phase, so stride 2 multiplies no structural zeros. With at most 4
 *   input channels (the stem), whose columns would fill a fraction of even a narrow tile: Y = w^T g
 *   as a 1x1 GEMM into [N, C*KH*KW, Ho, Wo] columns, then a col2im gather (no atomics).
 * - `conv2dBackwardWeight` (x, g) -> dw [O,C,KH,KW]: rows = (c, ky, kx), columns = o, reduction over
 *   (n, oy, ox), split over workgroups plus a second summing pass when the reduction is long and the
 *   output small.
 *
 * Backward rules: conv2d -> [dgrad, wgrad, sum of g over N,H,W]; dgrad and wgrad are linear in each
 * input, and their gradients are again conv2d / dgrad / wgrad, so every primitive is gradient-checked.
 *
 * Kernels (shaders/conv_subgroup.wgsl, conv_tiled.wgsl, conv_direct.wgsl, conv_util.wgsl): on CPU
 * adapters with 8-wide subgroups (lavapipe) a barrier-free register-tiled kernel whose subgroups
 * share the gathered rows through subgroupBroadcast; elsewhere (real GPUs, and CPU adapters without
 * subgroups) a 64 x 64 workgroup-memory tiled kernel. On lavapipe, the forward pass and the
 * stride-1 input gradient (a convolution with the flipped, transposed weight) of images whose rows
 * are whole vec4s run as a direct convolution instead: each lane owns 4 or 8 pixels of a row and
 * reads its input row span as 16-byte vectors (1.3-2x the implicit GEMM there, most at 16
 * channels); so does the weight gradient of such convs with 2-4 taps per row
 * (conv_direct_wgrad.wgsl: 4- or 8-pixel groups of a row, 1.23-1.5x), and the input gradient of convs
 * with column stride 2 (conv_direct_dgrad.wgsl: one dispatch per row phase, a lane's 8 pixels hold
 * both column phases, whose taps are constants; width-0.25 ResNet-18's stride-2 shapes at batch 128:
 * 3x3 1.24-2.15x, 1x1 1.4-3x the per-phase GEMM). Stride-1 convs of maps 4 wide (ResNet's last
 * stage on 32x32 inputs, at most 4 kernel rows) run conv_direct_map.wgsl instead: a lane owns a
 * whole output map, so no span load is half padding (1.3-1.5x the row kernel there); their weight
 * gradient runs conv_direct_map_wgrad.wgsl (a lane owns an input channel and reduces over images,
 * whole maps per load: 1.5-1.7x the row kernel). Stride-1 undilated 3x3 convs with 64+ channels on
 * each side run as Winograd F(4x4, 3x3) on lavapipe instead (./winograd.ts: 36 multiplies per 4x4
 * tile and channel pair instead of 144, through transforms and 36 GEMMs; forward and input gradient
 * 1.2-2x the direct kernels, the weight gradient 1.8-2.9x where a chunk holds 128+ tiles). Kernel geometry is baked into
 * `override` constants. `setConvKernel` forces one GEMM kernel everywhere (tests and benchmarks
 * run every variant); `setConvDirect(false)` keeps the GEMM on the direct kernels' shapes,
 * `setConvWinograd(false)` the direct kernels on Winograd's.
 */
import { ArgumentError, DTypeError, DeviceError, ShapeError, fmtShape } from '../errors.js';
import { grid, i32, u32, type GpuStorage, type Param, type WebGpuBackend } from '../webgpu/backend.js';
import type { Tensor } from '../tensor.js';
import { defineOp, runOp, type OpDef, type TensorMeta } from './registry.js';
import { sum } from './reduce.js';
import { hasSubgroups8 } from './matmul.js';
import { winogradConv, winogradFits, winogradWgrad, type WinogradGeo } from './winograd.js';

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
}

interface ConvAttrs { readonly sy: number; readonly sx: number; readonly py: number; readonly px: number; readonly dy: number; readonly dx: number }
interface DgradAttrs extends ConvAttrs { readonly H: number; readonly W: number }
interface WgradAttrs extends ConvAttrs { readonly KH: number; readonly KW: number }

type SubgroupConvKernel = { kind: 'subgroup'; tm: number; tn: number; wg: number; sgn: number };

/** A WebGPU convolution kernel configuration. */
export type ConvKernel =
  /** conv_subgroup.wgsl: tm rows x (8 * tn) columns per 8-lane subgroup (tn 1, 2, 4 or 8; tm x tn <= 64 when tn < 4), wg invocations, sgn subgroups along the columns. */
  | { readonly kind: 'subgroup'; readonly tm: number; readonly tn: number; readonly wg: number; readonly sgn: number }
  /** conv_tiled.wgsl: 64 x 64 tiles through workgroup memory, 256 invocations. */
  | { readonly kind: 'tiled' };

/** Fastest measured on lavapipe (bench/conv.ts --variants). */
export const CPU_CONV_KERNEL: Readonly<SubgroupConvKernel> = { kind: 'subgroup', tm: 16, tn: 4, wg: 64, sgn: 1 };
export const GPU_CONV_KERNEL: ConvKernel = { kind: 'tiled' };

let forced: ConvKernel | null = null;

/** Forces a kernel for every WebGPU convolution (null restores the per-device choice). */
export function setConvKernel(k: ConvKernel | null): void { forced = k; }

/**
 * The kernel for a GEMM with `columns` output columns (output channels, or the weight gradient's
 * O) and `rows` rows: on lavapipe, 1 or 2 columns per lane when there are at most 8 or 16 columns
 * (the default tile is 32 columns wide, and its lanes would compute clamped duplicates), and as many
 * subgroups per workgroup as waste the fewest rows (the weight gradient's C*KH*KW rows: 144 at 16
 * channels would fill two 128-row tiles to 56 %); a forced kernel as given.
 */
export function convKernelFor(gpu: WebGpuBackend, columns = Infinity, rows = Infinity): ConvKernel {
  if (forced) return forced;
  if (!(gpu.isCpuAdapter && hasSubgroups8(gpu))) return GPU_CONV_KERNEL;
  const k = { ...CPU_CONV_KERNEL, tn: columns <= 8 ? 1 : columns <= 16 ? 2 : CPU_CONV_KERNEL.tn };
  if (rows < Infinity) {
    // S subgroups along the rows per workgroup: the largest S among those that waste the fewest rows
    let best = k.wg / 8, bestUsed = 0;
    for (let S = k.wg / 8; S >= 1; S--) {
      const used = rows / (Math.ceil(rows / (k.tm * S)) * k.tm * S);
      if (used > bestUsed + 1e-9) { best = S; bestUsed = used; }
    }
    k.wg = 8 * best;
  }
  return k.tn === CPU_CONV_KERNEL.tn && k.wg === CPU_CONV_KERNEL.wg ? CPU_CONV_KERNEL : k;
}

// ---- shapes ------------------------------------------------------------------------------------

function pair(op: string, name: string, v: number | [number, number] | undefined, dflt: number, min: number): [number, number] {
  const p: [number, number] = v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!Array.isArray(v) && typeof v !== 'number' && v !== undefined) throw new ArgumentError(op, `${name} must be a number or [number, number]`);
  if (p.length !== 2 || p.some((x) => !Number.isInteger(x) || x < min)) {
    throw new ArgumentError(op, `${name} must be ${min === 0 ? 'non-negative' : 'positive'} integers, got ${JSON.stringify(v)}`);
  }
  return p;
}

function convAttrs(op: string, opts: Conv2dOptions): ConvAttrs {
  const [sy, sx] = pair(op, 'stride', opts.stride, 1, 1);
  const [py, px] = pair(op, 'padding', opts.padding, 0, 0);
  const [dy, dx] = pair(op, 'dilation', opts.dilation, 1, 1);
  return { sy, sx, py, px, dy, dx };
}

const outSize = (n: number, k: number, s: number, p: number, d: number) => Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;

function attrText(a: ConvAttrs): string {
  return `stride [${a.sy},${a.sx}], padding [${a.py},${a.px}], dilation [${a.dy},${a.dx}]`;
}

interface Geo { N: number; C: number; H: number; W: number; O: number; KH: number; KW: number; Ho: number; Wo: number }

function requireRank4(op: string, what: string, s: readonly number[]): void {
  if (s.length !== 4) throw new ShapeError(op, `expected ${what} of rank 4, got ${fmtShape(s)}`);
}

/** Output size of a conv of x [N,C,H,W] with w [O,C,KH,KW]; throws naming op and shapes. */
function forwardGeo(op: string, xs: readonly number[], ws: readonly number[], a: ConvAttrs): Geo {
  requireRank4(op, 'input [N,C,H,W]', xs);
  requireRank4(op, 'weight [O,C,KH,KW]', ws);
  const [N, C, H, W] = xs;
  const [O, C2, KH, KW] = ws;
  if (C !== C2) throw new ShapeError(op, `input channels differ: input ${fmtShape(xs)} has ${C}, weight ${fmtShape(ws)} has ${C2}`);
  const Ho = outSize(H, KH, a.sy, a.py, a.dy), Wo = outSize(W, KW, a.sx, a.px, a.dx);
  if (Ho <= 0 || Wo <= 0) {
    throw new ShapeError(op, `output size ${Ho}x${Wo} <= 0 for input ${fmtShape(xs)} and weight ${fmtShape(ws)} with ${attrText(a)}`);
  }
  return { N, C, H, W, O, KH, KW, Ho, Wo };
}

function f32Inputs(op: string, ...ts: TensorMeta[]): void {
  for (const t of ts) {
    if (t.dtype !== 'f32') throw new DTypeError(op, `expected f32 inputs, got ${ts.map((u) => `${u.dtype} ${fmtShape(u.shape)}`).join(', ')}`, t.dtype);
  }
}

function dgradGeo(gs: readonly number[], ws: readonly number[], a: DgradAttrs): Geo {
  const op = 'conv2dBackwardInput';
  requireRank4(op, 'output gradient [N,O,Ho,Wo]', gs);
  requireRank4(op, 'weight [O,C,KH,KW]', ws);
  const [N, O] = gs;
  const geo = forwardGeo(op, [N, ws[1], a.H, a.W], ws, a);
  if (O !== ws[0] || gs[2] !== geo.Ho || gs[3] !== geo.Wo) {
    throw new ShapeError(op, `output gradient ${fmtShape(gs)} does not fit weight ${fmtShape(ws)} and input size [${a.H},${a.W}] (expected [${N},${ws[0]},${geo.Ho},${geo.Wo}]) with ${attrText(a)}`);
  }
  return geo;
}

function wgradGeo(xs: readonly number[], gs: readonly number[], a: WgradAttrs): Geo {
  const op = 'conv2dBackwardWeight';
  requireRank4(op, 'input [N,C,H,W]', xs);
  requireRank4(op, 'output gradient [N,O,Ho,Wo]', gs);
  const geo = forwardGeo(op, xs, [gs[1], xs[1], a.KH, a.KW], a);
  if (gs[0] !== xs[0] || gs[2] !== geo.Ho || gs[3] !== geo.Wo) {
    throw new ShapeError(op, `output gradient ${fmtShape(gs)} does not fit input ${fmtShape(xs)} and kernel [${a.KH},${a.KW}] (expected [${xs[0]},${gs[1]},${geo.Ho},${geo.Wo}]) with ${attrText(a)}`);
  }
  return geo;
}

// ---- CPU references (float64) -----------------------------------------------------------------

/** Calls f(xIndex, wIndex, outIndex) for every valid (n, o, oy, ox, c, ky, kx) term. */
function forEachTerm(g: Geo, a: ConvAttrs, f: (xi: number, wi: number, oi: number) => void): void {
  const { N, C, H, W, O, KH, KW, Ho, Wo } = g;
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      for (let oy = 0; oy < Ho; oy++) {
        for (let ox = 0; ox < Wo; ox++) {
          const oi = ((n * O + o) * Ho + oy) * Wo + ox;
          for (let c = 0; c < C; c++) {
            for (let ky = 0; ky < KH; ky++) {
              const iy = oy * a.sy - a.py + ky * a.dy;
              if (iy < 0 || iy >= H) continue;
              for (let kx = 0; kx < KW; kx++) {
                const ix = ox * a.sx - a.px + kx * a.dx;
                if (ix < 0 || ix >= W) continue;
                f(((n * C + c) * H + iy) * W + ix, ((o * C + c) * KH + ky) * KW + kx, oi);
              }
            }
          }
        }
      }
    }
  }
}

// ---- WebGPU ------------------------------------------------------------------------------------

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const round4 = (n: number) => Math.ceil(n / 4) * 4;

const UTIL_FIELDS = ['n', 'rows', 'ld', 'T', 'NCOL', 'S', 'C', 'H', 'W', 'KH', 'KW', 'Ho', 'Wo', 'sy', 'sx', 'py', 'px', 'dy', 'dx', '_p0'] as const;
/** The params block of conv_util.wgsl (absent fields 0). */
function utilParams(v: Partial<Record<(typeof UTIL_FIELDS)[number], number>>): Param[] {
  return UTIL_FIELDS.map((k) => u32(v[k] ?? 0));
}

/** Input-gradient strategy: 'phase' (implicit GEMM per stride phase), 'col2im' (a 1x1 GEMM into columns, then col2im), 'auto'. */
export type DgradPath = 'auto' | 'phase' | 'col2im';
let dgradPath: DgradPath = 'auto';
/** Forces the input-gradient strategy (tests run both). */
export function setConvDgradPath(p: DgradPath): void { dgradPath = p; }

/**
 * With a handful of input channels the implicit GEMM's columns (C) fill a fraction of even the
 * narrow 8-column lavapipe tile (the stem: 3); then Y = w^T g ([C*KH*KW] columns, a 1x1 conv) and
 * a col2im gather are faster. From 8 channels on the phase GEMM with a narrow tile wins (measured
 * 4x at 8 channels, 6x at 16, on lavapipe).
 */
const useCol2im = (C: number) => dgradPath === 'col2im' || (dgradPath === 'auto' && C <= 4);

/** col2im's scratch Y [N, C*KH*KW, Ho, Wo] must fit one storage binding; else the per-phase GEMM. */
const col2imFits = (gpu: WebGpuBackend, g: Geo) =>
  g.N * g.C * g.KH * g.KW * g.Ho * g.Wo * 4 <= gpu.device.limits.maxStorageBufferBindingSize;

/** The weight [O, C, T] as a GEMM operand [rows, ld] with columns padded to a multiple of 4. */
function packWeight(gpu: WebGpuBackend, w: GpuStorage, rows: number, ld: number, T: number, NCOL: number): GpuStorage {
  const n = rows * ld;
  const dst = gpu.alloc(n);
  gpu.run({
    shader: 'conv_util', entry: 'pack', inputs: [w], outputs: [dst],
    params: utilParams({ n, rows, ld, T, NCOL }),
    workgroups: grid(Math.ceil(n / 256)),
  });
  return dst;
}

interface Gemm {
  mode: 0 | 1 | 2;
  M: number; K: number; NC: number; NC4: number; LY: number; LX: number; colStride: number;
  split: number; splits: number;
  checkY: boolean; checkX: boolean; vecB: boolean;
  phase?: { ry: number; rx: number; Hq: number; Wq: number; nky: number; nkx: number; ky0: number; kx0: number; sty: number; stx: number; offy0: number; offx0: number; dOffy: number; dOffx: number };
}

function gemm(gpu: WebGpuBackend, kernel: ConvKernel, geo: Geo, a: ConvAttrs, d: Gemm, asrc: GpuStorage, bsrc: GpuStorage, bias: GpuStorage | null, out: GpuStorage): void {
  if (d.M === 0 || d.NC === 0) return;
  const ph = d.phase ?? { ry: 0, rx: 0, Hq: 0, Wq: 0, nky: 0, nkx: 0, ky0: 0, kx0: 0, sty: 0, stx: 0, offy0: 0, offx0: 0, dOffy: 0, dOffx: 0 };
  const params: Param[] = [
    u32(d.M), u32(d.K), u32(d.NC), u32(d.NC4), u32(d.LY), u32(d.LX), u32(d.colStride), u32(d.split),
    u32(geo.C), u32(geo.H), u32(geo.W), u32(geo.O), u32(geo.Ho), u32(geo.Wo), u32(0), u32(0),
    u32(ph.ry), u32(ph.rx), u32(ph.Hq), u32(ph.Wq), u32(ph.nky), u32(ph.nkx), u32(ph.ky0), u32(ph.kx0),
    u32(ph.sty), u32(ph.stx), i32(ph.offy0), i32(ph.offx0), i32(ph.dOffy), i32(ph.dOffx), u32(0), u32(0),
  ];
  const constants: Record<string, number> = {
    MODE: d.mode, KH: geo.KH, KW: geo.KW, SY: a.sy, SX: a.sx, PY: a.py, PX: a.px, DY: a.dy, DX: a.dx,
    CHECK_Y: +d.checkY, CHECK_X: +d.checkX, VEC_B: +d.vecB, HAS_BIAS: +(bias !== null),
  };
  let gx: number, gy: number;
  if (kernel.kind === 'tiled') {
    gx = Math.ceil(d.NC / 64); gy = Math.ceil(d.M / 64);
    gpu.run({ shader: 'conv_tiled', constants, inputs: [asrc, bsrc, bias ?? bsrc], outputs: [out], params, workgroups: [gx, gy, d.splits] });
  } else {
    if (!hasSubgroups8(gpu)) throw new DeviceError('conv2d', 'the subgroup kernel needs the subgroups feature with 8-wide subgroups');
    Object.assign(constants, { TM: kernel.tm, TN: kernel.tn, WG: kernel.wg, SGN: kernel.sgn });
    gx = Math.ceil(d.NC / (kernel.tn * 8 * kernel.sgn));
    gy = Math.ceil(d.M / (kernel.tm * (kernel.wg / 8 / kernel.sgn)));
    gpu.run({ shader: 'conv_subgroup', constants, inputs: [asrc, bsrc, bias ?? bsrc], outputs: [out], params, workgroups: [gx, gy, d.splits] });
  }
}

/** Rows per workgroup tile and columns per tile of a kernel (for the split heuristic). */
function tileOf(k: ConvKernel): [number, number] {
  return k.kind === 'tiled' ? [64, 64] : [k.tm * (k.wg / 8 / k.sgn), k.tn * 8 * k.sgn];
}

/** conv_direct.wgsl's tiling: output channels per subgroup, output pixels per lane, invocations. */
interface DirectTile { readonly tm: number; readonly tp: number; readonly wg: number }
/**
 * Tried in order, the first that fits the shape wins. Measured on lavapipe (batch 128, width-0.25
 * ResNet-18 shapes): 8 pixels per lane 40-48 GFLOP/s at stride 1, 4 pixels 34-41 (and the only
 * one at stride 2, whose 8-pixel span needs 5 vec4s, or at 4-pixel rows of wider maps); 32 channels per subgroup
 * spills (5-11). With at most 8 output channels a subgroup takes 8, not 16 with half of them
 * clamped duplicates (8 -> 8 channels at 32x32: forward 21 -> 27, input gradient 21 -> 30 GFLOP/s).
 */
const DIRECT_TILES: readonly DirectTile[] = [{ tm: 16, tp: 8, wg: 64 }, { tm: 16, tp: 4, wg: 64 }];
let directOn = true;
/** Turns the direct kernel off (tests of the implicit GEMM on its shapes, A/B benchmarks) or back on. */
export function setConvDirect(on: boolean): void { directOn = on; }

interface DirectPlan { tile: DirectTile; cg: number; off: number; nv: number; map: boolean }

/** Whether this device runs the direct kernels (conv_direct*.wgsl) on the shapes that fit them (unless turned off or a GEMM kernel is forced). */
export const hasConvDirect = (gpu: WebGpuBackend): boolean => gpu.isCpuAdapter && hasSubgroups8(gpu);

/**
 * Whether conv_direct.wgsl runs a conv of x [N,C,H,W] -> [N,O,Ho,Wo] with these attributes on this
 * device, and its constants: only on CPU adapters with 8-wide subgroups (where a lane's 16-byte
 * row loads beat the implicit GEMM's scalar gathers; GPUs keep the workgroup-tiled GEMM), for rows
 * of whole vec4s, a lane's pixels in one row, at most 4 taps per row and a span of at most 4 vec4s.
 */
function directPlan(gpu: WebGpuBackend, geo: Geo, a: ConvAttrs): DirectPlan | null {
  if (!directFits(gpu, geo, a)) return null;
  // maps 4 wide: a whole output map per lane (conv_direct_map.wgsl), one channel per k step; its
  // workgroup holds 32 or 64 images (a batch of 32 would leave half of 64 lanes idle)
  if (mapFits(gpu, geo, a)) {
    return { tile: { tm: 8, tp: 16, wg: geo.N <= 32 ? 32 : 64 }, cg: 1, off: 0, nv: 1, map: true };
  }
  for (const t of DIRECT_TILES) {
    const tile = geo.O <= 8 ? { ...t, tm: 8 } : t;
    if (geo.Wo % tile.tp !== 0) continue;
    const span = spanOf(a, geo.KW, tile.tp);
    if (!span || Math.ceil((geo.N * geo.Ho * geo.Wo) / (tile.tp * tile.wg)) > 65535) continue;
    return { tile, cg: Math.max(1, Math.min(Math.floor(4 / geo.KW), geo.C)), ...span, map: false };
  }
  return null;
}

/** What both direct kernels need: this device, the direct path on, rows of whole vec4s, at most 4 taps per row. */
function directFits(gpu: WebGpuBackend, geo: Geo, a: ConvAttrs): boolean {
  return !forced && directOn && hasConvDirect(gpu) && geo.W % 4 === 0 && geo.KW <= 4 && a.px >= 0 && a.py >= 0;
}

/** lib/conv_span.wgsl's OFF and NV for the taps of `pixels` consecutive output pixels, or null past 4 vec4s. */
function spanOf(a: ConvAttrs, KW: number, pixels: number): { off: number; nv: number } | null {
  const off = (4 - (a.px % 4)) % 4;
  const nv = Math.floor((off + (pixels - 1) * a.sx + (KW - 1) * a.dx) / 4) + 1;
  return nv > 4 ? null : { off, nv };
}

/**
 * The weight as the direct kernels read it (conv_util.wgsl pack_direct): [rows, KS, 4] for `rows`
 * output channels and KS = ceil(cin / cg) * KH steps; T 0 as is, 1 flipped and transposed (the
 * stride-1 input gradient), 2 transposed (the strided one).
 */
function packDirect(gpu: WebGpuBackend, w: GpuStorage, rows: number, KS: number, T: 0 | 1 | 2, cg: number, cin: number, KH: number, KW: number): GpuStorage {
  const n = rows * KS * 4;
  const wp = gpu.alloc(n);
  gpu.run({
    shader: 'conv_util', entry: 'pack_direct', inputs: [w], outputs: [wp],
    params: utilParams({ n, rows, ld: KS, T, NCOL: cg, C: cin, KH, KW }),
    workgroups: grid(Math.ceil(n / 256)),
  });
  return wp;
}

/** out = conv(x, w') by conv_direct.wgsl; `transposed`: w' is the weight [C', O', KH, KW] flipped and transposed. */
function directConv(gpu: WebGpuBackend, plan: DirectPlan, x: GpuStorage, w: GpuStorage, b: GpuStorage | null, out: GpuStorage, geo: Geo, a: ConvAttrs, transposed: boolean): void {
  const { N, C, H, W, O, KH, KW, Ho, Wo } = geo;
  const { tile, cg, off, nv } = plan;
  // conv_direct.wgsl takes two k steps per iteration when a step holds one channel (an odd count
  // gets a step of zero weights); two steps of 4 channels (1x1 convs) outgrow the registers
  const perIteration = cg === 1 ? 2 : 1;
  const steps = Math.ceil(C / cg) * KH;
  const KS = plan.map ? steps : Math.ceil(steps / perIteration) * perIteration;
  const wp = packDirect(gpu, w, O, KS, transposed ? 1 : 0, cg, C, KH, KW);
  if (plan.map) {
    gpu.run({
      shader: 'conv_direct_map',
      constants: { KH, KW, PY: a.py, PX: a.px, DY: a.dy, DX: a.dx, H, HO: Ho, WG: tile.wg, HAS_BIAS: +(b !== null) },
      inputs: [x, wp, b ?? wp], outputs: [out],
      params: [N, C, O, KS].map(u32),
      workgroups: [Math.ceil(N / tile.wg), Math.ceil(O / 8), 1],
    });
    gpu.release(wp);
    return;
  }
  gpu.run({
    shader: 'conv_direct',
    constants: {
      KH, KW, SY: a.sy, SX: a.sx, PY: a.py, PX: a.px, DY: a.dy, DX: a.dx, CG: cg, OFF: off, NV: nv,
      TM: tile.tm, TP: tile.tp, WG: tile.wg, HAS_BIAS: +(b !== null), STEPS: perIteration,
    },
    inputs: [x, wp, b ?? wp], outputs: [out],
    params: [N, C, H, W, O, Ho, Wo, KS].map(u32),
    workgroups: [Math.ceil((N * Ho * Wo) / (tile.tp * tile.wg)), Math.ceil(O / tile.tm), 1],
  });
  gpu.release(wp);
}

let winogradOn = true;
/** Turns the Winograd path off (tests of the direct kernels on its shapes, A/B benchmarks) or back on. */
export function setConvWinograd(on: boolean): void { winogradOn = on; }

/**
 * The Winograd geometry of a conv, or null where the direct or GEMM kernels run it: stride-1
 * undilated 3x3 convs on lavapipe with at least 64 channels on each side. Below that the GEMMs'
 * reduction (C) is too short to pay for the transforms: on lavapipe, against the direct kernels,
 * batch 32: 64 -> 64 at 32x32 1.21x, 128 -> 128 at 16x16 1.50x, 256 -> 256 at 8x8 1.95x, 512 ->
 * 512 at 4x4 1.88x; batch 512: 64 -> 64 at 8x8 1.01x, 32 -> 32 at 16x16 0.60x, 16 -> 16 at 32x32 0.30x.
 */
function winogradPlan(gpu: WebGpuBackend, geo: Geo, a: ConvAttrs, pass: 'conv' | 'wgrad' = 'conv'): WinogradGeo | null {
  if (!winogradOn || forced || !hasConvDirect(gpu)) return null;
  if (geo.KH !== 3 || geo.KW !== 3 || a.sy !== 1 || a.sx !== 1 || a.dy !== 1 || a.dx !== 1) return null;
  if (geo.C < 64 || geo.O < 64) return null;
  const g: WinogradGeo = { N: geo.N, C: geo.C, H: geo.H, W: geo.W, O: geo.O, Ho: geo.Ho, Wo: geo.Wo, py: a.py, px: a.px };
  return winogradFits(gpu, g, pass) ? g : null;
}

function forwardGpu(gpu: WebGpuBackend, x: GpuStorage, w: GpuStorage, b: GpuStorage | null, out: GpuStorage, geo: Geo, a: ConvAttrs): void {
  const wino = winogradPlan(gpu, geo, a);
  if (wino) { winogradConv(gpu, x, w, b, out, wino, false); return; }
  const plan = directPlan(gpu, geo, a);
  if (plan) { directConv(gpu, plan, x, w, b, out, geo, a, false); return; }
  const { N, C, O, KH, KW, H, W, Ho, Wo } = geo;
  const K = C * KH * KW, O4 = round4(O);
  const wT = packWeight(gpu, w, K, O4, K, O);
  gemm(gpu, convKernelFor(gpu, O), geo, a, {
    mode: 0, M: N * Ho * Wo, K, NC: O, NC4: O4, LY: H, LX: W, colStride: Ho * Wo, split: K, splits: 1,
    // Without padding every tap lands inside the image (floor output size).
    checkY: a.py > 0, checkX: a.px > 0, vecB: false,
  }, x, wT, b, out);
  gpu.release(wT);
}

/** Taps k in [0, KK) with (r + p - k*d) divisible by s: first, step, count, offsets. */
function phaseTaps(r: number, p: number, d: number, s: number, KK: number) {
  const step = s / gcd(s, d);
  let k0 = 0;
  while (k0 < Math.min(KK, step) && ((r + p - k0 * d) % s + s) % s !== 0) k0++;
  const n = k0 < Math.min(KK, step) ? Math.ceil((KK - k0) / step) : 0;
  const off0 = n > 0 ? (r + p - k0 * d) / s : 0;
  return { k0, step, n, off0, dOff: (step * d) / s };
}

function dgradCol2im(gpu: WebGpuBackend, g: GpuStorage, w: GpuStorage, out: GpuStorage, geo: Geo, a: ConvAttrs): void {
  const { N, C, O, KH, KW, H, W, Ho, Wo } = geo;
  const CK = C * KH * KW, CK4 = round4(CK);
  // Y [N, CK, Ho, Wo] = the forward GEMM of a 1x1 conv of g with the weight as [CK, O, 1, 1].
  const wR = packWeight(gpu, w, O, CK4, 1, CK);
  const y = gpu.alloc(N * CK * Ho * Wo);
  const one: ConvAttrs = { sy: 1, sx: 1, py: 0, px: 0, dy: 1, dx: 1 };
  const g1: Geo = { N, C: O, H: Ho, W: Wo, O: CK, KH: 1, KW: 1, Ho, Wo };
  gemm(gpu, convKernelFor(gpu, CK), g1, one, {
    mode: 0, M: N * Ho * Wo, K: O, NC: CK, NC4: CK4, LY: Ho, LX: Wo, colStride: Ho * Wo, split: O, splits: 1,
    checkY: false, checkX: false, vecB: false,
  }, g, wR, null, y);
  gpu.release(wR);
  const n = N * C * H * W;
  gpu.run({
    shader: 'conv_util', entry: 'col2im', inputs: [y], outputs: [out],
    params: utilParams({ n, C, H, W, KH, KW, Ho, Wo, sy: a.sy, sx: a.sx, py: a.py, px: a.px, dy: a.dy, dx: a.dx }),
    workgroups: grid(Math.ceil(n / 256)),
  });
  gpu.release(y);
}

/** conv_direct_dgrad.wgsl's tiling: dx channels per subgroup, g channels per step, span start and length. */
interface DgradPlan { tm: number; cg: number; off: number; nv: number }
const WG_DIRECT = 64;

/**
 * conv_direct_dgrad.wgsl's constants for the input gradient of a column-stride-2 conv, or null where
 * it does not run: the direct kernels' device and switch, 8-pixel groups of dx rows (W % 8 == 0),
 * g rows of whole vec4s, a g span of at most 4 vec4s.
 */
function directDgradPlan(gpu: WebGpuBackend, geo: Geo, a: ConvAttrs): DgradPlan | null {
  if (a.sx !== 2 || !directFits(gpu, geo, a) || geo.W % 8 !== 0 || geo.Wo % 4 !== 0) return null;
  // pixel j of a lane's 8 (from ix0) takes g column ix0/2 + (j + px - kx*dx)/2 where that divides
  const lo = Math.floor((a.px - (geo.KW - 1) * a.dx) / 2), hi = Math.floor((7 + a.px) / 2);
  const off = Math.max(0, Math.ceil(-lo / 4) * 4);
  const nv = Math.floor((hi + off) / 4) + 1;
  if (nv > 4 || Math.ceil((geo.N * Math.ceil(geo.H / a.sy) * geo.W) / (8 * WG_DIRECT)) > 65535) return null;
  return { tm: geo.C <= 8 ? 8 : 16, cg: Math.max(1, Math.min(Math.floor(4 / geo.KW), geo.O)), off, nv };
}

/** dx by conv_direct_dgrad.wgsl: the weight packed once, then one dispatch per row phase. */
function directDgrad(gpu: WebGpuBackend, plan: DgradPlan, g: GpuStorage, w: GpuStorage, out: GpuStorage, geo: Geo, a: ConvAttrs): void {
  const { N, C, O, KH, KW, H, W, Ho, Wo } = geo;
  const { tm, cg, off, nv } = plan;
  const KS = Math.ceil(O / cg) * KH;
  const wp = packDirect(gpu, w, C, KS, 2, cg, O, KH, KW);
  for (let ry = 0; ry < a.sy; ry++) {
    const Hq = Math.ceil((H - ry) / a.sy);
    if (Hq <= 0) continue;
    const ty = phaseTaps(ry, a.py, a.dy, a.sy, KH);
    gpu.run({
      shader: 'conv_direct_dgrad',
      constants: {
        KH, KW, SY: a.sy, SX: a.sx, PY: a.py, PX: a.px, DY: a.dy, DX: a.dx, CG: cg, OFF: off, NV: nv, TM: tm, WG: WG_DIRECT,
        NKY: ty.n, KY0: ty.k0, STY: ty.step, OFFY0: ty.off0, DOFFY: ty.dOff,
      },
      inputs: [g, wp], outputs: [out],
      params: [N, O, Ho, Wo, C, H, W, KS, Hq, ry, 0, 0].map(u32),
      workgroups: [Math.ceil((N * Hq * W) / (8 * WG_DIRECT)), Math.ceil(C / tm), 1],
    });
  }
  gpu.release(wp);
}

function dgradGpu(gpu: WebGpuBackend, g: GpuStorage, w: GpuStorage, out: GpuStorage, geo: Geo, a: ConvAttrs): void {
  const { N, C, O, KH, KW, H, W, Ho, Wo } = geo;
  if (useCol2im(C) && col2imFits(gpu, geo)) { dgradCol2im(gpu, g, w, out, geo, a); return; }
  // stride 1: dx = conv(g, w flipped and transposed) with padding d*(k-1) - p, the same geometry
  if (a.sy === 1 && a.sx === 1) {
    const t: ConvAttrs = { sy: 1, sx: 1, py: a.dy * (KH - 1) - a.py, px: a.dx * (KW - 1) - a.px, dy: a.dy, dx: a.dx };
    const tg: Geo = { N, C: O, H: Ho, W: Wo, O: C, KH, KW, Ho: H, Wo: W };
    const wino = winogradPlan(gpu, tg, t);
    if (wino) { winogradConv(gpu, g, w, null, out, wino, true); return; }
    const plan = directPlan(gpu, tg, t);
    if (plan) { directConv(gpu, plan, g, w, null, out, tg, t, true); return; }
  }
  const strided = directDgradPlan(gpu, geo, a);
  if (strided) { directDgrad(gpu, strided, g, w, out, geo, a); return; }
  const C4 = round4(C);
  const wD = packWeight(gpu, w, O * KH * KW, C4, KH * KW, C);
  const kernel = convKernelFor(gpu, C);
  for (let ry = 0; ry < a.sy; ry++) {
    for (let rx = 0; rx < a.sx; rx++) {
      const Hq = Math.ceil((H - ry) / a.sy), Wq = Math.ceil((W - rx) / a.sx);
      if (Hq <= 0 || Wq <= 0) continue;
      const ty = phaseTaps(ry, a.py, a.dy, a.sy, KH), tx = phaseTaps(rx, a.px, a.dx, a.sx, KW);
      const K = O * ty.n * tx.n;
      // oy = qy + off with off in [off0 - (n-1)*dOff, off0]: checks only where it can leave [0, Ho).
      const inside = (t: typeof ty, q: number, lim: number) => t.n === 0 || (t.off0 - (t.n - 1) * t.dOff >= 0 && q - 1 + t.off0 < lim);
      gemm(gpu, kernel, geo, a, {
        mode: 1, M: N * Hq * Wq, K, NC: C, NC4: C4, LY: Ho, LX: Wo, colStride: H * W, split: K, splits: 1,
        checkY: !inside(ty, Hq, Ho), checkX: !inside(tx, Wq, Wo), vecB: false,
        phase: { ry, rx, Hq, Wq, nky: ty.n, nkx: tx.n, ky0: ty.k0, kx0: tx.k0, sty: ty.step, stx: tx.step, offy0: ty.off0, offx0: tx.off0, dOffy: ty.dOff, dOffx: tx.dOff },
      }, g, wD, null, out);
    }
  }
  gpu.release(wD);
}

/** Reduction length per split of the weight gradient, so that `tiles` x splits fill the device. */
function wgradSplit(gpu: WebGpuBackend, tiles: number, K: number, multiple: number): number {
  const target = gpu.isCpuAdapter ? 32 : 512;
  const minK = gpu.isCpuAdapter ? 1024 : 256;
  const S = Math.max(1, Math.min(Math.ceil(target / tiles), Math.floor(K / minK), 65535));
  return Math.ceil(K / S / multiple) * multiple;
}

/**
 * conv_direct_wgrad.wgsl's constants for the weight gradient of a conv of x [N,C,H,W] ->
 * [N,O,Ho,Wo] on this device, or null: as conv_direct.wgsl (lavapipe, rows of whole vec4s, a span
 * of at most 4 vec4s), with the 4- or 8-pixel groups of the reduction in one row and 2-4 taps per row (a
 * 1x1 conv gives each lane 8 rows of products per load: the GEMM measured 2.4x faster there).
 */
function directWgradPlan(gpu: WebGpuBackend, geo: Geo, a: ConvAttrs): { tn: number; g: number; off: number; nv: number; gx: number; gy: number } | null {
  if (!directFits(gpu, geo, a) || geo.Wo % 4 !== 0 || geo.KW === 1) return null;
  const tn = geo.O <= 8 ? 1 : geo.O <= 16 ? 2 : 4;
  // groups of 8 pixels halve the accumulator writes per product: 10-25 % faster at 8-16 output
  // channels; with 4 channels per lane the kernel no longer fits its registers (8 GFLOP/s)
  const g8 = tn <= 2 && geo.Wo % 8 === 0 ? spanOf(a, geo.KW, 8) : null;
  const g = g8 ? 8 : 4;
  const span = g8 ?? spanOf(a, geo.KW, 4);
  if (!span) return null;
  const gx = Math.ceil(geo.O / (8 * tn)), gy = Math.ceil((geo.C * geo.KH) / 8);
  return gx > 65535 || gy > 65535 ? null : { tn, g, ...span, gx, gy };
}

/** Whether a conv's maps are 4 wide, so conv_direct_map.wgsl and conv_direct_map_wgrad.wgsl run it. */
function mapFits(gpu: WebGpuBackend, geo: Geo, a: ConvAttrs): boolean {
  return directFits(gpu, geo, a) && geo.W === 4 && geo.Wo === 4 && geo.H <= 4 && geo.Ho <= 4 && geo.KH <= 4 && a.sy === 1 && a.sx === 1;
}

/** The weight gradient over 4-wide maps (conv_direct_map_wgrad.wgsl): images split so that tiles x splits fill the device. */
function mapWgrad(gpu: WebGpuBackend, x: GpuStorage, g: GpuStorage, out: GpuStorage, geo: Geo, a: ConvAttrs): void {
  const { N, C, O, KH, KW, H, Ho } = geo;
  const tiles = Math.ceil(O / 8) * Math.ceil(C / 8);
  const splits = Math.max(1, Math.min(Math.ceil(32 / tiles), Math.floor(N / 8), 65535));
  // an empty batch still runs one split, which writes the zeros
  const split = Math.max(1, Math.ceil(N / splits));
  const S = Math.max(1, Math.ceil(N / split));
  const n = O * C * KH * KW;
  const dst = S === 1 ? out : gpu.alloc(S * n);
  gpu.run({
    shader: 'conv_direct_map_wgrad',
    constants: { KH, KW, PY: a.py, PX: a.px, DY: a.dy, DX: a.dx, H, HO: Ho },
    inputs: [x, g], outputs: [dst],
    params: [N, C, O, split].map(u32),
    workgroups: [Math.ceil(O / 8), Math.ceil(C / 8), S],
  });
  sumSplits(gpu, dst, out, n, S);
}

/** out = the sum of dst's S partial weight gradients of n values each (conv_util.wgsl sum_split); releases dst. */
function sumSplits(gpu: WebGpuBackend, dst: GpuStorage, out: GpuStorage, n: number, S: number): void {
  if (S === 1) return;
  gpu.run({
    shader: 'conv_util', entry: 'sum_split', inputs: [dst], outputs: [out],
    params: utilParams({ n, S }),
    workgroups: grid(Math.ceil(n / 256)),
  });
  gpu.release(dst);
}

function wgradGpu(gpu: WebGpuBackend, x: GpuStorage, g: GpuStorage, out: GpuStorage, geo: Geo, a: ConvAttrs): void {
  const { N, C, O, KH, KW, H, W, Ho, Wo } = geo;
  const wino = winogradPlan(gpu, geo, a, 'wgrad');
  if (wino) { winogradWgrad(gpu, x, g, out, wino); return; }
  if (mapFits(gpu, geo, a) && Math.ceil(O / 8) <= 65535 && Math.ceil(C / 8) <= 65535) { mapWgrad(gpu, x, g, out, geo, a); return; }
  const M = C * KH * KW, K = N * Ho * Wo;
  const direct = directWgradPlan(gpu, geo, a);
  const kernel = convKernelFor(gpu, O, M);
  const [tm, tn] = tileOf(kernel);
  const split = K === 0 ? 4 : wgradSplit(gpu, direct ? direct.gx * direct.gy : Math.ceil(M / tm) * Math.ceil(O / tn), K, direct?.g ?? 4);
  const splits = Math.max(1, Math.ceil(K / split));
  const n = M * O;
  const dst = splits === 1 ? out : gpu.alloc(splits * n);
  if (direct) {
    gpu.run({
      shader: 'conv_direct_wgrad',
      constants: { KH, KW, SY: a.sy, SX: a.sx, PY: a.py, PX: a.px, DY: a.dy, DX: a.dx, OFF: direct.off, NV: direct.nv, TN: direct.tn, G: direct.g },
      inputs: [x, g], outputs: [dst],
      params: [N, C, H, W, O, Ho, Wo, split].map(u32),
      workgroups: [direct.gx, direct.gy, splits],
    });
  } else {
    gemm(gpu, kernel, geo, a, {
      mode: 2, M, K, NC: O, NC4: O, LY: H, LX: W, colStride: M, split, splits,
      checkY: a.py > 0, checkX: a.px > 0, vecB: (Ho * Wo) % 4 === 0,
    }, x, g, null, dst);
  }
  sumSplits(gpu, dst, out, n, splits);
}

// ---- ops ---------------------------------------------------------------------------------------

export const Conv2dOp: OpDef<ConvAttrs> = defineOp<ConvAttrs>({
  name: 'conv2d',
  shape(inputs, a) {
    const [x, w, b] = inputs;
    f32Inputs('conv2d', ...inputs);
    const g = forwardGeo('conv2d', x.shape, w.shape, a);
    if (b && (b.shape.length !== 1 || b.shape[0] !== g.O)) {
      throw new ShapeError('conv2d', `bias ${fmtShape(b.shape)} does not fit weight ${fmtShape(w.shape)} (expected [${g.O}])`);
    }
    return { shape: [g.N, g.O, g.Ho, g.Wo], dtype: 'f32' };
  },
  cpu(_b, [x, w, b], a) {
    const geo = forwardGeo('conv2d', x.shape, w.shape, a);
    const out = new Float64Array(geo.N * geo.O * geo.Ho * geo.Wo);
    if (b) {
      const P = geo.Ho * geo.Wo;
      for (let i = 0; i < out.length; i++) out[i] = b.data[Math.floor(i / P) % geo.O];
    }
    forEachTerm(geo, a, (xi, wi, oi) => { out[oi] += x.data[xi] * w.data[wi]; });
    return out;
  },
  webgpu(gpu, [x, w, b], a, meta) {
    const geo = forwardGeo('conv2d', x.shape, w.shape, a);
    const out = gpu.alloc(meta.shape.reduce((p, d) => p * d, 1));
    forwardGpu(gpu, x.storage, w.storage, b ? b.storage : null, out, geo, a);
    return out;
  },
  backward(g, ctx): (Tensor | null)[] {
    const [x, w] = ctx.inputs as Tensor[];
    const a = ctx.attrs;
    const [, , H, W] = ctx.inputShapes[0];
    const [, , KH, KW] = ctx.inputShapes[1];
    return [
      ctx.needs[0] ? runOp(Conv2dBackwardInputOp, [g, w], { ...a, H, W }) : null,
      ctx.needs[1] ? runOp(Conv2dBackwardWeightOp, [x, g], { ...a, KH, KW }) : null,
      ctx.needs[2] ? sum(g, [0, 2, 3]) : null,
    ];
  },
  saves: { inputs: [0, 1] },
});

export const Conv2dBackwardInputOp: OpDef<DgradAttrs> = defineOp<DgradAttrs>({
  name: 'conv2dBackwardInput',
  shape([g, w], a) {
    f32Inputs('conv2dBackwardInput', g, w);
    const geo = dgradGeo(g.shape, w.shape, a);
    return { shape: [geo.N, geo.C, geo.H, geo.W], dtype: 'f32' };
  },
  cpu(_b, [g, w], a) {
    const geo = dgradGeo(g.shape, w.shape, a);
    const out = new Float64Array(geo.N * geo.C * geo.H * geo.W);
    forEachTerm(geo, a, (xi, wi, oi) => { out[xi] += g.data[oi] * w.data[wi]; });
    return out;
  },
  webgpu(gpu, [g, w], a, meta) {
    const geo = dgradGeo(g.shape, w.shape, a);
    const out = gpu.alloc(meta.shape.reduce((p, d) => p * d, 1));
    dgradGpu(gpu, g.storage, w.storage, out, geo, a);
    return out;
  },
  backward(u, ctx): (Tensor | null)[] {
    // dx = dgrad(g, w) is linear in each: d g = conv2d(u, w), d w = wgrad(u, g).
    const [g, w] = ctx.inputs as Tensor[];
    const { H: _h, W: _w, ...a } = ctx.attrs;
    const [, , KH, KW] = ctx.inputShapes[1];
    return [
      ctx.needs[0] ? runOp(Conv2dOp, [u, w], a) : null,
      ctx.needs[1] ? runOp(Conv2dBackwardWeightOp, [u, g], { ...a, KH, KW }) : null,
    ];
  },
  saves: { inputs: true },
});

export const Conv2dBackwardWeightOp: OpDef<WgradAttrs> = defineOp<WgradAttrs>({
  name: 'conv2dBackwardWeight',
  shape([x, g], a) {
    f32Inputs('conv2dBackwardWeight', x, g);
    const geo = wgradGeo(x.shape, g.shape, a);
    return { shape: [geo.O, geo.C, geo.KH, geo.KW], dtype: 'f32' };
  },
  cpu(_b, [x, g], a) {
    const geo = wgradGeo(x.shape, g.shape, a);
    const out = new Float64Array(geo.O * geo.C * geo.KH * geo.KW);
    forEachTerm(geo, a, (xi, wi, oi) => { out[wi] += x.data[xi] * g.data[oi]; });
    return out;
  },
  webgpu(gpu, [x, g], a, meta) {
    const geo = wgradGeo(x.shape, g.shape, a);
    const out = gpu.alloc(meta.shape.reduce((p, d) => p * d, 1));
    wgradGpu(gpu, x.storage, g.storage, out, geo, a);
    return out;
  },
  backward(v, ctx): (Tensor | null)[] {
    // dw = wgrad(x, g) is linear in each: d x = dgrad(g, v), d g = conv2d(x, v).
    const [x, g] = ctx.inputs as Tensor[];
    const { KH: _kh, KW: _kw, ...a } = ctx.attrs;
    const [, , H, W] = ctx.inputShapes[0];
    return [
      ctx.needs[0] ? runOp(Conv2dBackwardInputOp, [g, v], { ...a, H, W }) : null,
      ctx.needs[1] ? runOp(Conv2dOp, [x, v], a) : null,
    ];
  },
  saves: { inputs: true },
});

/**
 * 2-D convolution of x [N,C,H,W] with w [O,C,KH,KW] (+ bias [O]) -> [N,O,Ho,Wo]; zero padding,
 * Ho = floor((H + 2*padding - dilation*(KH-1) - 1) / stride) + 1 (PyTorch semantics).
 */
export function conv2d(x: Tensor, w: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  const a = convAttrs('conv2d', opts);
  return runOp(Conv2dOp, bias ? [x, w, bias] : [x, w], a);
}

/** The gradient of conv2d with respect to its input: g [N,O,Ho,Wo], w [O,C,KH,KW] -> [N,C,H,W]. */
export function conv2dBackwardInput(g: Tensor, w: Tensor, inputSize: [number, number], opts: Conv2dOptions = {}): Tensor {
  const a = convAttrs('conv2dBackwardInput', opts);
  return runOp(Conv2dBackwardInputOp, [g, w], { ...a, H: inputSize[0], W: inputSize[1] });
}

/** The gradient of conv2d with respect to its weight: x [N,C,H,W], g [N,O,Ho,Wo] -> [O,C,KH,KW]. */
export function conv2dBackwardWeight(x: Tensor, g: Tensor, kernelSize: [number, number], opts: Conv2dOptions = {}): Tensor {
  const a = convAttrs('conv2dBackwardWeight', opts);
  return runOp(Conv2dBackwardWeightOp, [x, g], { ...a, KH: kernelSize[0], KW: kernelSize[1] });
}

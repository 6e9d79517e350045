/**
 * conv2d beyond the shared op cases: every kernel variant (not only the one this device selects, so
 * the real-GPU tiled kernel runs here too) for the forward, input-gradient and weight-gradient ops
 * against the CPU reference: the stem's 7x7 stride 2, 1x1 stride 2, an asymmetric kernel with
 * asymmetric stride, padding and dilation, C = O = 130 (several ragged tiles of every variant in
 * every GEMM dimension), and a split weight-gradient reduction. The CPU reference itself (forward
 * and both gradients share one loop) against PyTorch (test/fixtures/conv.safetensors). The
 * per-device choice; lavapipe's direct convolution on the shapes it takes; the argument and shape
 * errors.
 *
 * Lavapipe compiles one pipeline per distinct set of override constants (cold: about a second
 * each), so the table is chosen to share them: the fixtures use the table's first three shapes,
 * the split case shares all but its weight-gradient pipeline with the ragged one.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { CpuBackend } from '../engine/cpu/backend.js';
import { Random } from '../engine/random.js';
import { backward } from '../engine/autograd.js';
import { ArgumentError, ShapeError } from '../engine/errors.js';
import { hasSubgroups8 } from '../engine/ops/matmul.js';
import { maxPool2d } from '../engine/ops/pool.js';
import {
  CPU_CONV_KERNEL, conv2d, conv2dBackwardInput, conv2dBackwardWeight, convKernelFor, hasConvDirect, setConvDgradPath, setConvDirect, setConvKernel, setConvWinograd, type Conv2dOptions, type ConvKernel, type DgradPath,
} from '../engine/ops/conv.js';
import { profile } from '../engine/profile.js';
import { setWinogradChunkBytes } from '../engine/ops/winograd.js';
import { decodeSafetensors } from '../nn/safetensors.js';
import type { Backend } from '../engine/backend.js';
import type { Tensor } from '../engine/tensor.js';
import { expectClose, expectTensorClose, gpu, makeValues, tensorOn } from './helpers.js';

// The kernel lavapipe uses, a multi-subgroup tiling (other index paths), and the real-GPU kernel.
// The slower tilings that bench --conv-variants measures are not repeated here.
const VARIANTS: ConvKernel[] = [
  CPU_CONV_KERNEL,
  { kind: 'subgroup', tm: 8, tn: 8, wg: 128, sgn: 2 },
  { kind: 'tiled' },
];
const name = (k: ConvKernel) => JSON.stringify(k);

interface Shape { readonly name: string; readonly x: number[]; readonly w: number[]; readonly o: Conv2dOptions }
const SHAPES: Shape[] = [
  { name: 'stem', x: [2, 3, 11, 11], w: [4, 3, 7, 7], o: { stride: 2, padding: 3 } },
  { name: 'down', x: [2, 4, 9, 9], w: [6, 4, 1, 1], o: { stride: 2 } }, // phases without taps; odd Ho*Wo (scalar loads)
  { name: 'asym', x: [2, 3, 11, 12], w: [4, 3, 3, 2], o: { stride: [3, 2], padding: [2, 0], dilation: [2, 3] } },
  { name: 'ragged tiles', x: [2, 130, 10, 10], w: [130, 130, 3, 3], o: { padding: 1 } },
  { name: 'split reduction', x: [8, 3, 24, 24], w: [4, 3, 3, 3], o: { padding: 1 } }, // weight gradient over 4 workgroup splits
];
const RAGGED = SHAPES[3], SPLIT = SHAPES[4];

afterEach(() => { setConvKernel(null); setConvDgradPath('auto'); setConvDirect(true); setConvWinograd(true); setWinogradChunkBytes(null); });

const outHW = (n: number, k: number, s: number, p: number, d: number) => Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;
const two = (v: number | [number, number] | undefined, d: number): [number, number] => (v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : v);

function outShape({ x, w, o }: Shape): number[] {
  const [sy, sx] = two(o.stride, 1), [py, px] = two(o.padding, 0), [dy, dx] = two(o.dilation, 1);
  return [x[0], w[0], outHW(x[2], w[2], sy, py, dy), outHW(x[3], w[3], sx, px, dx)];
}

async function runAll(b: Backend, s: Shape, vals: number[][]) {
  const [H, W] = s.x.slice(2), [KH, KW] = s.w.slice(2);
  const x = tensorOn(b, vals[0], s.x), w = tensorOn(b, vals[1], s.w), bias = tensorOn(b, vals[2], [s.w[0]]), g = tensorOn(b, vals[3], outShape(s));
  const outs: Tensor[] = [conv2d(x, w, bias, s.o), conv2dBackwardInput(g, w, [H, W], s.o), conv2dBackwardWeight(x, g, [KH, KW], s.o)];
  const data = await Promise.all(outs.map(async (t) => Float64Array.from(await t.data())));
  const shapes = outs.map((t) => t.shape);
  [x, w, bias, g, ...outs].forEach((t) => t.dispose());
  return { data, shapes };
}

// Inputs and CPU results per shape, computed once for all variants.
const rng = new Random(3);
const inputs = SHAPES.map((s) => [s.x, s.w, [s.w[0]], outShape(s)].map((shape) => makeValues({ shape }, rng)));
const refs = new Map<Shape, ReturnType<typeof runAll>>();
const reference = (s: Shape, i: number) => {
  if (!refs.has(s)) refs.set(s, runAll(new CpuBackend(), s, inputs[i]));
  return refs.get(s)!;
};

async function checkShapes(k: ConvKernel | null, path: DgradPath) {
  const g = await gpu();
  for (const [i, s] of SHAPES.entries()) {
    const ref = await reference(s, i);
    setConvKernel(k);
    setConvDgradPath(path);
    const got = await runAll(g, s, inputs[i]);
    setConvKernel(null);
    setConvDgradPath('auto');
    const K = Math.max(s.x[1] * s.w[2] * s.w[3], s.x[0] * s.x[2] * s.x[3], s.w[0] * s.w[2] * s.w[3]);
    ['forward', 'input gradient', 'weight gradient'].forEach((what, j) => {
      const label = `${s.name}: ${what} x${JSON.stringify(s.x)} w${JSON.stringify(s.w)} ${JSON.stringify(s.o)}`;
      expect(got.shapes[j], label).toEqual(ref.shapes[j]);
      try { expectClose(got.data[j], ref.data[j], { atol: 1e-5 * Math.sqrt(K), rtol: 1e-4 }); }
      catch (e) { throw new Error(`${label}: ${(e as Error).message}`); }
    });
  }
}

/** Rows and columns of C one workgroup computes (engine/ops/conv.ts tileOf). */
const tileOf = (k: ConvKernel): [number, number] => (k.kind === 'tiled' ? [64, 64] : [k.tm * (k.wg / 8 / k.sgn), k.tn * 8 * k.sgn]);

describe('conv kernel variants match the CPU reference (forward, input gradient, weight gradient)', () => {
  // The input gradient through the per-phase implicit GEMM (the col2im path is a forward GEMM).
  for (const k of VARIANTS) {
    it(`${name(k)}`, async (ctx) => {
      const g = await gpu();
      ctx.skip(k.kind === 'subgroup' && !hasSubgroups8(g), `${g.label} has no 8-wide subgroups, so it cannot run the subgroup kernel`);
      await checkShapes(k, 'phase');
    });
  }
  it('input gradient through col2im (the per-device kernel)', async () => { await checkShapes(null, 'col2im'); });
  it('input gradient through col2im (workgroup-tiled kernel)', async () => { await checkShapes({ kind: 'tiled' }, 'col2im'); });

  it('the table reaches what it claims: several partial tiles of every variant in every GEMM; a split weight gradient', async () => {
    const [N, C, H, W] = RAGGED.x, [O, , KH, KW] = RAGGED.w;
    const [, , Ho, Wo] = outShape(RAGGED);
    // [rows, columns] of the forward, input-gradient (stride 1: one phase) and weight-gradient GEMMs
    const gemms: [number, number][] = [[N * Ho * Wo, O], [N * H * W, C], [C * KH * KW, O]];
    for (const k of VARIANTS) {
      const [tm, tn] = tileOf(k);
      for (const [M, NC] of gemms) {
        const at = `${name(k)} ${M}x${NC}`;
        expect(M / tm, at).toBeGreaterThan(1);
        expect(NC / tn, at).toBeGreaterThan(1);
        expect([M % tm, NC % tn].every((r) => r > 0), at).toBe(true);
      }
    }
    // The split weight gradient is one GEMM dispatch plus the pass that sums the splits (for the
    // variants this device runs; the others' own tests above report their skip).
    const g = await gpu();
    const i = SHAPES.indexOf(SPLIT);
    const [x, gy] = [tensorOn(g, inputs[i][0], SPLIT.x), tensorOn(g, inputs[i][3], outShape(SPLIT))];
    for (const k of VARIANTS.filter((v) => v.kind === 'tiled' || hasSubgroups8(g))) {
      setConvKernel(k);
      const before = g.dispatchCount;
      conv2dBackwardWeight(x, gy, [3, 3], SPLIT.o).dispose();
      expect(g.dispatchCount - before, name(k)).toBe(2);
    }
    [x, gy].forEach((t) => t.dispose());
  });
});

// The direct kernels' shapes (rows of whole vec4s): 8 and 4 pixels per lane, ragged output
// channels and a partial last workgroup, 1x1 with 4 input channels per step (C ragged), stride 2,
// dilation, a 2x3 kernel with asymmetric padding, 4-pixel rows, padding wider than the kernel, a
// weight gradient split over workgroups, weight gradients in 8-pixel groups (dilation 2, the 2x3
// kernel, the split one, O=13). The weight gradient of each runs conv_direct_wgrad.wgsl
// (but 1x1's: the GEMM is faster there).
// `dgrad`: its stride-1 input gradient runs the same kernel with the flipped, transposed weight
// (from 5 input channels: with at most 4 the input gradient goes through col2im).
const DIRECT: (Shape & { dgrad: boolean; strided?: true; map?: true; wgrad?: false; split?: boolean })[] = [
  { name: '8 pixels per lane, O=20', x: [2, 5, 8, 16], w: [20, 5, 3, 3], o: { padding: 1 }, dgrad: true },
  { name: '1x1, 4 channels per step', x: [3, 6, 12, 12], w: [9, 6, 1, 1], o: {}, dgrad: true, wgrad: false },
  { name: 'stride 2', x: [2, 4, 16, 16], w: [8, 4, 3, 3], o: { stride: 2, padding: 1 }, dgrad: false },
  { name: 'dilation 2', x: [1, 5, 8, 8], w: [4, 5, 3, 3], o: { padding: 2, dilation: 2 }, dgrad: true },
  { name: '2x3 kernel, padding [0,1]', x: [2, 6, 6, 8], w: [4, 6, 2, 3], o: { padding: [0, 1] }, dgrad: true },
  { name: '4-pixel rows', x: [2, 5, 6, 12], w: [3, 5, 3, 3], o: { padding: 1 }, dgrad: true },
  { name: 'padding 5', x: [1, 2, 4, 4], w: [2, 2, 3, 3], o: { padding: 5 }, dgrad: false },
  { name: 'weight gradient in 2 splits, one mid-image', x: [5, 3, 20, 24], w: [6, 3, 3, 3], o: { padding: 1 }, dgrad: false, split: true },
  // the weight gradient's 8-pixel groups with 2 channels per lane (13 of 16 live)
  { name: 'weight gradient, 8-pixel groups, O=13', x: [3, 7, 8, 16], w: [13, 7, 3, 3], o: { padding: 1 }, dgrad: true },
  // the strided input gradient (conv_direct_dgrad.wgsl): 12 of 16 channels live, 20 g channels
  { name: 'stride 2 input gradient, C=12', x: [2, 12, 16, 16], w: [20, 12, 3, 3], o: { stride: 2, padding: 1 }, dgrad: false, strided: true },
  // odd rows and columns take no tap (zeros); 9 g channels in steps of 4 (the last one ragged)
  { name: 'stride 2 input gradient, 1x1', x: [3, 6, 8, 8], w: [9, 6, 1, 1], o: { stride: 2 }, dgrad: false, strided: true, wgrad: false },
  // three row phases of 4, 3 and 3 rows
  { name: 'stride [3,2] input gradient', x: [1, 6, 10, 8], w: [5, 6, 3, 3], o: { stride: [3, 2], padding: 1 }, dgrad: false, strided: true },
  // row taps 3 dilated rows apart: phases of taps {0, 2, 4} and {1, 3}, g rows 3 apart
  { name: 'stride 2 input gradient, 5x2 kernel, dilation [3,2], padding [6,1]', x: [2, 8, 16, 16], w: [4, 8, 5, 2], o: { stride: 2, padding: [6, 1], dilation: [3, 2] }, dgrad: false, strided: true },
  // maps 4 wide (conv_direct_map.wgsl, forward and stride-1 input gradient; conv_direct_map_wgrad.wgsl,
  // the weight gradient): 9 images (a partial subgroup), 10 and 12 channels (partial 8-channel
  // blocks), bias
  { name: '4x4 maps', x: [9, 12, 4, 4], w: [10, 12, 3, 3], o: { padding: 1 }, dgrad: true, map: true },
  // 3 output rows from 4, columns through dilated taps; its input gradient maps 3 rows to 4
  { name: '4-wide maps, 2x3 kernel, padding [0,2], dilation [1,2]', x: [3, 6, 4, 4], w: [5, 6, 2, 3], o: { padding: [0, 2], dilation: [1, 2] }, dgrad: true, map: true },
  { name: '2x4 maps', x: [4, 6, 2, 4], w: [5, 6, 3, 3], o: { padding: 1 }, dgrad: true, map: true },
  // the map weight gradient over 24 images in 3 splits of 8 (then summed)
  { name: '4x4 maps, weight gradient in 3 splits', x: [24, 6, 4, 4], w: [5, 6, 3, 3], o: { padding: 1 }, dgrad: true, map: true, split: true },
  // 5 kernel rows: more than the map kernels unroll, so the row kernels run it
  { name: '4x4 maps, 5x3 kernel', x: [2, 5, 4, 4], w: [4, 5, 5, 3], o: { padding: [2, 1] }, dgrad: true },
];

describe('the direct convolutions (lavapipe: forward, stride-1 and stride-2 input gradients, weight gradient, 4-wide maps) match the CPU reference', () => {
  const drng = new Random(5);
  for (const s of DIRECT) {
    it(`${s.name}: x${JSON.stringify(s.x)} w${JSON.stringify(s.w)} ${JSON.stringify(s.o)}`, async (ctx) => {
      const g = await gpu();
      ctx.skip(!hasConvDirect(g), `${g.label} runs no direct convolution (a CPU adapter with 8-wide subgroups only)`);
      const vals = [s.x, s.w, [s.w[0]], outShape(s)].map((shape) => makeValues({ shape }, drng));
      const ref = await runAll(new CpuBackend(), s, vals);
      const { result: got, report } = await profile(() => runAll(g, s, vals), { backend: g });
      const ran = report.kernels.map((k) => k.key);
      const direct = s.map ? 'conv_direct_map' : 'conv_direct';
      expect(ran, 'forward').toContain(`conv2d > ${direct}`);
      expect(ran.includes(`conv2dBackwardInput > ${direct}`), 'input gradient').toBe(s.dgrad);
      expect(ran.includes('conv2dBackwardInput > conv_direct_dgrad'), 'strided input gradient').toBe(s.strided === true);
      expect(ran.includes('conv2dBackwardWeight > conv_direct_wgrad'), 'weight gradient').toBe(s.wgrad !== false && !s.map);
      expect(ran.includes('conv2dBackwardWeight > conv_direct_map_wgrad'), 'weight gradient over 4-wide maps').toBe(s.map === true);
      expect(ran.includes('conv2dBackwardWeight > conv_util'), 'weight gradient split (and summed)').toBe(s.split === true);
      const [, , Ho, Wo] = outShape(s);
      const K = Math.max(s.x[1] * s.w[2] * s.w[3], s.w[0] * s.w[2] * s.w[3], s.x[0] * Ho * Wo);
      for (const [j, what] of ['forward', 'input gradient', 'weight gradient'].entries()) {
        expect(got.shapes[j], what).toEqual(ref.shapes[j]);
        try { expectClose(got.data[j], ref.data[j], { atol: 1e-5 * Math.sqrt(K), rtol: 1e-4 }); }
        catch (e) { throw new Error(`${s.name}: ${what}: ${(e as Error).message}`); }
      }
    });
  }
  it('an empty batch: the weight gradient is zeros (4-wide maps and rows)', async (ctx) => {
    const g = await gpu();
    ctx.skip(!hasConvDirect(g), `${g.label} runs no direct convolution (a CPU adapter with 8-wide subgroups only)`);
    for (const hw of [4, 8]) {
      const dw = conv2dBackwardWeight(tensorOn(g, [], [0, 6, hw, hw]), tensorOn(g, [], [0, 5, hw, hw]), [3, 3], { padding: 1 });
      expect(dw.shape).toEqual([5, 6, 3, 3]);
      expect(Array.from(await dw.data()), `${hw}x${hw}`).toEqual(new Array(5 * 6 * 9).fill(0));
      dw.dispose();
    }
  });
  it('setConvDirect(false) keeps the implicit GEMM on its shapes', async () => {
    const g = await gpu();
    const s = DIRECT[0];
    setConvDirect(false);
    const vals = [s.x, s.w, [s.w[0]], outShape(s)].map((shape) => makeValues({ shape }, drng));
    const { report } = await profile(() => runAll(g, s, vals), { backend: g });
    expect(report.kernels.map((k) => k.key).filter((k) => k.includes('conv_direct'))).toEqual([]);
  });
});

// Winograd F(4x4, 3x3): tiles past the map's edge (7x10, 9x6 maps), padding 0 / 1 / 2, bias, more
// output than input channels and back, and chunks of 1-2 images (the chunk size overridden so
// that small inputs cross chunk boundaries; the last chunk smaller, its tile count padded). The
// weight gradient takes chunks of 128+ tiles: 132 tiles (padded to 136, the reduction over them),
// and chunks of 4 images (144 tiles) and 1. Maps whose width is a multiple of 4 load whole vec4s.
interface WinogradCase { name: string; x: number[]; w: number[]; pad: number; chunk?: number; wgrad?: boolean }
const WINOGRAD: WinogradCase[] = [
  { name: 'ragged tiles', x: [2, 64, 7, 10], w: [64, 64, 3, 3], pad: 1 },
  { name: 'no padding, O > C', x: [1, 64, 9, 6], w: [72, 64, 3, 3], pad: 0 },
  { name: 'padding 2, C > O', x: [1, 80, 6, 5], w: [64, 80, 3, 3], pad: 2 },
  { name: 'chunks of one image', x: [3, 64, 4, 4], w: [64, 64, 3, 3], pad: 1, chunk: 36 * 64 * 4 },
  { name: 'chunks of two images, the last of one', x: [5, 64, 6, 6], w: [64, 64, 3, 3], pad: 1, chunk: 36 * 64 * 4 * 4 * 2 },
  // maps of 4k columns take input_tiles_rows (vec4 row loads; R = the patch's column offset mod 4)
  { name: 'vec4 rows, no padding (R 0)', x: [2, 64, 5, 12], w: [64, 64, 3, 3], pad: 0 },
  { name: 'vec4 rows, padding 2 (R 2)', x: [1, 64, 6, 8], w: [64, 64, 3, 3], pad: 2 },
  { name: 'vec4 rows in the input gradient only (8 output columns, its padding 2)', x: [1, 64, 6, 10], w: [64, 64, 3, 3], pad: 0 },
  { name: 'weight gradient over 132 tiles', x: [1, 64, 48, 42], w: [64, 64, 3, 3], pad: 1, wgrad: true },
  { name: 'weight gradient in chunks of 4 images and 1', x: [5, 64, 16, 36], w: [64, 64, 3, 3], pad: 1, chunk: 36 * 64 * 144 * 4, wgrad: true },
];

describe('Winograd F(4x4, 3x3) convolution (lavapipe: forward, input and weight gradients of stride-1 3x3 convs, 64+ channels) matches the CPU reference', () => {
  const wrng = new Random(9);
  for (const c of WINOGRAD) {
    it(`${c.name}: x${JSON.stringify(c.x)} w${JSON.stringify(c.w)} padding ${c.pad}`, async (ctx) => {
      const g = await gpu();
      ctx.skip(!hasConvDirect(g), `${g.label} runs no Winograd convolution (a CPU adapter with 8-wide subgroups only)`);
      const s: Shape = { name: c.name, x: c.x, w: c.w, o: { padding: c.pad } };
      const vals = [s.x, s.w, [s.w[0]], outShape(s)].map((shape) => makeValues({ shape }, wrng));
      const ref = await runAll(new CpuBackend(), s, vals);
      setWinogradChunkBytes(c.chunk ?? null);
      const { result: got, report } = await profile(() => runAll(g, s, vals), { backend: g });
      const ran = report.kernels.map((k) => k.key);
      expect(ran, 'forward').toContain('conv2d > winograd_output');
      expect(ran, 'input gradient').toContain('conv2dBackwardInput > winograd_output');
      expect(ran.includes('conv2dBackwardWeight > winograd_transform'), 'weight gradient').toBe(c.wgrad === true);
      const chunks = c.chunk ? Math.ceil(c.x[0] / Math.floor(c.chunk / (36 * Math.max(c.x[1], c.w[0]) * Math.ceil(outShape(s)[2] / 4) * Math.ceil(outShape(s)[3] / 4) * 4))) : 1;
      expect(report.kernels.find((k) => k.key === 'conv2d > winograd_output')?.dispatches, 'chunks').toBe(chunks);
      // per weight-gradient chunk: input tiles, gradient tiles, dw (+)= G^T S G
      if (c.wgrad) expect(report.kernels.find((k) => k.key === 'conv2dBackwardWeight > winograd_transform')?.dispatches, 'weight-gradient chunks').toBe(3 * chunks);
      // the transforms' coefficients reach 8 (A^T) and 1/24 (G), squared in two dimensions: rounding
      // about 2e-5 of the output's spread, against about 1e-6 for the direct kernels
      const K = Math.max(c.x[1] * 9, c.x[0] * c.x[2] * c.x[3]);
      for (const [j, what] of ['forward', 'input gradient', 'weight gradient'].entries()) {
        expect(got.shapes[j], what).toEqual(ref.shapes[j]);
        try { expectClose(got.data[j], ref.data[j], { atol: 1e-5 * Math.sqrt(K), rtol: 1e-4 }); }
        catch (e) { throw new Error(`${s.name}: ${what}: ${(e as Error).message}`); }
      }
    });
  }
  it('setConvWinograd(false) keeps the direct kernels on its shapes', async () => {
    const g = await gpu();
    const s: Shape = { name: 'off', x: WINOGRAD[0].x, w: WINOGRAD[0].w, o: { padding: 1 } };
    setConvWinograd(false);
    const vals = [s.x, s.w, [s.w[0]], outShape(s)].map((shape) => makeValues({ shape }, wrng));
    const { report } = await profile(() => runAll(g, s, vals), { backend: g });
    expect(report.kernels.map((k) => k.key).filter((k) => k.includes('winograd'))).toEqual([]);
  });
});

describe('conv2d matches PyTorch (test/fixtures/conv.safetensors: forward, input and weight gradients)', () => {
  const bytes = readFileSync(new URL('./fixtures/conv.safetensors', import.meta.url));
  // a plain Uint8Array view: decodeSafetensors copies tensors with slice(), which on a Buffer does not copy
  const fixture = decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));

  async function compare(b: Backend, s: Shape, rtol: number, atol: number) {
    const get = (k: string) => fixture.get(`${s.name}.${k}`)!;
    const [x, w, bias] = ['x', 'w', 'b'].map((k) => {
      const t = tensorOn(b, get(k).data, get(k).shape);
      t.requiresGrad = true;
      return t;
    });
    const y = conv2d(x, w, bias, s.o);
    const out = s.name === 'stem' ? maxPool2d(y, { kernel: 3, stride: 2, padding: 1 }) : y;
    const g = tensorOn(b, get('g').data, get('g').shape);
    backward(out, { grad: g });
    const pairs: [string, Tensor][] = [['y', y], ['out', out], ['dx', x.grad!], ['dw', w.grad!], ['db', bias.grad!]];
    for (const [k, t] of pairs) {
      expect(t.shape, `${s.name}.${k}`).toEqual(get(k).shape);
      expectTensorClose(`${s.name}.${k} on ${b.label}`, await t.data(), get(k).data, rtol, atol);
    }
    new Set([x, w, bias, y, out, g]).forEach((t) => t.dispose());
  }

  for (const s of SHAPES.filter((t) => ['stem', 'down', 'asym'].includes(t.name))) {
    it(`${s.name}: x${JSON.stringify(s.x)} w${JSON.stringify(s.w)} ${JSON.stringify(s.o)}${s.name === 'stem' ? ', then max-pool 3x3/2 p1' : ''}`, async () => {
      await compare(new CpuBackend(), s, 1e-6, 1e-7);
      for (const path of ['phase', 'col2im'] as const) {
        setConvDgradPath(path);
        await compare(await gpu(), s, 1e-4, 1e-5);
      }
    });
  }
});

describe('conv kernel choice', () => {
  it('the per-device choice fits the adapter', async () => {
    const g = await gpu();
    const k = convKernelFor(g);
    expect(k.kind).toBe(g.isCpuAdapter && hasSubgroups8(g) ? 'subgroup' : 'tiled');
  });
});

describe('conv2d errors name the op and shapes', () => {
  const cpu = new CpuBackend();
  const z = (shape: number[]) => tensorOn(cpu, new Array(shape.reduce((p, d) => p * d, 1)).fill(0), shape);
  it('channel mismatch', () => {
    expect(() => conv2d(z([1, 3, 8, 8]), z([4, 2, 3, 3]))).toThrow(new ShapeError('conv2d', 'input channels differ: input [1,3,8,8] has 3, weight [4,2,3,3] has 2'));
  });
  it('output size <= 0', () => {
    expect(() => conv2d(z([1, 1, 2, 2]), z([1, 1, 3, 3]))).toThrow('conv2d: output size 0x0 <= 0 for input [1,1,2,2] and weight [1,1,3,3] with stride [1,1], padding [0,0], dilation [1,1]');
  });
  it('bad stride, padding, dilation', () => {
    expect(() => conv2d(z([1, 1, 4, 4]), z([1, 1, 1, 1]), null, { stride: 0 })).toThrow(ArgumentError);
    expect(() => conv2d(z([1, 1, 4, 4]), z([1, 1, 1, 1]), null, { stride: 0 })).toThrow('conv2d: stride must be positive integers, got 0');
    expect(() => conv2d(z([1, 1, 4, 4]), z([1, 1, 1, 1]), null, { padding: -1 })).toThrow('conv2d: padding must be non-negative integers, got -1');
    expect(() => conv2d(z([1, 1, 4, 4]), z([1, 1, 1, 1]), null, { dilation: [1, 1.5] })).toThrow('conv2d: dilation must be positive integers, got [1,1.5]');
  });
  it('rank and bias', () => {
    expect(() => conv2d(z([3, 8, 8]), z([4, 3, 3, 3]))).toThrow('conv2d: expected input [N,C,H,W] of rank 4, got [3,8,8]');
    expect(() => conv2d(z([1, 3, 8, 8]), z([4, 3, 3, 3]), z([5]))).toThrow('conv2d: bias [5] does not fit weight [4,3,3,3] (expected [4])');
  });
  it('gradient ops check their shapes', () => {
    expect(() => conv2dBackwardInput(z([1, 4, 5, 5]), z([4, 3, 3, 3]), [8, 8])).toThrow(/conv2dBackwardInput: output gradient \[1,4,5,5\] does not fit weight \[4,3,3,3\] and input size \[8,8\] \(expected \[1,4,6,6\]\)/);
    expect(() => conv2dBackwardWeight(z([2, 3, 8, 8]), z([1, 4, 6, 6]), [3, 3])).toThrow(/conv2dBackwardWeight: output gradient \[1,4,6,6\] does not fit input \[2,3,8,8\]/);
  });
});

/**
 * conv2d beyond the shared op cases: every kernel variant (not only the one this device selects, so
 * the real-GPU tiled kernel runs here too) for the forward, input-gradient and weight-gradient ops
 * against the CPU reference, on odd sizes, strides, padding, dilation, 1x1 and 7x7 kernels and a
 * split weight-gradient reduction; the per-device choice; the argument and shape errors.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CpuBackend } from '../engine/cpu/backend.js';
import { Random } from '../engine/random.js';
import { ArgumentError, ShapeError } from '../engine/errors.js';
import { hasSubgroups8 } from '../engine/ops/matmul.js';
import {
  CPU_CONV_KERNEL, conv2d, conv2dBackwardInput, conv2dBackwardWeight, convKernelFor, setConvDgradPath, setConvKernel, type Conv2dOptions, type ConvKernel, type DgradPath,
} from '../engine/ops/conv.js';
import type { Backend } from '../engine/backend.js';
import type { Tensor } from '../engine/tensor.js';
import { expectClose, gpu, makeValues, tensorOn } from './helpers.js';

// The kernel lavapipe uses, a multi-subgroup tiling (other index paths), and the real-GPU kernel.
// Every variant costs a cold pipeline compile per shape on lavapipe (~30 s each), so the slower
// tilings that bench --conv-variants measures are not repeated here.
const VARIANTS: ConvKernel[] = [
  CPU_CONV_KERNEL,
  { kind: 'subgroup', tm: 8, tn: 8, wg: 128, sgn: 2 },
  { kind: 'tiled' },
];
const name = (k: ConvKernel) => JSON.stringify(k);

// x [N,C,H,W], w [O,C,KH,KW], options
const SHAPES: [number[], number[], Conv2dOptions][] = [
  [[1, 3, 7, 7], [5, 3, 3, 3], { stride: 2, padding: 1 }],
  [[2, 4, 9, 9], [6, 4, 1, 1], { stride: 2 }],
  [[1, 2, 11, 11], [3, 2, 7, 7], { stride: 2, padding: 3 }],
  [[2, 3, 8, 9], [4, 3, 3, 2], { stride: [1, 2], padding: [2, 1], dilation: [2, 1] }],
  [[3, 8, 10, 10], [12, 8, 3, 3], { padding: 1 }],
  [[1, 5, 6, 6], [7, 5, 2, 2], { stride: 3 }],
  [[8, 3, 23, 23], [4, 3, 3, 3], { padding: 1 }], // weight gradient: split reduction, odd P
];

afterEach(() => { setConvKernel(null); setConvDgradPath('auto'); });

const outHW = (n: number, k: number, s: number, p: number, d: number) => Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;
const two = (v: number | [number, number] | undefined, d: number): [number, number] => (v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : v);

async function runAll(b: Backend, xs: number[], ws: number[], o: Conv2dOptions, vals: number[][]) {
  const [N, , H, W] = xs;
  const [O, , KH, KW] = ws;
  const [sy, sx] = two(o.stride, 1), [py, px] = two(o.padding, 0), [dy, dx] = two(o.dilation, 1);
  const gs = [N, O, outHW(H, KH, sy, py, dy), outHW(W, KW, sx, px, dx)];
  const x = tensorOn(b, vals[0], xs), w = tensorOn(b, vals[1], ws), bias = tensorOn(b, vals[2], [O]);
  const g = tensorOn(b, vals[3].slice(0, gs.reduce((p, d) => p * d, 1)), gs);
  const outs: Tensor[] = [conv2d(x, w, bias, o), conv2dBackwardInput(g, w, [H, W], o), conv2dBackwardWeight(x, g, [KH, KW], o)];
  const data = await Promise.all(outs.map(async (t) => Float64Array.from(await t.data())));
  const shapes = outs.map((t) => t.shape);
  [x, w, bias, g, ...outs].forEach((t) => t.dispose());
  return { data, shapes };
}

async function checkShapes(k: ConvKernel | null, path: DgradPath) {
  const cpu = new CpuBackend();
  const g = await gpu();
  const rng = new Random(3);
  for (const [xs, ws, o] of SHAPES) {
    const vals = [makeValues({ shape: xs }, rng), makeValues({ shape: ws }, rng), makeValues({ shape: [ws[0]] }, rng),
      makeValues({ shape: [xs[0], ws[0], xs[2], xs[3]] }, rng)];
    const ref = await runAll(cpu, xs, ws, o, vals);
    setConvKernel(k);
    setConvDgradPath(path);
    const got = await runAll(g, xs, ws, o, vals);
    setConvKernel(null);
    setConvDgradPath('auto');
    const K = Math.max(xs[1] * ws[2] * ws[3], xs[0] * xs[2] * xs[3], ws[0] * ws[2] * ws[3]);
    ['forward', 'input gradient', 'weight gradient'].forEach((what, i) => {
      const label = `${what} x${JSON.stringify(xs)} w${JSON.stringify(ws)} ${JSON.stringify(o)}`;
      expect(got.shapes[i], label).toEqual(ref.shapes[i]);
      try { expectClose(got.data[i], ref.data[i], { atol: 1e-5 * Math.sqrt(K), rtol: 1e-4 }); }
      catch (e) { throw new Error(`${label}: ${(e as Error).message}`); }
    });
  }
}

describe('conv kernel variants match the CPU reference (forward, input gradient, weight gradient)', () => {
  // The input gradient through the per-phase implicit GEMM (the col2im path is a forward GEMM).
  for (const k of VARIANTS) {
    it(`${name(k)}`, async () => {
      const g = await gpu();
      if (k.kind === 'subgroup' && !hasSubgroups8(g)) return; // this device cannot run it
      await checkShapes(k, 'phase');
    });
  }
  it('input gradient through col2im (the per-device kernel)', async () => { await checkShapes(null, 'col2im'); });
  it('input gradient through col2im (workgroup-tiled kernel)', async () => { await checkShapes({ kind: 'tiled' }, 'col2im'); });
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

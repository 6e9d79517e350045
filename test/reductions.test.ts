/**
 * Reduction, softmax and gather behaviour that the op cases cannot express: error messages,
 * out-of-range indices and labels, ties in max, extreme values, and the accuracy of the kernels'
 * compensated and two-pass arithmetic.
 */
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../engine/cpu/backend.js';
import { backward } from '../engine/autograd.js';
import { ArgumentError, ShapeError } from '../engine/errors.js';
import { Tensor, tidy } from '../engine/tensor.js';
import { crossEntropy, gather, logSoftmax, logsumexp, max, mean, oneHot, scatterAdd, square, sum, variance } from '../engine/ops/index.js';
import type { Backend } from '../engine/backend.js';
import { scatterChunkForTests } from '../engine/ops/gather.js';
import { gpu, tensorOn } from './helpers.js';

const backends: [string, () => Promise<Backend>][] = [['cpu', async () => new CpuBackend()], ['webgpu', gpu]];

async function values(t: Tensor): Promise<number[]> { return Array.from(await t.data()); }

describe.each(backends)('reductions on %s', (_name, make) => {
  it('max splits the gradient evenly among ties', async () => {
    const b = await make();
    const x = tensorOn(b, [2, 2, 2, 2, 1, 3, 3, 0], [2, 4]);
    x.requiresGrad = true;
    tidy(() => backward(sum(max(x, 1))));
    expect(await values(x.grad!)).toEqual([0.25, 0.25, 0.25, 0.25, 0, 0.5, 0.5, 0]);
    x.dispose();
  });

  it('variance is two-pass: accurate for values near 1e3 where E[x^2]-E[x]^2 is not', async () => {
    const b = await make();
    const n = 4096;
    const v = Array.from({ length: n }, (_, i) => 1000 + ((i * 37) % 65 - 32) / 256);
    const m = v.reduce((a, c) => a + c, 0) / n;
    const exact = v.reduce((a, c) => a + (c - m) ** 2, 0) / n;
    const x = tensorOn(b, v, [n]);
    const got = await tidy(() => variance(x)).item();
    expect(Math.abs(got - exact) / exact).toBeLessThan(1e-4);
    if (b.kind === 'webgpu') {
      // the one-pass formula in f32 loses everything (E[x^2] ~ 1e6 has an ulp of 0.06)
      const ex = await tidy(() => mean(x)).item();
      const ex2 = await tidy(() => mean(square(x))).item();
      const naive = Math.fround(ex2 - Math.fround(ex * ex));
      expect(Math.abs(naive - exact) / exact).toBeGreaterThan(1e-2);
    }
    x.dispose();
  });

  it('sums a 1M-element tensor accurately (Kahan, split passes)', async () => {
    const b = await make();
    const n = 1 << 20;
    const v = new Float32Array(n).fill(0.1);
    const x = tensorOn(b, v, [n]);
    expect(await tidy(() => sum(x)).item()).toBe(Math.fround(n * Math.fround(0.1)));
    x.dispose();
  });

  it('max over an empty axis is an error; sum gives 0', async () => {
    const b = await make();
    const x = tensorOn(b, [], [0, 3]);
    expect(() => max(x, 0)).toThrow(/max: cannot take the max over an empty axis of \[0,3\]/);
    expect(await values(tidy(() => sum(x, 0)))).toEqual([0, 0, 0]);
    x.dispose();
  });
});

describe.each(backends)('softmax family on %s', (_name, make) => {
  it('extreme logits (+-1e4) give finite log-probabilities and losses', async () => {
    const b = await make();
    const x = tensorOn(b, [1e4, -1e4, 0, -1e4, 1e4, 1e4], [2, 3]);
    const l = tensorOn(b, [1, 0], [2], 'i32');
    x.requiresGrad = true;
    const ls = await values(tidy(() => logSoftmax(x)));
    expect(ls.every(Number.isFinite)).toBe(true);
    expect(ls[0]).toBe(0);
    const loss = tidy(() => crossEntropy(x, l));
    const v = await loss.item();
    expect(Number.isFinite(v)).toBe(true);
    expect(v).toBeCloseTo(2e4 + Math.log(2) / 2, 1);
    backward(loss);
    expect((await values(x.grad!)).every(Number.isFinite)).toBe(true);
    expect((await values(tidy(() => logsumexp(x, 1)))).every(Number.isFinite)).toBe(true);
    loss.dispose(); x.dispose(); l.dispose();
  });

  it('labels out of range select nothing: zero one-hot row, zero loss and gradient', async () => {
    const b = await make();
    const x = tensorOn(b, [1, 2, 3, 4, 5, 6], [2, 3]);
    const l = tensorOn(b, [3, -1], [2], 'i32');
    x.requiresGrad = true;
    expect(await values(tidy(() => oneHot(l, 3)))).toEqual([0, 0, 0, 0, 0, 0]);
    const loss = tidy(() => crossEntropy(x, l, { reduction: 'sum' }));
    expect(await loss.item()).toBe(0);
    backward(loss);
    expect((await values(x.grad!)).map(Math.abs)).toEqual([0, 0, 0, 0, 0, 0]);
    loss.dispose(); x.dispose(); l.dispose();
  });

  it('crossEntropy names the op and the shapes in its errors', async () => {
    const b = await make();
    const x = tensorOn(b, new Array(40).fill(0), [4, 10]);
    const bad = tensorOn(b, [0, 1, 2, 3], [4, 1]);
    const badI = tensorOn(b, [0, 1, 2], [3], 'i32');
    expect(() => crossEntropy(x, bad)).toThrow(ShapeError);
    expect(() => crossEntropy(x, bad)).toThrow('crossEntropy: labels must be i32 of shape [4] for logits [4,10], got [4,1] f32');
    expect(() => crossEntropy(x, badI)).toThrow('crossEntropy: labels must be i32 of shape [4] for logits [4,10], got [3] i32');
    const flat = tensorOn(b, [0, 1, 2], [3]);
    expect(() => crossEntropy(flat, badI)).toThrow('crossEntropy: logits must be f32 of shape [N,C], got [3] f32');
    flat.dispose();
    [x, bad, badI].forEach((t) => t.dispose());
  });
});

describe('gather and scatterAdd out-of-range indices', () => {
  it('CPU reference throws an ArgumentError naming the index', () => {
    const b = new CpuBackend();
    const x = tensorOn(b, [1, 2, 3, 4, 5, 6], [3, 2]);
    const i = tensorOn(b, [0, 3, 1], [3], 'i32');
    expect(() => gather(x, i)).toThrow(ArgumentError);
    expect(() => gather(x, i)).toThrow('gather: index 3 (position 1) out of range for axis 0 of size 3');
    const g = tensorOn(b, [1, 1, 1, 1, 1, 1], [3, 2]);
    expect(() => scatterAdd(g, i, 3)).toThrow('scatterAdd: index 3 (position 1) out of range for axis 0 of size 3');
    [x, i, g].forEach((t) => t.dispose());
  });

  it('WebGPU writes 0 for gather and drops the slice for scatterAdd', async () => {
    const b = await gpu();
    const x = tensorOn(b, [1, 2, 3, 4, 5, 6], [3, 2]);
    const i = tensorOn(b, [2, 3, -1, 0], [4], 'i32');
    expect(await values(tidy(() => gather(x, i)))).toEqual([5, 6, 0, 0, 0, 0, 1, 2]);
    const g = tensorOn(b, [1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
    expect(await values(tidy(() => scatterAdd(g, i, 3)))).toEqual([7, 8, 0, 0, 1, 2]);
    [x, i, g].forEach((t) => t.dispose());
  });

  it('every scatterAdd chunk size (each device variant) sums the same slices as the CPU reference', async () => {
    const cpu = new CpuBackend(), b = await gpu();
    const k = 50, d = 37, inner = 70;
    const gv = Array.from({ length: 3 * k * inner }, (_, j) => Math.sin(j * 0.37));
    const iv = Array.from({ length: k }, (_, j) => (j * 11) % d);
    const want = await values(scatterAdd(tensorOn(cpu, gv, [3, k, inner]), tensorOn(cpu, iv, [k], 'i32'), d, 1));
    const g = tensorOn(b, gv, [3, k, inner]), i = tensorOn(b, iv, [k], 'i32');
    try {
      for (const chunk of [1, 4, 32, 64, 128]) {
        scatterChunkForTests.force = chunk;
        const got = await values(tidy(() => scatterAdd(g, i, d, 1)));
        expect(got.length).toBe(want.length);
        got.forEach((v, j) => expect(Math.abs(v - want[j]), `chunk ${chunk} element ${j}`).toBeLessThan(1e-5));
      }
    } finally {
      scatterChunkForTests.force = null;
      [g, i].forEach((t) => t.dispose());
    }
  });

  it('rejects indices that are not i32 [K]', async () => {
    const b = new CpuBackend();
    const x = tensorOn(b, [1, 2, 3, 4], [2, 2]);
    const f = tensorOn(b, [0, 1], [2]);
    expect(() => gather(x, f)).toThrow('gather: indices must be i32 of shape [K], got [2] f32');
    [x, f].forEach((t) => t.dispose());
  });
});

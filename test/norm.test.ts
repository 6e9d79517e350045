/**
 * Batch norm behaviour the op cases cannot express: PyTorch's running-statistics update (hand-
 * computed), evaluation with the running statistics, the accuracy of the statistics for values near
 * 1e3 (where E[x^2] - E[x]^2 fails), the number of passes, memory, and error messages.
 */
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../engine/cpu/backend.js';
import { backward } from '../engine/autograd.js';
import { ArgumentError, ShapeError } from '../engine/errors.js';
import { Random } from '../engine/random.js';
import { Tensor, noGrad, tidy } from '../engine/tensor.js';
import { add, batchNorm, BatchNormBackwardOp, BatchNormTrainOp, mean, mul, square, sub, sum } from '../engine/ops/index.js';
import { runOpAux } from '../engine/ops/registry.js';
import type { Backend } from '../engine/backend.js';
import { expectClose, gpu, tensorOn } from './helpers.js';

const backends: [string, () => Promise<Backend>][] = [['cpu', async () => new CpuBackend()], ['webgpu', gpu]];

async function values(t: Tensor): Promise<number[]> { return Array.from(await t.data()); }

describe.each(backends)('batchNorm on %s', (_name, make) => {
  it('training: batch statistics, biased variance, gamma and beta; running stats follow PyTorch', async () => {
    const b = await make();
    // [4,2]: channel 0 = 1,2,3,4 (mean 2.5, biased var 1.25, unbiased 5/3); channel 1 = 0,0,2,2 (mean 1, var 1, unbiased 4/3)
    const x = tensorOn(b, [1, 0, 2, 0, 3, 2, 4, 2], [4, 2]);
    const gamma = tensorOn(b, [2, 3], [2]), beta = tensorOn(b, [0.5, -1], [2]);
    const rm = tensorOn(b, [0.5, -1], [2]), rv = tensorOn(b, [2, 0.5], [2]);
    const rmHandle = rm;
    const y = batchNorm(x, gamma, beta, { training: true, runningMean: rm, runningVar: rv, eps: 0 });
    const s = 1 / Math.sqrt(1.25);
    expectClose(await values(y), [-1.5 * s * 2 + 0.5, -4, -0.5 * s * 2 + 0.5, -4, 0.5 * s * 2 + 0.5, 2, 1.5 * s * 2 + 0.5, 2]);
    // running = 0.9 * running + 0.1 * batch (unbiased variance)
    expect(rm).toBe(rmHandle);
    expectClose(await values(rm), [0.9 * 0.5 + 0.1 * 2.5, 0.9 * -1 + 0.1 * 1], { atol: 1e-6 });
    expectClose(await values(rv), [0.9 * 2 + 0.1 * (5 / 3), 0.9 * 0.5 + 0.1 * (4 / 3)], { atol: 1e-6 });
    // a second step with momentum 0.5
    batchNorm(x, gamma, beta, { training: true, runningMean: rm, runningVar: rv, momentum: 0.5 }).dispose();
    expectClose(await values(rm), [0.5 * 0.7 + 0.5 * 2.5, 0.5 * -0.8 + 0.5 * 1], { atol: 1e-6 });
    expectClose(await values(rv), [0.5 * (1.8 + 1 / 6) + 0.5 * (5 / 3), 0.5 * (0.45 + 0.4 / 3) + 0.5 * (4 / 3)], { atol: 1e-6 });
    [x, gamma, beta, rm, rv, y].forEach((t) => t.dispose());
  });

  it('training on [N,C,H,W]: statistics over N, H and W; momentum 0 keeps the running stats, 1 replaces them', async () => {
    const b = await make();
    const x = tensorOn(b, [1, 2, 3, 4, 5, 6, 7, 8], [2, 1, 2, 2]); // mean 4.5, biased var 5.25, unbiased 6
    const rm = tensorOn(b, [0], [1]), rv = tensorOn(b, [1], [1]);
    const y = batchNorm(x, null, null, { training: true, runningMean: rm, runningVar: rv });
    expectClose(await values(y), [1, 2, 3, 4, 5, 6, 7, 8].map((v) => (v - 4.5) / Math.sqrt(5.25 + 1e-5)));
    expectClose(await values(rm), [0.45]);
    expectClose(await values(rv), [0.9 + 0.6]);
    batchNorm(x, null, null, { training: true, runningMean: rm, runningVar: rv, momentum: 0 }).dispose();
    expectClose(await values(rm), [0.45]);
    batchNorm(x, null, null, { training: true, runningMean: rm, runningVar: rv, momentum: 1 }).dispose();
    expectClose(await values(rm), [4.5]);
    expectClose(await values(rv), [6]);
    // the running buffers are not part of the graph
    expect(rm.requiresGrad).toBe(false);
    [x, rm, rv, y].forEach((t) => t.dispose());
  });

  it('evaluation normalizes with the running statistics and leaves them unchanged', async () => {
    const b = await make();
    const x = tensorOn(b, [1, 2, 3, 4], [2, 2]);
    const rm = tensorOn(b, [1, 2], [2]), rv = tensorOn(b, [4, 0.25], [2]);
    const gamma = tensorOn(b, [2, 1], [2]), beta = tensorOn(b, [0, 1], [2]);
    const y = batchNorm(x, gamma, beta, { training: false, runningMean: rm, runningVar: rv, eps: 0 });
    expectClose(await values(y), [0, 1, 2, 5]);
    expectClose(await values(rm), [1, 2]);
    expectClose(await values(rv), [4, 0.25]);
    [x, rm, rv, gamma, beta, y].forEach((t) => t.dispose());
  });

  it('statistics of values near 1e3 with small noise are accurate where E[x^2] - E[x]^2 is not', async () => {
    const b = await make();
    const [n, c, h, w] = [8, 3, 16, 16]; // 2048 values per channel: the split (chunked) path on WebGPU
    const rng = new Random(5);
    const v = Array.from({ length: n * c * h * w }, () => Math.fround(1000 + (rng.uniform() - 0.5) * 0.1));
    const exact = Array.from({ length: c }, (_, ch) => {
      const xs = v.filter((_, i) => Math.floor(i / (h * w)) % c === ch);
      const m = xs.reduce((a, t) => a + t, 0) / xs.length;
      return { m, v: xs.reduce((a, t) => a + (t - m) ** 2, 0) / xs.length };
    });
    const x = tensorOn(b, v, [n, c, h, w]);
    const { out, aux } = runOpAux(BatchNormTrainOp, [x], { eps: 0, hasGamma: false, hasBeta: false });
    const [gotMean, gotInv, gotVar] = await Promise.all(aux.map(values));
    for (let ch = 0; ch < c; ch++) {
      expect(Math.abs(gotMean[ch] - exact[ch].m)).toBeLessThan(1e-4);
      expect(Math.abs(gotVar[ch] - exact[ch].v) / exact[ch].v).toBeLessThan(1e-3);
      expect(Math.abs(gotInv[ch] * Math.sqrt(exact[ch].v) - 1)).toBeLessThan(1e-3);
    }
    // normalized output: mean 0, variance 1 per channel
    const y = await values(out);
    const ym = y.reduce((a, t) => a + t, 0) / y.length;
    const yv = y.reduce((a, t) => a + t * t, 0) / y.length;
    expect(Math.abs(ym)).toBeLessThan(1e-3);
    expect(Math.abs(yv - 1)).toBeLessThan(1e-3);
    if (b.kind === 'webgpu') {
      // the one-pass formula in f32 (E[x^2] ~ 1e6 has an ulp of 0.06; the variance is ~8e-4) is far off
      const naive = await values(tidy(() => sub(mean(square(x), [0, 2, 3]), square(mean(x, [0, 2, 3])))));
      for (let ch = 0; ch < c; ch++) expect(Math.abs(naive[ch] - exact[ch].v) / exact[ch].v).toBeGreaterThan(0.5);
    }
    [x, out, ...aux].forEach((t) => t.dispose());
  });

  it('gamma and beta gradients are the per-channel sums of g * xhat and g', async () => {
    const b = await make();
    const x = tensorOn(b, [1, 0, 2, 0, 3, 2, 4, 2], [4, 2]);
    const gamma = tensorOn(b, [2, 3], [2]), beta = tensorOn(b, [0.5, -1], [2]);
    [x, gamma, beta].forEach((t) => { t.requiresGrad = true; });
    const g = tensorOn(b, [1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
    tidy(() => backward(batchNorm(x, gamma, beta, { training: true, eps: 0 }), { grad: g }));
    const s = 1 / Math.sqrt(1.25);
    const xhat0 = [-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s], xhat1 = [-1, -1, 1, 1];
    expectClose(await values(beta.grad!), [1 + 3 + 5 + 7, 2 + 4 + 6 + 8]);
    expectClose(await values(gamma.grad!), [[1, 3, 5, 7].reduce((a, t, i) => a + t * xhat0[i], 0), [2, 4, 6, 8].reduce((a, t, i) => a + t * xhat1[i], 0)]);
    // dx of a batch-normalized input sums to 0 per channel
    const dx = await values(x.grad!);
    expect(Math.abs(dx[0] + dx[2] + dx[4] + dx[6])).toBeLessThan(1e-5);
    [x, gamma, beta, g].forEach((t) => t.dispose());
  });

  it('a training step with running stats allocates nothing that outlives it', async () => {
    const b = await make();
    const x = tensorOn(b, Array.from({ length: 2 * 3 * 5 * 5 }, (_, i) => Math.sin(i)), [2, 3, 5, 5]);
    const gamma = tensorOn(b, [1, 2, 3], [3]), beta = tensorOn(b, [0, 1, 2], [3]);
    const rm = tensorOn(b, [0, 0, 0], [3]), rv = tensorOn(b, [1, 1, 1], [3]);
    [gamma, beta].forEach((t) => { t.requiresGrad = true; });
    let live = -1;
    for (let i = 0; i < 4; i++) {
      tidy(() => backward(sum(square(batchNorm(x, gamma, beta, { training: true, runningMean: rm, runningVar: rv })))));
      noGrad(() => { gamma.grad!.dispose(); gamma.grad = null; beta.grad!.dispose(); beta.grad = null; });
      await b.sync();
      if (i === 1) live = b.memory().liveBuffers;
      if (i > 1) expect(b.memory().liveBuffers).toBe(live);
    }
    [x, gamma, beta, rm, rv].forEach((t) => t.dispose());
  });

  it('keeps its output for backward only where the ReLU mask needs it (residual form, evaluation mode)', async () => {
    const b = await make();
    const data = Array.from({ length: 2 * 3 * 4 * 4 }, (_, i) => Math.sin(i * 0.7));
    const x = tensorOn(b, data, [2, 3, 4, 4]), r = tensorOn(b, data.map((v) => v * 0.5), [2, 3, 4, 4]);
    const rm = tensorOn(b, [0.1, -0.2, 0.3], [3]), rv = tensorOn(b, [1, 2, 0.5], [3]);
    const gamma = tensorOn(b, [1, -2, 0.5], [3]), beta = tensorOn(b, [0, 0.3, -0.1], [3]);
    const wt = tensorOn(b, data.map((v, i) => v + (i % 5)), [2, 3, 4, 4]);
    x.requiresGrad = true;
    const forms: [string, () => Tensor, boolean][] = [
      ['training + relu', () => batchNorm(x, gamma, beta, { training: true, relu: true }), false],
      ['training + residual + relu', () => batchNorm(x, gamma, beta, { training: true, relu: true, residual: r }), true],
      ['evaluation + relu', () => batchNorm(x, gamma, beta, { training: false, runningMean: rm, runningVar: rv, relu: true }), true],
      ['evaluation', () => batchNorm(x, gamma, beta, { training: false, runningMean: rm, runningVar: rv }), false],
    ];
    for (const [form, run, saved] of forms) {
      // the gradient with the output alive, then with it disposed before backward (add saves nothing)
      const ref = tidy(() => { backward(sum(mul(add(run(), 1), wt))); return x.grad!; });
      x.grad = null;
      const y = run();
      const z = add(y, 1);
      const live = b.memory().liveBuffers;
      y.dispose();
      expect([form, b.memory().liveBuffers]).toEqual([form, saved ? live : live - 1]);
      tidy(() => backward(sum(mul(z, wt))));
      z.dispose();
      expect(await values(x.grad!)).toEqual(await values(ref));
      x.grad!.dispose(); x.grad = null; ref.dispose();
    }
    [x, r, rm, rv, gamma, beta, wt].forEach((t) => t.dispose());
  });

  it('errors name the op and the shapes', async () => {
    const b = await make();
    const x = tensorOn(b, new Array(24).fill(0).map((_, i) => i), [2, 3, 4]);
    const x4 = tensorOn(b, new Array(24).fill(0).map((_, i) => i), [2, 3, 2, 2]);
    const c4 = tensorOn(b, [1, 2, 3, 4], [4]);
    const c3 = tensorOn(b, [1, 2, 3], [3]);
    const one = tensorOn(b, [1, 2, 3], [1, 3]);
    expect(() => batchNorm(x, null, null, { training: true })).toThrow(ShapeError);
    expect(() => batchNorm(x, null, null, { training: true })).toThrow('batchNorm: expected x of shape [N,C] or [N,C,H,W], got [2,3,4]');
    expect(() => batchNorm(x4, c4, null, { training: true })).toThrow('batchNorm: gamma must have shape [3] for x [2,3,2,2], got [4]');
    expect(() => batchNorm(x4, null, null, { training: true, runningVar: c4 })).toThrow('runningVar must have shape [3]');
    expect(() => batchNorm(x4, c3, c3, { training: false })).toThrow(ArgumentError);
    expect(() => batchNorm(x4, c3, c3, { training: false, runningMean: c3 })).toThrow('batchNorm: evaluation mode (training: false) needs runningMean and runningVar [3] for x [2,3,2,2]');
    expect(() => batchNorm(one, null, null, { training: true })).toThrow('batchNorm: expected more than 1 value per channel when training, got x [1,3]');
    expect(() => batchNorm(x4, null, null, { training: true, momentum: 2 })).toThrow('batchNorm: momentum must be in [0, 1]');
    expect(() => batchNorm(x4, null, null, { training: true, relu: true, residual: c3 })).toThrow("batchNorm: the residual must be f32 of x's shape [2,3,2,2], got [3] f32");
    [x, x4, c4, c3, one].forEach((t) => t.dispose());
  });
});

describe('batchNorm passes on WebGPU', () => {
  it('training forward is 3 dispatches (chunk statistics, merge with the running statistics, normalize); its backward primitive is 3', async () => {
    const b = await gpu();
    const x = tensorOn(b, Array.from({ length: 32 * 16 * 8 * 8 }, (_, i) => Math.cos(i)), [32, 16, 8, 8]);
    const g = tensorOn(b, Array.from({ length: 32 * 16 * 8 * 8 }, (_, i) => Math.sin(i)), [32, 16, 8, 8]);
    const gamma = tensorOn(b, Array.from({ length: 16 }, (_, i) => 1 + i / 16), [16]), beta = tensorOn(b, new Array(16).fill(0.5), [16]);
    let before = b.dispatchCount;
    const { out, aux } = runOpAux(BatchNormTrainOp, [x, gamma, beta], { eps: 1e-5, hasGamma: true, hasBeta: true });
    expect(b.dispatchCount - before).toBe(3);
    before = b.dispatchCount;
    const r = runOpAux(BatchNormBackwardOp, [x, g, aux[0], aux[1], gamma], { hasGamma: true });
    expect(b.dispatchCount - before).toBe(3);
    // the running statistics' update rides in the merge pass: still 3, and 2 copies into the buffers
    const rm = tensorOn(b, new Array(16).fill(0), [16]), rv = tensorOn(b, new Array(16).fill(1), [16]);
    before = b.dispatchCount;
    const copies = b.copyCount;
    const y = batchNorm(x, gamma, beta, { training: true, runningMean: rm, runningVar: rv, relu: true });
    expect([b.dispatchCount - before, b.copyCount - copies]).toEqual([3, 2]);
    const [m0] = await values(aux[0]), [v0] = await values(aux[2]);
    const [rm0] = await values(rm), [rv0] = await values(rv);
    expect(rm0).toBeCloseTo(0.1 * m0, 6);
    expect(rv0).toBeCloseTo(0.9 + 0.1 * v0 * (2048 / 2047), 6);
    [x, g, gamma, beta, out, ...aux, r.out, ...r.aux, rm, rv, y].forEach((t) => t.dispose());
  });
});

/**
 * ntXent (SimCLR's NT-Xent loss): the fused streaming kernels against a plain composition of
 * primitives (matmul, a -1e9 diagonal mask, crossEntropy) on WebGPU, against the float64 CPU
 * reference at 2N = 1024, a retained graph's second backward, stability (tau = 0.05, identical embeddings), 2N = 8192 without a
 * 2N x 2N buffer, and a PyTorch fixture (test/fixtures/make_ntxent_fixture.py).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { backward } from '../engine/autograd.js';
import { CpuBackend } from '../engine/cpu/backend.js';
import { Random } from '../engine/random.js';
import { tidy, type Tensor } from '../engine/tensor.js';
import { ArgumentError, ShapeError } from '../engine/errors.js';
import type { Backend } from '../engine/backend.js';
import { add, crossEntropy, div, matmul, maximum, mul, ntXent, rsqrt, square, sum, transpose } from '../engine/ops/index.js';
import { expectClose, gpu, tensorOn } from './helpers.js';

/** The same loss from primitives, materializing the [2N, 2N] logits (the diagonal masked out). */
function composed(b: Backend, z: Tensor, temperature: number): Tensor {
  const m = z.shape[0];
  const mask = new Float64Array(m * m);
  // -1e9, not -inf: crossEntropy multiplies log-probabilities by one-hot rows (-inf * 0 is NaN)
  for (let i = 0; i < m; i++) mask[i * m + i] = -1e9;
  const labels = Array.from({ length: m }, (_, i) => (i < m / 2 ? i + m / 2 : i - m / 2));
  const maskT = tensorOn(b, mask, [m, m]);
  const labelsT = tensorOn(b, labels, [m], 'i32');
  const loss = tidy(() => {
    const zh = mul(z, rsqrt(maximum(sum(square(z), 1, true), 1e-12)));
    const logits = add(div(matmul(zh, transpose(zh)), temperature), maskT);
    return crossEntropy(logits, labelsT);
  });
  maskT.dispose();
  labelsT.dispose();
  return loss;
}

function randomZ(m: number, d: number, seed: number): number[] {
  const rng = new Random(seed);
  return Array.from({ length: m * d }, () => rng.uniform() * 2 - 1);
}

/** Loss, accuracy and dL/dz of ntXent (or the composition) on a backend. */
async function lossAndGrad(b: Backend, values: ArrayLike<number>, shape: [number, number], temperature: number, useComposed = false) {
  const z = tensorOn(b, values, shape);
  z.requiresGrad = true;
  let accuracy = NaN;
  let loss: Tensor;
  if (useComposed) loss = composed(b, z, temperature);
  else {
    const r = ntXent(z, { temperature });
    loss = r.loss;
    accuracy = await r.accuracy.item();
    r.accuracy.dispose();
  }
  const value = await loss.item();
  backward(loss);
  const grad = Float64Array.from(await z.grad!.data());
  loss.dispose();
  z.dispose();
  return { loss: value, accuracy, grad };
}

const allFinite = (a: ArrayLike<number>) => Array.from(a).every(Number.isFinite);

describe('ntXent', () => {
  it('rejects odd or non-2-D embeddings and non-positive temperatures', () => {
    const b = new CpuBackend();
    const odd = tensorOn(b, randomZ(5, 3, 1), [5, 3]);
    const flat = tensorOn(b, randomZ(6, 1, 1), [6]);
    const ok = tensorOn(b, randomZ(4, 3, 1), [4, 3]);
    expect(() => ntXent(odd)).toThrow(ShapeError);
    expect(() => ntXent(flat)).toThrow(ShapeError);
    for (const t of [0, -0.5, NaN, Infinity]) expect(() => ntXent(ok, { temperature: t })).toThrow(ArgumentError);
    [odd, flat, ok].forEach((t) => t.dispose());
  });

  it('takes the temperature as a plain number or { temperature }, and refuses anything else', async () => {
    const b = new CpuBackend();
    const z = tensorOn(b, randomZ(8, 4, 2), [8, 4]);
    const value = async (opts: Parameters<typeof ntXent>[1]) => {
      const r = ntXent(z, opts);
      const v = (await r.loss.data())[0];
      r.loss.dispose(); r.accuracy.dispose();
      return v;
    };
    const at01 = await value({ temperature: 0.1 });
    expect(await value(0.1)).toBe(at01);
    expect(at01).not.toBe(await value(undefined)); // the default (0.5) differs
    for (const bad of [{ temprature: 0.1 }, { temperature: '0.1' }, 'x', null, [0.1], 0, -1]) {
      expect(() => ntXent(z, bad as never)).toThrow(ArgumentError);
    }
    z.dispose();
  });

  it.each([0.5, 0.1, 0.05])('matches the matmul/mask/crossEntropy composition on WebGPU, [256, 32], tau %s', async (tau) => {
    const b = await gpu();
    const v = randomZ(256, 32, 3);
    const fused = await lossAndGrad(b, v, [256, 32], tau);
    const ref = await lossAndGrad(b, v, [256, 32], tau, true);
    expectClose([fused.loss], [ref.loss], { atol: 1e-5, rtol: 1e-5 });
    expectClose(fused.grad, ref.grad, { atol: 1e-6, rtol: 1e-3 });
  });

  it('matches the float64 CPU reference at 2N = 1024, d = 128', async () => {
    const v = randomZ(1024, 128, 5);
    const g = await lossAndGrad(await gpu(), v, [1024, 128], 0.2);
    const c = await lossAndGrad(new CpuBackend(), v, [1024, 128], 0.2);
    expectClose([g.loss], [c.loss], { atol: 1e-5, rtol: 1e-5 });
    expect(g.accuracy).toBeCloseTo(c.accuracy, 6);
    expectClose(g.grad, c.grad, { atol: 1e-7, rtol: 1e-3 });
  }, 120_000);

  it('a retained graph backward twice gives the same gradient (the kept dot products survive the first)', async () => {
    const b = await gpu();
    const z = tensorOn(b, randomZ(64, 16, 9), [64, 16]);
    z.requiresGrad = true;
    const r = ntXent(z, 0.3);
    r.accuracy.dispose();
    backward(r.loss, { retainGraph: true });
    const first = Float64Array.from(await z.grad!.data());
    z.grad!.dispose();
    z.grad = null;
    backward(r.loss);
    const second = Float64Array.from(await z.grad!.data());
    r.loss.dispose();
    z.dispose();
    const c = await lossAndGrad(new CpuBackend(), randomZ(64, 16, 9), [64, 16], 0.3);
    expectClose(first, c.grad, { atol: 1e-7, rtol: 1e-4 });
    expect(Array.from(second)).toEqual(Array.from(first));
  });

  it('is finite at tau = 0.05 with near-duplicate rows and with identical embeddings', async () => {
    const b = await gpu();
    const m = 64, d = 16;
    // pairs of nearly equal views, large logits (1/tau = 20)
    const base = randomZ(m / 2, d, 9);
    const v = [...base, ...base.map((x, i) => x + 1e-4 * Math.sin(i))];
    for (const tau of [0.05, 0.5]) {
      const r = await lossAndGrad(b, v, [m, d], tau);
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(allFinite(r.grad)).toBe(true);
      expect(r.accuracy).toBe(1);
    }
    // every row identical: all logits equal 1/tau, loss = log(2N - 1), no positive ranks strictly first
    const same = Array.from({ length: m * d }, (_, i) => 0.3 + 0.1 * (i % d));
    for (const bk of [b, new CpuBackend()]) {
      const r = await lossAndGrad(bk, same, [m, d], 0.05);
      expect(r.loss).toBeCloseTo(Math.log(m - 1), 4);
      expect(r.accuracy).toBe(0);
      expect(allFinite(r.grad)).toBe(true);
      expect(Math.max(...r.grad.map(Math.abs))).toBeLessThan(1e-3);
    }
  });

  it('runs forward and backward at 2N = 8192, d = 128 without a 2N x 2N buffer', async () => {
    const b = await gpu();
    const m = 8192, d = 128;
    const v = randomZ(m, d, 11);
    let peak = 0;
    const alloc = b.alloc.bind(b);
    b.alloc = ((size: number, dt?: never) => {
      const s = alloc(size, dt);
      peak = Math.max(peak, b.memory().liveBytes);
      return s;
    }) as typeof b.alloc;
    try {
      const before = b.memory().liveBytes;
      const r = await lossAndGrad(b, v, [m, d], 0.1);
      expect(Number.isFinite(r.loss)).toBe(true);
      // a random z: the loss is near log(2N - 1)
      expect(Math.abs(r.loss - Math.log(m - 1))).toBeLessThan(1);
      expect(allFinite(r.grad)).toBe(true);
      // a few [2N, d] tensors (4 MiB each) are live at once; the logits would take 256 MiB
      expect(peak - before).toBeLessThan((m * m * 4) / 8);
    } finally {
      b.alloc = alloc;
    }
  }, 300_000);

  it('matches PyTorch (make_ntxent_fixture.py) for tau 0.5 and 0.1', async () => {
    const fx = JSON.parse(readFileSync(new URL('./fixtures/ntxent.json', import.meta.url), 'utf8')) as {
      z: number[]; shape: [number, number]; cases: { temperature: number; loss: number; accuracy: number; grad: number[] }[];
    };
    for (const c of fx.cases) {
      for (const b of [await gpu(), new CpuBackend()]) {
        const r = await lossAndGrad(b, fx.z, fx.shape, c.temperature);
        const tol = b instanceof CpuBackend ? { atol: 1e-6, rtol: 1e-5 } /* z is rounded to f32 on upload */ : { atol: 1e-5, rtol: 1e-4 };
        expectClose([r.loss], [c.loss], tol);
        expect(r.accuracy).toBe(c.accuracy);
        expectClose(r.grad, c.grad, tol);
      }
    }
  });
});

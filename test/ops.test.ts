/**
 * Every op case (test/cases/) runs forward and backward on WebGPU against the CPU reference, and
 * through a float64 finite-difference gradient check. The registry checks at the end fail when an
 * op has no case, or a differentiable op has no gradient-checked case.
 */
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../engine/cpu/backend.js';
import { backward } from '../engine/autograd.js';
import { Random } from '../engine/random.js';
import { tidy, type Tensor } from '../engine/tensor.js';
import { listOps } from '../engine/ops/index.js';
import type { Backend } from '../engine/backend.js';
import { allCases, type OpCase } from './cases/index.js';
import { expectClose, expectGradcheck, gpu, makeValues, tensorOn } from './helpers.js';

function wantsGrad(c: OpCase): boolean {
  return c.grad ?? c.inputs.some((s) => (s.dtype ?? 'f32') === 'f32');
}

/** Output and input gradients of one case on one backend. */
async function runCase(c: OpCase, b: Backend, values: number[][]) {
  const grad = wantsGrad(c);
  const xs = c.inputs.map((s, i) => {
    const t = tensorOn(b, values[i], s.shape, s.dtype);
    if (grad && (s.dtype ?? 'f32') === 'f32') t.requiresGrad = true;
    return t;
  });
  const out = tidy(() => c.fn(...xs));
  const result = { out: Float64Array.from(await out.data()), shape: out.shape, grads: [] as (Float64Array | null)[] };
  if (grad && out.requiresGrad) {
    const rng = new Random(7);
    const w = tensorOn(b, Array.from({ length: out.size }, () => rng.uniform() * 2 - 1), out.shape);
    backward(out, { grad: w });
    w.dispose();
    for (const x of xs) result.grads.push(x.grad ? Float64Array.from(await x.grad.data()) : null);
  }
  out.dispose();
  xs.forEach((x) => x.dispose());
  return result;
}

describe('ops: WebGPU forward and backward match the CPU reference', () => {
  for (const c of allCases) {
    it(c.name, async () => {
      const rng = new Random(42);
      const values = c.inputs.map((s) => makeValues(s, rng));
      const cpu = new CpuBackend();
      const g = await gpu();
      const ref = await runCase(c, cpu, values);
      const got = await runCase(c, g, values);
      expect(got.shape).toEqual(ref.shape);
      expectClose(got.out, ref.out, c.tol);
      expect(got.grads.length).toBe(ref.grads.length);
      got.grads.forEach((gr, i) => {
        if (ref.grads[i] === null) expect(gr).toBeNull();
        else expectClose(gr!, ref.grads[i]!, c.tol);
      });
      expect(cpu.memory().liveBuffers).toBe(0);
    });
  }
});

describe('ops: gradients match central finite differences (float64, CPU)', () => {
  for (const c of allCases.filter((c) => wantsGrad(c) && c.gradcheck !== false)) {
    it(c.name, () => {
      const rng = new Random(42);
      expectGradcheck(c.fn, c.inputs.map((s) => ({ shape: s.shape, dtype: s.dtype, values: makeValues(s, rng) })), c.gradTol);
    });
  }
});

describe('op registry', () => {
  it('every op has a WebGPU-vs-CPU case', () => {
    const covered = new Set(allCases.flatMap((c) => c.ops));
    const missing = listOps().filter((o) => !covered.has(o.name)).map((o) => o.name);
    expect(missing, `ops without a test case: ${missing.join(', ')}`).toEqual([]);
  });
  it('every differentiable op has a gradient-checked case', () => {
    const checked = new Set(allCases.filter((c) => wantsGrad(c) && c.gradcheck !== false).flatMap((c) => c.ops));
    const missing = listOps().filter((o) => o.differentiable && !checked.has(o.name)).map((o) => o.name);
    expect(missing, `differentiable ops without a gradcheck: ${missing.join(', ')}`).toEqual([]);
  });
  it('case names refer to registered ops', () => {
    const known = new Set(listOps().map((o) => o.name));
    const unknown = allCases.flatMap((c) => c.ops).filter((n) => !known.has(n));
    expect(unknown).toEqual([]);
  });
});

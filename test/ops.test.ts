/**
 * Every op case (test/cases/) runs forward and backward on WebGPU against the CPU reference, and
 * through a float64 finite-difference gradient check. Each run counts the ops that actually ran
 * (the registry's run counter): a case fails when an op it declares never ran, so the coverage
 * checks at the end (every op has a case, every differentiable op a gradient-checked case) rest on
 * what ran, not on the hand-written `ops` lists. A case that expects gradients fails when its
 * output does not require grad. On WebGPU every case must give back every buffer it allocated
 * (live buffers and bytes equal before and after).
 */
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../engine/cpu/backend.js';
import { Random } from '../engine/random.js';
import { tidy } from '../engine/tensor.js';
import { listOps } from '../engine/ops/index.js';
import { opRunCounts, resetOpRunCounts } from '../engine/ops/registry.js';
import { allCases } from './cases/index.js';
import { caseValues, makeValues, notRun, runCase, tensorOn, wantsGrad } from './cases/run.js';
import { expectClose, expectGradcheck, gpu } from './helpers.js';

describe('ops: WebGPU forward and backward match the CPU reference', () => {
  for (const c of allCases) {
    it(c.name, async () => {
      const values = caseValues(c);
      const cpu = new CpuBackend();
      const g = await gpu();
      const ref = await runCase(c, cpu, values);
      await g.sync();
      const before = g.memory();
      const got = await runCase(c, g, values);
      await g.sync();
      const after = g.memory();
      expect(notRun(c, ref.ran), 'declared ops that never ran on the CPU').toEqual([]);
      expect(notRun(c, got.ran), 'declared ops that never ran on WebGPU').toEqual([]);
      expect({ liveBuffers: after.liveBuffers, liveBytes: after.liveBytes }, 'GPU buffers the case did not give back')
        .toEqual({ liveBuffers: before.liveBuffers, liveBytes: before.liveBytes });
      expect(got.shape).toEqual(ref.shape);
      expectClose(got.out, ref.out, c.tol);
      expect(got.grads.length).toBe(wantsGrad(c) ? c.inputs.length : 0);
      expect(ref.grads.length).toBe(got.grads.length);
      got.grads.forEach((gr, i) => {
        if (ref.grads[i] === null) expect(gr).toBeNull();
        else expectClose(gr!, ref.grads[i]!, c.tol);
      });
      expect(cpu.memory().liveBuffers).toBe(0);
    });
  }
});

const gradchecked = allCases.filter((c) => wantsGrad(c) && c.gradcheck !== false);
/** Ops whose backward rule a passing gradient check exercised: those that ran in its forward pass. */
const backwardChecked = new Set<string>();
let gradchecksPassed = 0;

describe('ops: gradients match central finite differences (float64, CPU)', () => {
  for (const c of gradchecked) {
    it(c.name, () => {
      const rng = new Random(42);
      const inputs = c.inputs.map((s) => ({ shape: s.shape, dtype: s.dtype, values: makeValues(s, rng) }));
      const cpu = new CpuBackend();
      resetOpRunCounts();
      tidy(() => { c.fn(...inputs.map((s) => tensorOn(cpu, s.values, s.shape, s.dtype))); });
      const forward = [...opRunCounts().keys()];
      expectGradcheck(c.fn, inputs, c.gradTol);
      forward.forEach((o) => backwardChecked.add(o));
      gradchecksPassed++;
    });
  }
});

describe('op registry', () => {
  it('every op has a WebGPU-vs-CPU case', () => {
    const covered = new Set(allCases.flatMap((c) => c.ops));
    const missing = listOps().filter((o) => !covered.has(o.name)).map((o) => o.name);
    expect(missing, `ops without a test case: ${missing.join(', ')}`).toEqual([]);
  });
  it('every differentiable op ran in the forward pass of a passing gradient check (so its backward rule was checked)', (ctx) => {
    ctx.skip(gradchecksPassed < gradchecked.length, `needs every gradient check of this file to pass first (${gradchecksPassed} of ${gradchecked.length} did)`);
    const missing = listOps().filter((o) => o.differentiable && !backwardChecked.has(o.name)).map((o) => o.name);
    expect(missing, `differentiable ops without a gradcheck: ${missing.join(', ')}`).toEqual([]);
  });
  it('case names refer to registered ops', () => {
    const known = new Set(listOps().map((o) => o.name));
    const unknown = allCases.flatMap((c) => c.ops).filter((n) => !known.has(n));
    expect(unknown).toEqual([]);
  });
});

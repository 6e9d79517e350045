/**
 * Running one op case on one backend, without vitest, so Node (test/ops.test.ts) and headless
 * Chromium (test/browser/ops-page.ts) run the cases the same way: inputs from makeValues with the
 * same seed, the same output-gradient weights, the same read-back.
 */
import { backward } from '../../engine/autograd.js';
import { Random } from '../../engine/random.js';
import { StorageRef, Tensor, tidy } from '../../engine/tensor.js';
import { sizeOf } from '../../engine/shape.js';
import { toTypedArray, type DType } from '../../engine/dtype.js';
import type { Backend } from '../../engine/backend.js';
import { opRunCounts, resetOpRunCounts } from '../../engine/ops/registry.js';
import type { OpCase } from './types.js';

export interface InputSpec {
  shape: readonly number[];
  dtype?: DType;
  /** Explicit values; otherwise uniform in [low, high) (integers for i32/u32). */
  values?: ArrayLike<number>;
  low?: number;
  high?: number;
}

export function makeValues(spec: InputSpec, rng: Random): number[] {
  if (spec.values) return Array.from(spec.values);
  const n = sizeOf(spec.shape);
  const lo = spec.low ?? -1, hi = spec.high ?? 1;
  if ((spec.dtype ?? 'f32') === 'f32') return Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform());
  return Array.from({ length: n }, () => Math.floor(lo + (hi - lo) * rng.uniform()));
}

export function tensorOn(backend: Backend, values: ArrayLike<number>, shape: readonly number[], dtype: DType = 'f32'): Tensor {
  return new Tensor(new StorageRef(backend, backend.upload(toTypedArray(dtype, values))), shape, dtype);
}

export function wantsGrad(c: OpCase): boolean {
  return c.grad ?? c.inputs.some((s) => (s.dtype ?? 'f32') === 'f32');
}

/** A case's inputs: seed 42, one draw per input in order. */
export function caseValues(c: OpCase): number[][] {
  const rng = new Random(42);
  return c.inputs.map((s) => makeValues(s, rng));
}

export interface CaseResult { out: Float64Array; shape: readonly number[]; grads: (Float64Array | null)[]; ran: Set<string> }

/**
 * Output and input gradients of one case on one backend (the output gradient: seed 7, uniform in
 * [-1, 1)), and the ops that ran (the registry's run counter). Throws when the case expects
 * gradients but its output does not require grad.
 */
export async function runCase(c: OpCase, b: Backend, values: number[][]): Promise<CaseResult> {
  const grad = wantsGrad(c);
  resetOpRunCounts();
  const xs = c.inputs.map((s, i) => {
    const t = tensorOn(b, values[i], s.shape, s.dtype);
    if (grad && (s.dtype ?? 'f32') === 'f32') t.requiresGrad = true;
    return t;
  });
  const out = tidy(() => c.fn(...xs));
  const result: CaseResult = { out: Float64Array.from(await out.data()), shape: out.shape, grads: [], ran: new Set() };
  if (grad && !out.requiresGrad) throw new Error(`${c.name}: expects gradients (set grad: false if it has none) but its output does not require grad`);
  if (grad) {
    const rng = new Random(7);
    const w = tensorOn(b, Array.from({ length: out.size }, () => rng.uniform() * 2 - 1), out.shape);
    backward(out, { grad: w });
    w.dispose();
    for (const x of xs) result.grads.push(x.grad ? Float64Array.from(await x.grad.data()) : null);
  }
  out.dispose();
  xs.forEach((x) => x.dispose());
  result.ran = new Set(opRunCounts().keys());
  return result;
}

/** Declared ops that did not run. */
export function notRun(c: OpCase, ran: ReadonlySet<string>): string[] {
  return c.ops.filter((o) => !ran.has(o));
}

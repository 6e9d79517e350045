/**
 * Gradient checking: the analytic backward against central finite differences, both computed on
 * the CPU reference backend in float64. A non-scalar output y is reduced to sum(y * w) with fixed
 * random weights w, so every output element's gradient path is exercised.
 */
import { CpuBackend } from './cpu/backend.js';
import { backward } from './autograd.js';
import { ArgumentError } from './errors.js';
import { Random } from './random.js';
import { sizeOf } from './shape.js';
import { StorageRef, Tensor, noGrad, tidy } from './tensor.js';
import type { DType } from './dtype.js';

export interface GradcheckInput {
  shape: readonly number[];
  /** Values (default: uniform in [-1, 1) from the seed). */
  values?: ArrayLike<number>;
  dtype?: DType;
  /** Integer inputs (labels, indices) never require grad. Default: true for f32. */
  requiresGrad?: boolean;
}

/**
 * Defaults eps 1e-6, atol 1e-5, rtol 1e-4, chosen for float64 evaluation of smooth composites: the
 * central difference (f(x+eps) - f(x-eps)) / 2eps errs by truncation, eps^2 |f'''| / 6 (about 1e-13
 * here), plus rounding, about u |f| / eps with u = 1.1e-16 (1e-10 |f|), so eps near (u |f|)^(1/3)
 * balances the two and 1e-6 sits there. The largest error over the op tables is 8e-7 (logSoftmax over
 * 1200-long rows, where |f| is largest); atol 1e-5 leaves a margin above that, rtol 1e-4 serves
 * gradients of large magnitude. Where the objective is a polynomial of degree <= 2 in each input
 * element (matmul, convolution, copies, sums) truncation vanishes and a much tighter tolerance holds
 * (test/cases/types.ts POLYNOMIAL_GRAD_TOL). No tolerance helps within eps of a kink (relu, max,
 * max-pool ties): choose inputs away from them.
 */
export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  seed?: number;
}

export interface GradcheckResult {
  ok: boolean;
  /** Largest |analytic - numeric| - (atol + rtol*|numeric|) seen; <= 0 when ok. */
  worstExcess: number;
  maxAbsError: number;
  /** First few mismatches, for the failure message. */
  mismatches: string[];
}

export function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: readonly GradcheckInput[], opts: GradcheckOptions = {}): GradcheckResult {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-4;
  const rng = new Random(opts.seed ?? 1234);
  const cpu = new CpuBackend();
  const values = inputs.map((inp) => {
    const n = sizeOf(inp.shape);
    if (inp.values && inp.values.length !== n) throw new ArgumentError('gradcheck', `input has ${inp.values.length} values for shape [${inp.shape}]`);
    return inp.values ? Float64Array.from(inp.values) : Float64Array.from({ length: n }, () => rng.uniform() * 2 - 1);
  });
  const differentiable = inputs.map((inp) => (inp.requiresGrad ?? (inp.dtype ?? 'f32') === 'f32'));
  const make = (i: number, data: Float64Array, grad: boolean) => {
    const t = new Tensor(new StorageRef(cpu, cpu.upload(data)), inputs[i].shape, inputs[i].dtype ?? 'f32');
    if (grad) t.requiresGrad = true;
    return t;
  };
  let weights: Float64Array | null = null;
  const objective = (xs: Tensor[]): { value: number; out: Tensor } => {
    const out = fn(...xs);
    const y = cpu.view(out.ref('gradcheck').storage);
    weights ??= Float64Array.from({ length: y.length }, () => rng.uniform() * 2 - 1);
    let v = 0;
    for (let i = 0; i < y.length; i++) v += y[i] * weights[i];
    return { value: v, out };
  };

  // analytic
  const leaves = values.map((v, i) => make(i, v, differentiable[i]));
  tidy(() => {
    const { out } = objective(leaves);
    if (!out.requiresGrad) return;
    const w = new Tensor(new StorageRef(cpu, cpu.upload(weights!)), out.shape, 'f32');
    backward(out, { grad: w });
  });
  const analytic = leaves.map((t, i) => (differentiable[i] ? (t.grad ? cpu.readF64(t.grad.ref('gradcheck').storage) : new Float64Array(t.size)) : null));
  leaves.forEach((t) => t.dispose());

  // numeric
  const mismatches: string[] = [];
  let worst = -Infinity;
  let maxAbs = 0;
  noGrad(() => {
    for (let i = 0; i < inputs.length; i++) {
      if (!differentiable[i]) continue;
      for (let j = 0; j < values[i].length; j++) {
        const f = (delta: number) => tidy(() => {
          const xs = values.map((v, k) => {
            if (k !== i) return make(k, v, false);
            const p = Float64Array.from(v);
            p[j] += delta;
            return make(k, p, false);
          });
          return objective(xs).value;
        });
        const numeric = (f(eps) - f(-eps)) / (2 * eps);
        const a = analytic[i]![j];
        const err = Math.abs(a - numeric);
        maxAbs = Math.max(maxAbs, err);
        const excess = err - (atol + rtol * Math.abs(numeric));
        worst = Math.max(worst, excess);
        if (excess > 0 && mismatches.length < 5) mismatches.push(`input ${i} element ${j}: analytic ${a}, numeric ${numeric}`);
      }
    }
  });
  return { ok: mismatches.length === 0, worstExcess: worst, maxAbsError: maxAbs, mismatches };
}

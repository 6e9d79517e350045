import type { Tensor } from '../../engine/tensor.js';
import type { InputSpec } from './run.js';

/**
 * One op test case. test/ops.test.ts runs every case twice: forward and backward on WebGPU
 * against the CPU reference, and a float64 finite-difference gradient check on the CPU. The
 * registry test demands a case for every op, and for every differentiable op a gradient-checked
 * case in whose forward pass it runs (so its own backward rule is what the check compares).
 */
export interface OpCase {
  /** Shown in the test name. */
  name: string;
  /** Registry names of the ops this case exercises: each must run (forward or backward) on both backends. */
  ops: string[];
  fn: (...xs: Tensor[]) => Tensor;
  inputs: InputSpec[];
  /** Check gradients (default: true when some input is f32); then the output must require grad. */
  grad?: boolean;
  /** Run the float64 finite-difference check (default true); false for cases too big to check. */
  gradcheck?: boolean;
  /** GPU vs CPU tolerance (default atol 1e-5, rtol 1e-4). */
  tol?: { atol?: number; rtol?: number };
  /** Finite-difference tolerance (default atol 1e-5, rtol 1e-4, eps 1e-6; POLYNOMIAL_GRAD_TOL where it applies). */
  gradTol?: { atol?: number; rtol?: number; eps?: number };
}

/**
 * Finite-difference tolerance for cases whose objective is a polynomial of degree <= 2 in each
 * input element (matmul, convolution, copies, sums, scatter-adds, pooling away from ties): the
 * central difference then has no truncation error, only float64 rounding of about
 * u * sum|terms| / eps (u = 1.1e-16, eps = 1e-6), at most 5e-8 in these tables. The default
 * (engine/gradcheck.ts) would let a 1e-4 relative error in such a backward rule pass.
 */
export const POLYNOMIAL_GRAD_TOL = { atol: 2e-7, rtol: 0 } as const;

/** The cases with POLYNOMIAL_GRAD_TOL unless they set their own gradTol. */
export function polynomial(cases: OpCase[]): OpCase[] {
  return cases.map((c) => ({ gradTol: POLYNOMIAL_GRAD_TOL, ...c }));
}

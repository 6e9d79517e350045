import * as E from '../../engine/ops/elementwise.js';
import * as R from '../../engine/ops/reduce.js';
import { polynomial, type OpCase } from './types.js';

/** 1000 + k/256 for small random integers k: exact in f32, so the GPU sees the CPU's values. */
function offsetValues(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return 1000 + ((s >> 8) % 129 - 64) / 256;
  });
}

const sumCases: OpCase[] = [
  { name: 'sum all [33]', ops: ['sum'], fn: (x) => R.sum(x), inputs: [{ shape: [33] }] },
  { name: 'sum axis 1 [7,13]', ops: ['sum'], fn: (x) => R.sum(x, 1), inputs: [{ shape: [7, 13] }] },
  { name: 'sum axis 0 keepDims [7,13]', ops: ['sum'], fn: (x) => R.sum(x, 0, true), inputs: [{ shape: [7, 13] }] },
  { name: 'sum non-contiguous axes [0,2] of [3,5,4,2]', ops: ['sum'], fn: (x) => R.sum(x, [0, 2]), inputs: [{ shape: [3, 5, 4, 2] }] },
  { name: 'sum axes [-1,1] keepDims of [2,3,4,5]', ops: ['sum'], fn: (x) => R.sum(x, [-1, 1], true), inputs: [{ shape: [2, 3, 4, 5] }] },
  { name: 'sum over size-1 axis (copy)', ops: ['sum'], fn: (x) => R.sum(x, 1), inputs: [{ shape: [3, 1, 4] }] },
  { name: 'sum rank 0', ops: ['sum'], fn: (x) => R.sum(x), inputs: [{ shape: [] }] },
  { name: 'sum empty axis gives zeros', ops: ['sum'], fn: (x) => R.sum(x, 0), inputs: [{ shape: [0, 3] }] },
  { name: 'sum long rows [3,1500] (split)', ops: ['sum'], fn: (x) => R.sum(x, 1), inputs: [{ shape: [3, 1500] }] },
  { name: 'sum axis 0 of [1100,5] (split, inner 5)', ops: ['sum'], fn: (x) => R.sum(x, 0), inputs: [{ shape: [1100, 5] }] },
  { name: 'sum all of 1M elements (multi-pass)', ops: ['sum'], fn: (x) => R.sum(x), inputs: [{ shape: [1 << 20] }], grad: false },
  { name: 'sum 1M elements of 0.1 (Kahan)', ops: ['sum'], fn: (x) => R.sum(x), inputs: [{ shape: [1 << 20], low: 0.1, high: 0.1 }], grad: false, tol: { atol: 0, rtol: 1e-6 } },
];

const maxCases: OpCase[] = [
  { name: 'max all [33]', ops: ['max'], fn: (x) => R.max(x), inputs: [{ shape: [33] }] },
  { name: 'max axis -1 [7,13]', ops: ['max'], fn: (x) => R.max(x, -1), inputs: [{ shape: [7, 13] }] },
  { name: 'max axes [0,2] keepDims of [4,3,5]', ops: ['max'], fn: (x) => R.max(x, [0, 2], true), inputs: [{ shape: [4, 3, 5] }] },
  { name: 'max long rows [3,1500] (split)', ops: ['max'], fn: (x) => R.max(x, 1), inputs: [{ shape: [3, 1500] }] },
  { name: 'max axis 0 of [2000,3] (split, inner 3)', ops: ['max'], fn: (x) => R.max(x, 0), inputs: [{ shape: [2000, 3] }] },
  // Two-way ties: central differences see slope 1/2 at each tied entry, the even split.
  { name: 'max with two-way ties splits the gradient', ops: ['max'], fn: (x) => R.max(x, 1),
    inputs: [{ shape: [3, 4], values: [1, 3, 3, 0, 5, -2, 0.5, 5, -1, 5, 0, 4] }] },
];

const compositeCases: OpCase[] = [
  { name: 'mean axis 1 [7,13]', ops: ['mean'], fn: (x) => R.mean(x, 1), inputs: [{ shape: [7, 13] }] },
  { name: 'mean all keepDims [3,5,2]', ops: ['mean'], fn: (x) => R.mean(x, undefined, true), inputs: [{ shape: [3, 5, 2] }] },
  { name: 'variance axis 1 [5,33]', ops: ['variance'], fn: (x) => R.variance(x, 1), inputs: [{ shape: [5, 33] }] },
  { name: 'variance unbiased axes [0,2] keepDims', ops: ['variance'], fn: (x) => R.variance(x, [0, 2], true, { unbiased: true }), inputs: [{ shape: [4, 3, 5] }] },
  { name: 'variance of 1e3 + small noise stays accurate', ops: ['variance'], fn: (x) => R.variance(x, 1),
    inputs: [{ shape: [4, 1200], values: offsetValues(4800, 3) }], tol: { atol: 1e-7, rtol: 1e-4 } },
  { name: 'sumTo through broadcast add', ops: ['add', 'sum'], fn: (a, b) => E.mul(E.add(a, b), b), inputs: [{ shape: [2, 3, 4] }, { shape: [3, 1] }] },
];

export const reduceCases: OpCase[] = [...polynomial([...sumCases, ...maxCases]), ...compositeCases];

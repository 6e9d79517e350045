import { matmul } from '../../engine/ops/matmul.js';
import type { Tensor } from '../../engine/tensor.js';
import { polynomial, type OpCase } from './types.js';

type Trans = [boolean, boolean];
const TRANS: Trans[] = [[false, false], [false, true], [true, false], [true, true]];
const tag = ([ta, tb]: Trans) => (ta ? 'T' : 'N') + (tb ? 'T' : 'N');

/** Input shapes for op(A) = [..., M, K] and op(B) = [..., K, N] under the trans flags. */
export function matmulShapes(m: number, k: number, n: number, [ta, tb]: Trans, batchA: number[] = [], batchB: number[] = []) {
  return [
    { shape: [...batchA, ...(ta ? [k, m] : [m, k])] },
    { shape: [...batchB, ...(tb ? [n, k] : [k, n])] },
  ];
}

const mm = ([transA, transB]: Trans) => (a: Tensor, b: Tensor) => matmul(a, b, { transA, transB });

// f32 accumulation over K terms: loosen the tolerance with K.
const tolFor = (k: number) => ({ atol: 1e-5 * Math.max(1, Math.sqrt(k)), rtol: 1e-4 });

const cases: OpCase[] = [];
for (const t of TRANS) {
  cases.push({ name: `matmul ${tag(t)} 7x13x5`, ops: ['matmul'], fn: mm(t), inputs: matmulShapes(7, 13, 5, t) });
  cases.push({ name: `matmul ${tag(t)} 1x1x1`, ops: ['matmul'], fn: mm(t), inputs: matmulShapes(1, 1, 1, t) });
  cases.push({ name: `matmul ${tag(t)} 8x12x16 (vector loads)`, ops: ['matmul'], fn: mm(t), inputs: matmulShapes(8, 12, 16, t) });
  cases.push({ name: `matmul ${tag(t)} batched [3] 5x6x7`, ops: ['matmul'], fn: mm(t), inputs: matmulShapes(5, 6, 7, t, [3], [3]) });
  cases.push({ name: `matmul ${tag(t)} 2-D A broadcast over B [2,2]`, ops: ['matmul'], fn: mm(t), inputs: matmulShapes(4, 8, 6, t, [], [2, 2]) });
  cases.push({ name: `matmul ${tag(t)} 2-D B broadcast over A [3]`, ops: ['matmul'], fn: mm(t), inputs: matmulShapes(5, 4, 9, t, [3], []) });
  // several tiles in every direction (GPU forward and backward only: gradcheck would take minutes)
  cases.push({ name: `matmul ${tag(t)} 130x70x90`, ops: ['matmul'], fn: mm(t), inputs: matmulShapes(130, 70, 90, t), tol: tolFor(130), grad: false });
}
cases.push({ name: 'matmul NN 33x65x17', ops: ['matmul'], fn: mm([false, false]), inputs: matmulShapes(33, 65, 17, [false, false]), tol: tolFor(65) });
cases.push({ name: 'matmul TT 33x65x17 batched [2]', ops: ['matmul'], fn: mm([true, true]), inputs: matmulShapes(33, 65, 17, [true, true], [2], [2]), tol: tolFor(65) });
cases.push({ name: 'matmul K=0 gives zeros', ops: ['matmul'], fn: mm([false, false]), inputs: matmulShapes(3, 0, 4, [false, false]), grad: false });

export const matmulCases: OpCase[] = polynomial(cases);

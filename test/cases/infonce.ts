import * as X from '../../engine/ops/index.js';
import { runOp } from '../../engine/ops/registry.js';
import type { OpCase } from './types.js';

const rows = (n: number, d: number, low = -1, high = 1) => ({ shape: [n, d], low, high });

export const infonceCases: OpCase[] = [
  ...[0.2, 0.07, 1].map((t): OpCase => ({
    name: `infoNce loss q,k [5,4] queue [7,4] tau ${t}`, ops: ['infoNce', 'infoNceRows', 'l2Normalize'],
    fn: (q, k, queue) => X.infoNce(q, k, queue, t).loss, inputs: [rows(5, 4), rows(5, 4), rows(7, 4)],
  })),
  { name: 'infoNce accuracy [9,6] queue [13,6]', ops: ['infoNce'], grad: false,
    fn: (q, k, queue) => X.infoNce(q, k, queue, { temperature: 0.3 }).accuracy, inputs: [rows(9, 6), rows(9, 6), rows(13, 6)] },
  { name: 'infoNceRows per-row losses, every input differentiable (queue gradient kernel) [6,5] queue [10,5]', ops: ['infoNceRows'],
    fn: (q, k, queue) => X.infoNceRows(q, k, queue, 0.5).loss, inputs: [rows(6, 5, -0.6, 0.6), rows(6, 5, -0.6, 0.6), rows(10, 5, -0.6, 0.6)] },
  { name: 'infoNceRows one negative [3,2] queue [1,2]', ops: ['infoNceRows'],
    fn: (q, k, queue) => X.infoNceRows(q, k, queue, 0.7).loss, inputs: [rows(3, 2), rows(3, 2), rows(1, 2)] },
  // Sizes that leave a remainder in every 4-row loop and span several workgroups (64 rows each).
  { name: 'infoNceRows [130,33] queue [259,33] tau 0.1', ops: ['infoNceRows'], gradcheck: false, tol: { atol: 1e-4, rtol: 1e-3 },
    fn: (q, k, queue) => X.infoNceRows(X.l2Normalize(q), X.l2Normalize(k), X.l2Normalize(queue), 0.1).loss,
    inputs: [rows(130, 33), rows(130, 33), rows(259, 33)] },
  { name: 'infoNceBackward [7,3] queue [6,3]', ops: ['infoNceBackward'], grad: false,
    fn: (q, k, queue, g, l) => X.infoNceBackward(q, k, queue, g, l, 0.5),
    inputs: [rows(7, 3), rows(7, 3), rows(6, 3), { shape: [7], low: -1, high: 1 }, { shape: [7], low: 1, high: 3 }] },
  { name: 'infoNceQueueGrad [7,3] queue [9,3]', ops: ['infoNceQueueGrad'], grad: false,
    fn: (q, queue, g, l) => X.infoNceQueueGrad(q, queue, g, l, 0.5),
    inputs: [rows(7, 3), rows(9, 3), { shape: [7], low: -1, high: 1 }, { shape: [7], low: 1, high: 3 }] },
  { name: 'l2Normalize [4,6]', ops: ['l2Normalize', 'l2NormalizeBackward'], fn: (x) => X.l2Normalize(x), inputs: [rows(4, 6)] },
  { name: 'l2Normalize rank 3 [3,2,5] (rows over the leading axes)', ops: ['l2Normalize'], fn: (x) => X.l2Normalize(x), inputs: [{ shape: [3, 2, 5], low: -2, high: 3 }] },
  // Rows past one workgroup (64) and a length that is no multiple of 4.
  { name: 'l2Normalize [130,33]', ops: ['l2Normalize'], gradcheck: false, fn: (x) => X.l2Normalize(x), inputs: [rows(130, 33)] },
  // Row 0 is zero and row 1 has a squared norm of 4e-14: both are divided by the clamp 1e-6, a
  // constant, so their gradient is g * 1e6 (finite differences of size 1e-6 would cross the clamp).
  { name: 'l2Normalize rows under the clamp [3,2]', ops: ['l2Normalize', 'l2NormalizeBackward'], gradcheck: false, tol: { atol: 1e-4, rtol: 1e-4 },
    fn: (x) => X.l2Normalize(x), inputs: [{ shape: [3, 2], values: [0, 0, 2e-7, 0, 0.6, -0.8] }] },
  { name: 'l2NormalizeBackward [5,7] against its formula', ops: ['l2NormalizeBackward'], grad: false,
    fn: (g, y, s) => runOp(X.L2NormalizeBackwardOp, [g, y, s], undefined), inputs: [rows(5, 7), rows(5, 7), { shape: [5], values: [1, 0.25, 4, 1e-13, 9] }] },
  { name: 'byolLoss [6,5]', ops: ['byolLoss', 'l2Normalize'], fn: (p, z) => X.byolLoss(p, z), inputs: [rows(6, 5), rows(6, 5)] },
];

import * as X from '../../engine/ops/index.js';
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
  { name: 'l2Normalize [4,6]', ops: ['l2Normalize'], fn: (x) => X.l2Normalize(x), inputs: [rows(4, 6)] },
  { name: 'byolLoss [6,5]', ops: ['byolLoss', 'l2Normalize'], fn: (p, z) => X.byolLoss(p, z), inputs: [rows(6, 5), rows(6, 5)] },
];

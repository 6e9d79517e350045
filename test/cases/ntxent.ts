import * as X from '../../engine/ops/ntxent.js';
import type { OpCase } from './types.js';

const z = (m: number, d: number) => ({ shape: [m, d], low: -1, high: 1 });

export const ntxentCases: OpCase[] = [
  ...[0.5, 0.2, 0.1, 1].map((t): OpCase => ({
    name: `ntXent loss [6,4] tau ${t}`, ops: ['ntXent', 'ntXentRows'], fn: (x) => X.ntXent(x, { temperature: t }).loss, inputs: [z(6, 4)],
  })),
  { name: 'ntXent loss [2,3] (one pair, no negatives)', ops: ['ntXent'], fn: (x) => X.ntXent(x).loss, inputs: [z(2, 3)] },
  { name: 'ntXent accuracy [8,5]', ops: ['ntXent'], fn: (x) => X.ntXent(x, { temperature: 0.3 }).accuracy, grad: false, inputs: [z(8, 5)] },
  { name: 'ntXentRows per-row losses, unnormalized rows [6,4]', ops: ['ntXentRows'], fn: (x) => X.ntXentRows(x, 0.7).loss, inputs: [z(6, 4)] },
  { name: 'ntXent loss [64,16] tau 0.1', ops: ['ntXent'], fn: (x) => X.ntXent(x, { temperature: 0.1 }).loss, inputs: [z(64, 16)], gradcheck: false, tol: { atol: 1e-5, rtol: 1e-4 } },
  { name: 'ntXent loss [130,33] tau 0.05', ops: ['ntXent'], fn: (x) => X.ntXent(x, { temperature: 0.05 }).loss, inputs: [z(130, 33)], gradcheck: false, tol: { atol: 1e-4, rtol: 1e-3 } },
  { name: 'ntXentBackward [10,3]', ops: ['ntXentBackward'], grad: false, fn: (x, g, l) => X.ntXentBackward(x, g, l, 0.5),
    inputs: [z(10, 3), { shape: [10], low: -1, high: 1 }, { shape: [10], low: 1, high: 3 }] },
];

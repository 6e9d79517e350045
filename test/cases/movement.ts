import * as M from '../../engine/ops/movement.js';
import * as E from '../../engine/ops/elementwise.js';
import type { OpCase } from './types.js';

// Views are followed by an elementwise op in some cases so the gradient also flows through a
// kernel that reads the shared storage.
const viewCases: OpCase[] = [
  { name: 'reshape [2,3,5] -> [5,-1]', ops: ['reshape'], fn: (x) => M.reshape(x, [5, -1]), inputs: [{ shape: [2, 3, 5] }] },
  { name: 'reshape rank 1 -> rank 5 then mul', ops: ['reshape', 'mul'], fn: (x) => E.mul(M.reshape(x, [3, 1, 7, 1, 13]), 1.5), inputs: [{ shape: [273] }] },
  { name: 'reshape to rank 0', ops: ['reshape'], fn: (x) => M.reshape(x, []), inputs: [{ shape: [1, 1] }] },
  { name: 'reshape i32 (no grad)', ops: ['reshape'], fn: (x) => M.reshape(x, [-1]), inputs: [{ shape: [3, 7], dtype: 'i32', low: -50, high: 50 }], grad: false },
  { name: 'flatten default and full', ops: ['flatten'], fn: (x) => E.add(M.flatten(x), M.reshape(M.flatten(x, 0), [2, 35])), inputs: [{ shape: [2, 5, 7] }] },
  { name: 'flatten middle axes', ops: ['flatten'], fn: (x) => M.flatten(x, 1, 2), inputs: [{ shape: [2, 3, 5, 3] }] },
  { name: 'squeeze all and one axis', ops: ['squeeze'], fn: (x) => E.add(M.squeeze(x), M.squeeze(M.squeeze(x, [1, -1]), 0)), inputs: [{ shape: [1, 1, 5, 1] }] },
  { name: 'unsqueeze', ops: ['unsqueeze'], fn: (x) => E.mul(M.reshape(M.unsqueeze(x, -1), [3, 4]), M.squeeze(M.unsqueeze(x, 1), 1)), inputs: [{ shape: [3, 4] }] },
];

export const movementCases: OpCase[] = [...viewCases];

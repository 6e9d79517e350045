import * as E from '../../engine/ops/elementwise.js';
import * as G from '../../engine/ops/gather.js';
import { polynomial, type OpCase } from './types.js';

const idx = (k: number, high: number) => ({ shape: [k], dtype: 'i32' as const, low: 0, high });

export const gatherCases: OpCase[] = polynomial([
  { name: 'gather rows with repeats [10,7] x 13', ops: ['gather', 'scatterAdd'], fn: (x, i) => G.gather(x, i), inputs: [{ shape: [10, 7] }, idx(13, 10)] },
  { name: 'gather axis 1 of [3,9,4] x 5', ops: ['gather', 'scatterAdd'], fn: (x, i) => G.gather(x, i, 1), inputs: [{ shape: [3, 9, 4] }, idx(5, 9)] },
  { name: 'gather axis -1 of [5,33] x 40', ops: ['gather', 'scatterAdd'], fn: (x, i) => G.gather(x, i, -1), inputs: [{ shape: [5, 33] }, idx(40, 33)] },
  { name: 'gather [1200,3] x 1100 (many workgroups)', ops: ['gather', 'scatterAdd'], fn: (x, i) => G.gather(x, i), inputs: [{ shape: [1200, 3] }, idx(1100, 1200)] },
  { name: 'gather i32 values (no grad)', ops: ['gather'], fn: (x, i) => G.gather(x, i), grad: false,
    inputs: [{ shape: [6, 2], dtype: 'i32', low: -100, high: 100 }, idx(4, 6)] },
  { name: 'scatterAdd axis 0 [6,4] -> [9,4]', ops: ['scatterAdd', 'gather'], fn: (g, i) => G.scatterAdd(g, i, 9), inputs: [{ shape: [6, 4] }, idx(6, 9)] },
  { name: 'scatterAdd [2,40,70] -> [2,30,70] (rows of several chunks, a partial one)', ops: ['scatterAdd', 'gather'], fn: (g, i) => G.scatterAdd(g, i, 30, 1), inputs: [{ shape: [2, 40, 70] }, idx(40, 30)] },
  { name: 'scatterAdd axis 1 then mul', ops: ['scatterAdd', 'gather'], fn: (g, i) => E.mul(G.scatterAdd(g, i, 5, 1), 2), inputs: [{ shape: [2, 7, 3] }, idx(7, 5)] },
]);

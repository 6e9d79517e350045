import * as S from '../../engine/ops/softmax.js';
import type { OpCase } from './types.js';

const labels = (n: number, c: number) => ({ shape: [n], dtype: 'i32' as const, low: 0, high: c });

const logSoftmaxCases: OpCase[] = [
  { name: 'logSoftmax last axis [7,13]', ops: ['logSoftmax'], fn: (x) => S.logSoftmax(x), inputs: [{ shape: [7, 13], low: -3, high: 3 }] },
  { name: 'logSoftmax axis 1 of [5,7,3] (inner 3)', ops: ['logSoftmax'], fn: (x) => S.logSoftmax(x, 1), inputs: [{ shape: [5, 7, 3], low: -3, high: 3 }] },
  { name: 'logSoftmax long rows [3,1200]', ops: ['logSoftmax'], fn: (x) => S.logSoftmax(x, -1), inputs: [{ shape: [3, 1200], low: -5, high: 5 }] },
  { name: 'logSoftmax extreme logits +-1e4 stay finite', ops: ['logSoftmax'], fn: (x) => S.logSoftmax(x), grad: false,
    inputs: [{ shape: [3, 4], values: [1e4, -1e4, 0, 9999, -1e4, -1e4, -9999, -1e4, 1e4, 1e4, 1e4, 1e4] }] },
  { name: 'logSoftmax with -inf entries (masking)', ops: ['logSoftmax'], fn: (x) => S.logSoftmax(x), grad: false,
    inputs: [{ shape: [2, 4], values: [-Infinity, -Infinity, 1, 2, 0.5, -Infinity, -1, -Infinity] }] },
  { name: 'softmax [4,33]', ops: ['softmax'], fn: (x) => S.softmax(x), inputs: [{ shape: [4, 33], low: -2, high: 2 }] },
  { name: 'softmax axis 0 [6,5]', ops: ['softmax'], fn: (x) => S.softmax(x, 0), inputs: [{ shape: [6, 5], low: -2, high: 2 }] },
];

const lseCases: OpCase[] = [
  { name: 'logsumexp axis 1 [6,9]', ops: ['logsumexp'], fn: (x) => S.logsumexp(x, 1), inputs: [{ shape: [6, 9], low: -3, high: 3 }] },
  { name: 'logsumexp all keepDims [3,4,5]', ops: ['logsumexp'], fn: (x) => S.logsumexp(x, undefined, true), inputs: [{ shape: [3, 4, 5], low: -3, high: 3 }] },
  { name: 'logsumexp axes [0,2] [3,4,5] large values', ops: ['logsumexp'], fn: (x) => S.logsumexp(x, [0, 2]), inputs: [{ shape: [3, 4, 5], low: 500, high: 510 }] },
];

const ceCases: OpCase[] = [
  { name: 'oneHot (labels out of range give zero rows)', ops: ['oneHot'], fn: (l) => S.oneHot(l, 7), grad: false,
    inputs: [{ shape: [13], dtype: 'i32', values: [0, 6, 3, 7, -1, 2, 2, 5, 1, 100, 4, 0, 6] }] },
  { name: 'oneHot 2-D labels', ops: ['oneHot'], fn: (l) => S.oneHot(l, 5), inputs: [{ shape: [3, 4], dtype: 'i32', low: 0, high: 5 }] },
  { name: 'crossEntropy mean [8,10]', ops: ['crossEntropy'], fn: (x, l) => S.crossEntropy(x, l), inputs: [{ shape: [8, 10], low: -3, high: 3 }, labels(8, 10)] },
  { name: 'crossEntropy sum [5,33]', ops: ['crossEntropy'], fn: (x, l) => S.crossEntropy(x, l, { reduction: 'sum' }), inputs: [{ shape: [5, 33], low: -3, high: 3 }, labels(5, 33)] },
  { name: 'crossEntropy none [7,3]', ops: ['crossEntropy'], fn: (x, l) => S.crossEntropy(x, l, { reduction: 'none' }), inputs: [{ shape: [7, 3], low: -3, high: 3 }, labels(7, 3)] },
  { name: 'crossEntropy 1000+ classes [2,1100]', ops: ['crossEntropy'], fn: (x, l) => S.crossEntropy(x, l), inputs: [{ shape: [2, 1100], low: -3, high: 3 }, labels(2, 1100)] },
  { name: 'crossEntropy out-of-range labels contribute 0', ops: ['crossEntropy'], fn: (x, l) => S.crossEntropy(x, l, { reduction: 'none' }),
    inputs: [{ shape: [4, 3], low: -3, high: 3 }, { shape: [4], dtype: 'i32', values: [0, 3, -1, 2] }] },
  { name: 'crossEntropy extreme logits +-1e4 stay finite', ops: ['crossEntropy'], fn: (x, l) => S.crossEntropy(x, l, { reduction: 'none' }), grad: false,
    inputs: [{ shape: [3, 3], values: [1e4, -1e4, 0, -1e4, 1e4, -1e4, 1e4, 1e4, -1e4] }, { shape: [3], dtype: 'i32', values: [1, 1, 2] }] },
];

export const softmaxCases: OpCase[] = [...logSoftmaxCases, ...lseCases, ...ceCases];

import * as M from '../../engine/ops/movement.js';
import * as E from '../../engine/ops/elementwise.js';
import { polynomial, type OpCase } from './types.js';

// Views are followed by an elementwise op in some cases so the gradient also flows through a
// kernel that reads the shared storage.
const viewCases: OpCase[] = [
  { name: 'reshape [2,3,5] -> [5,-1]', ops: ['reshape'], fn: (x) => M.reshape(x, [5, -1]), inputs: [{ shape: [2, 3, 5] }] },
  { name: 'reshape rank 1 -> rank 5 then scale', ops: ['reshape', 'affine'], fn: (x) => E.mul(M.reshape(x, [3, 1, 7, 1, 13]), 1.5), inputs: [{ shape: [273] }] },
  { name: 'reshape to rank 0', ops: ['reshape'], fn: (x) => M.reshape(x, []), inputs: [{ shape: [1, 1] }] },
  { name: 'reshape i32 (no grad)', ops: ['reshape'], fn: (x) => M.reshape(x, [-1]), inputs: [{ shape: [3, 7], dtype: 'i32', low: -50, high: 50 }], grad: false },
  { name: 'flatten default and full', ops: ['flatten'], fn: (x) => E.add(M.flatten(x), M.reshape(M.flatten(x, 0), [2, 35])), inputs: [{ shape: [2, 5, 7] }] },
  { name: 'flatten middle axes', ops: ['flatten'], fn: (x) => M.flatten(x, 1, 2), inputs: [{ shape: [2, 3, 5, 3] }] },
  { name: 'squeeze all and one axis', ops: ['squeeze'], fn: (x) => E.add(M.squeeze(x), M.squeeze(M.squeeze(x, [1, -1]), 0)), inputs: [{ shape: [1, 1, 5, 1] }] },
  { name: 'unsqueeze', ops: ['unsqueeze'], fn: (x) => E.mul(M.reshape(M.unsqueeze(x, -1), [3, 4]), M.squeeze(M.unsqueeze(x, 1), 1)), inputs: [{ shape: [3, 4] }] },
];


const permuteCases: OpCase[] = [
  { name: 'permute rank 2 (transpose) odd sizes', ops: ['permute'], fn: (x) => M.permute(x, [1, 0]), inputs: [{ shape: [7, 13] }] },
  { name: 'permute rank 3 [2,0,1] > 256 elements', ops: ['permute'], fn: (x) => M.permute(x, [2, 0, 1]), inputs: [{ shape: [7, 9, 11] }] },
  { name: 'permute rank 5 with negative dims', ops: ['permute'], fn: (x) => M.permute(x, [-1, 2, 0, -2, 1]), inputs: [{ shape: [2, 3, 1, 5, 3] }] },
  { name: 'permute rank 4 keeping the last axis (merged)', ops: ['permute'], fn: (x) => M.permute(x, [1, 0, 2, 3]), inputs: [{ shape: [3, 5, 2, 7] }] },
  { name: 'permute large [129,37,17] (>70000 elements)', ops: ['permute'], fn: (x) => M.permute(x, [2, 0, 1]), inputs: [{ shape: [129, 37, 17] }], grad: false },
  { name: 'permute large [301,257] then scale (>70000 elements)', ops: ['permute', 'affine'], fn: (x) => E.mul(M.permute(x, [1, 0]), 2), inputs: [{ shape: [301, 257] }], grad: false },
  { name: 'permute i32', ops: ['permute'], fn: (x) => M.permute(x, [1, 2, 0]), inputs: [{ shape: [3, 5, 7], dtype: 'i32', low: -1000, high: 1000 }], grad: false },
  // the last two axes swapped, both multiples of 4: 4 x 4 blocks (transpose.wgsl)
  { name: 'permute rank 2 [12,20] (block transpose)', ops: ['permute'], fn: (x) => M.permute(x, [1, 0]), inputs: [{ shape: [12, 20] }] },
  { name: 'permute rank 3 last two axes (batched block transpose)', ops: ['permute'], fn: (x) => M.permute(x, [0, 2, 1]), inputs: [{ shape: [3, 8, 12] }] },
  { name: 'permute i32 last two axes (block transpose of bit patterns)', ops: ['permute'], fn: (x) => M.permute(x, [0, 2, 1]), inputs: [{ shape: [2, 4, 16], dtype: 'i32', low: -1000, high: 1000 }], grad: false },
  { name: 'permute large [260,516] (block transpose, >70000 elements)', ops: ['permute'], fn: (x) => M.permute(x, [1, 0]), inputs: [{ shape: [260, 516] }], grad: false },
  { name: 'transpose default and explicit axes', ops: ['transpose'], fn: (x) => M.transpose(M.transpose(x), 0, 2), inputs: [{ shape: [3, 4, 5] }] },
  { name: 'clone', ops: ['clone'], fn: (x) => M.clone(x), inputs: [{ shape: [3, 7] }] },
  { name: 'contiguous', ops: ['contiguous'], fn: (x) => E.mul(M.contiguous(x), x), inputs: [{ shape: [5, 3] }] },
];

const sliceCases: OpCase[] = [
  { name: 'slice rank 1 middle', ops: ['slice'], fn: (x) => M.slice(x, [3], [9]), inputs: [{ shape: [17] }] },
  { name: 'slice rank 2 with -1 size and negative begin', ops: ['slice'], fn: (x) => M.slice(x, [1, -4], [3, -1]), inputs: [{ shape: [5, 7] }] },
  { name: 'slice leading axes only (contiguous run)', ops: ['slice'], fn: (x) => M.slice(x, [2], [3]), inputs: [{ shape: [6, 3, 5] }] },
  { name: 'slice rank 4 with steps', ops: ['slice'], fn: (x) => M.slice(x, [0, 1, 2, 0], [2, -1, 2, 3], [2, 2, 1, 3]), inputs: [{ shape: [3, 6, 5, 9] }] },
  { name: 'slice rank 5', ops: ['slice'], fn: (x) => M.slice(x, [1, 0, 1, 0, 2], [1, 2, -1, 3, 2]), inputs: [{ shape: [3, 2, 3, 4, 5] }] },
  { name: 'slice large (>70000 elements)', ops: ['slice'], fn: (x) => M.slice(x, [5, 3], [250, 300]), inputs: [{ shape: [300, 307] }], grad: false },
  { name: 'slice i32', ops: ['slice'], fn: (x) => M.slice(x, [1, 1], [2, 3], [1, 2]), inputs: [{ shape: [4, 7], dtype: 'i32', low: -99, high: 99 }], grad: false },
  { name: 'slice to empty then pad back', ops: ['slice', 'pad'], fn: (x) => M.pad(M.slice(x, [0, 2], [3, 0]), [[0, 0], [1, 2]], 0.5), inputs: [{ shape: [3, 4] }] },
];

const padCases: OpCase[] = [
  { name: 'pad rank 1', ops: ['pad'], fn: (x) => M.pad(x, [[2, 3]]), inputs: [{ shape: [7] }] },
  { name: 'pad rank 3 with value', ops: ['pad'], fn: (x) => M.pad(x, [[0, 1], [2, 0], [1, 1]], -1.25), inputs: [{ shape: [2, 3, 5] }] },
  { name: 'pad large image-like (>256 elements)', ops: ['pad'], fn: (x) => M.pad(x, [[0, 0], [0, 0], [1, 1], [1, 1]]), inputs: [{ shape: [2, 3, 9, 11] }] },
  { name: 'pad i32 with value', ops: ['pad'], fn: (x) => M.pad(x, [[1, 0], [0, 2]], 7), inputs: [{ shape: [3, 3], dtype: 'i32', low: -9, high: 9 }], grad: false },
  { name: 'pad large (>70000 elements)', ops: ['pad'], fn: (x) => M.pad(x, [[3, 4], [5, 0]]), inputs: [{ shape: [281, 263] }], grad: false },
];

const broadcastCases: OpCase[] = [
  { name: 'broadcastTo row to matrix', ops: ['broadcastTo'], fn: (x) => M.broadcastTo(x, [4, 7]), inputs: [{ shape: [7] }] },
  { name: 'broadcastTo rank 4 middle axes', ops: ['broadcastTo'], fn: (x) => M.broadcastTo(x, [2, 3, 5, 3]), inputs: [{ shape: [2, 1, 5, 1] }] },
  // trailing broadcast axes of 4k elements: one invocation per row (strided_copy `rows`)
  { name: 'broadcastTo trailing axes (rows of 16)', ops: ['broadcastTo'], fn: (x) => M.broadcastTo(x, [2, 3, 4, 4]), inputs: [{ shape: [2, 3, 1, 1] }] },
  { name: 'broadcastTo middle and trailing axes (merged: rows of 40)', ops: ['broadcastTo'], fn: (x) => M.broadcastTo(x, [3, 5, 8]), inputs: [{ shape: [3, 1, 1] }] },
  { name: 'broadcastTo scalar to 12 (one row)', ops: ['broadcastTo'], fn: (x) => M.broadcastTo(x, [12]), inputs: [{ shape: [] }] },
  { name: 'broadcastTo scalar large (>70000 elements)', ops: ['broadcastTo'], fn: (x) => M.broadcastTo(x, [300, 251]), inputs: [{ shape: [] }], grad: false },
  { name: 'expand with -1', ops: ['expand'], fn: (x) => M.expand(x, [3, -1, 4]), inputs: [{ shape: [5, 1] }] },
];

const concatCases: OpCase[] = [
  { name: 'concat rank 1 three inputs', ops: ['concat'], fn: (a, b, c) => M.concat([a, b, c]), inputs: [{ shape: [3] }, { shape: [5] }, { shape: [1] }] },
  { name: 'concat rank 3 middle axis', ops: ['concat'], fn: (a, b) => M.concat([a, b], 1), inputs: [{ shape: [2, 3, 5] }, { shape: [2, 4, 5] }] },
  { name: 'concat last axis negative', ops: ['concat'], fn: (a, b) => M.concat([a, b], -1), inputs: [{ shape: [3, 2, 7] }, { shape: [3, 2, 1] }] },
  { name: 'concat rank 5 with an empty input', ops: ['concat'], fn: (a, b, c) => M.concat([a, b, c], 2), inputs: [{ shape: [2, 1, 3, 2, 3] }, { shape: [2, 1, 0, 2, 3] }, { shape: [2, 1, 2, 2, 3] }] },
  { name: 'concat large (>70000 elements) on axis 1', ops: ['concat'], fn: (a, b) => M.concat([a, b], 1), inputs: [{ shape: [263, 150] }, { shape: [263, 121] }], grad: false },
  { name: 'concat i32', ops: ['concat'], fn: (a, b) => M.concat([a, b], 0), inputs: [{ shape: [2, 3], dtype: 'i32' }, { shape: [1, 3], dtype: 'i32' }], grad: false },
];

const castCases: OpCase[] = [
  { name: 'cast f32 -> i32 truncates toward zero', ops: ['cast'], fn: (x) => M.cast(x, 'i32'), grad: false,
    inputs: [{ shape: [10], values: [2.7, -2.7, 0.5, -0.5, 0, 1e6 + 0.5, -123.99, 3, -3, 100.01] }] },
  { name: 'cast f32 -> u32 (negative saturates to 0)', ops: ['cast'], fn: (x) => M.cast(x, 'u32'), grad: false,
    inputs: [{ shape: [6], values: [2.7, 0.2, 3e9, -0.5, -3.7, 65536.9] }] },
  { name: 'cast i32 -> f32 -> i32 roundtrip and i32 -> u32', ops: ['cast'], grad: false,
    fn: (x) => M.cast(M.cast(M.cast(x, 'f32'), 'i32'), 'u32'), inputs: [{ shape: [4, 5], dtype: 'i32', low: 0, high: 100000 }] },
  { name: 'cast i32 -> u32 -> i32 wraps bits', ops: ['cast'], grad: false,
    fn: (x) => M.cast(M.cast(x, 'u32'), 'i32'), inputs: [{ shape: [5], dtype: 'i32', values: [-1, -2147483648, 2147483647, 0, -77] }] },
  { name: 'cast u32 -> f32 and u32 -> i32', ops: ['cast'], grad: false,
    fn: (x) => E.add(M.cast(x, 'f32'), M.cast(M.cast(x, 'i32'), 'f32')), inputs: [{ shape: [4], dtype: 'u32', values: [0, 7, 4000000000, 2147483648] }] },
  { name: 'cast large f32 -> i32 (>70000 elements)', ops: ['cast'], fn: (x) => M.cast(x, 'i32'), inputs: [{ shape: [271, 263], low: -1000, high: 1000 }], grad: false },
];

export const movementCases: OpCase[] = polynomial([...viewCases, ...permuteCases, ...sliceCases, ...padCases, ...broadcastCases, ...concatCases, ...castCases]);

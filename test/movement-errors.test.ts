/** Movement ops reject bad arguments with typed errors that name the op and the shapes or values. */
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../engine/cpu/backend.js';
import { ArgumentError, DTypeError, ShapeError } from '../engine/errors.js';
import * as M from '../engine/ops/movement.js';
import type { Tensor } from '../engine/tensor.js';
import { tensorOn } from './helpers.js';

const cpu = new CpuBackend();
const t = (shape: number[], dtype: 'f32' | 'i32' = 'f32'): Tensor =>
  tensorOn(cpu, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i), shape, dtype);

function expectError(fn: () => unknown, type: new (...a: any[]) => Error, ...parts: string[]): void {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, 'expected an error').toBeInstanceOf(type);
  for (const p of parts) expect((err as Error).message).toContain(p);
}

describe('reshape family errors', () => {
  it('reshape names both shapes and element counts', () => {
    expectError(() => M.reshape(t([2, 3]), [4, 2]), ShapeError, 'reshape: cannot reshape [2,3] (6 elements) to [4,2] (8 elements)');
  });
  it('reshape with -1 that does not divide', () => {
    expectError(() => M.reshape(t([2, 3]), [4, -1]), ShapeError, 'reshape', '[2,3]', '[4,-1]');
  });
  it('reshape with two -1 or bad sizes', () => {
    expectError(() => M.reshape(t([2, 3]), [-1, -1]), ArgumentError, 'reshape', 'only one dimension can be -1');
    expectError(() => M.reshape(t([2, 3]), [2.5, 2]), ArgumentError, 'reshape', '[2.5,2]');
    expectError(() => M.reshape(t([0, 3]), [0, -1]), ShapeError, 'reshape', '[0,3]');
  });
  it('flatten, squeeze and unsqueeze check axes', () => {
    expectError(() => M.flatten(t([2, 3]), 2), ArgumentError, 'flatten', 'axis 2 out of range for rank 2');
    expectError(() => M.flatten(t([2, 3, 4]), 2, 1), ArgumentError, 'flatten', '[2,3,4]');
    expectError(() => M.squeeze(t([2, 1, 3]), 0), ShapeError, 'squeeze', 'axis 0 of [2,1,3] has size 2');
    expectError(() => M.unsqueeze(t([2, 3]), 3), ArgumentError, 'unsqueeze', 'axis 3 out of range for rank 3');
  });
});

describe('strided copy op errors', () => {
  it('permute rejects non-permutations', () => {
    expectError(() => M.permute(t([2, 3, 4]), [0, 0, 1]), ArgumentError, 'permute', '[0,0,1] is not a permutation', '[2,3,4]');
    expectError(() => M.permute(t([2, 3, 4]), [0, 1]), ArgumentError, 'permute', '[0,1]', '[2,3,4]');
    expectError(() => M.permute(t([2, 3]), [0, 2]), ArgumentError, 'permute', '[0,2]', '[2,3]');
  });
  it('transpose checks its axes', () => {
    expectError(() => M.transpose(t([5])), ArgumentError, 'transpose', 'axis -2 out of range for rank 1');
  });
  it('slice out of range', () => {
    expectError(() => M.slice(t([4, 5]), [1, 3], [2, 3]), ArgumentError, 'slice', 'begin 3, size 3 runs past the end of axis 1 of [4,5]');
    expectError(() => M.slice(t([4, 5]), [5], [-1]), ArgumentError, 'slice', 'begin 5 is out of range on axis 0 of [4,5]');
    expectError(() => M.slice(t([4, 5]), [-5], [1]), ArgumentError, 'slice', 'begin -5', '[4,5]');
    expectError(() => M.slice(t([9]), [1], [4], [3]), ArgumentError, 'slice', 'step 3', '[9]');
  });
  it('slice argument lengths and values', () => {
    expectError(() => M.slice(t([4, 5]), [0, 0, 0], [1, 1, 1]), ArgumentError, 'slice', 'at most 2', '[4,5]');
    expectError(() => M.slice(t([4, 5]), [0, 0], [1]), ArgumentError, 'slice', 'begin [0,0], size [1]');
    expectError(() => M.slice(t([4, 5]), [0], [-2]), ArgumentError, 'slice', 'size');
    expectError(() => M.slice(t([4, 5]), [0], [1], [0]), ArgumentError, 'slice', 'step must be an array of integers >= 1, got [0]');
  });
  it('broadcastTo and expand reject incompatible shapes', () => {
    expectError(() => M.broadcastTo(t([3, 2]), [3, 4]), ShapeError, 'broadcastTo: cannot broadcast [3,2] to [3,4]');
    expectError(() => M.broadcastTo(t([2, 3]), [3]), ShapeError, 'broadcastTo: cannot broadcast [2,3] to [3]');
    expectError(() => M.broadcastTo(t([3]), [2, -3]), ArgumentError, 'broadcastTo', '[2,-3]');
    expectError(() => M.expand(t([3, 1]), [-1, 2, 4]), ShapeError, 'expand', '[3,1]', '[-1,2,4]');
    expectError(() => M.expand(t([3, 1]), [4, 2]), ShapeError, 'broadcastTo: cannot broadcast [3,1] to [4,2]');
  });
});

describe('scatter copy op errors', () => {
  it('concat names the offending input and shapes', () => {
    expectError(() => M.concat([t([2, 3]), t([2, 3]), t([3, 4])], 0), ShapeError, 'concat', 'input 2 has shape [3,4]', 'input 0 [2,3]', 'axis 0');
    expectError(() => M.concat([t([2, 3]), t([2, 3, 1])], 1), ShapeError, 'concat', 'input 1 has shape [2,3,1]');
    expectError(() => M.concat([t([2, 3]), t([2, 3], 'i32')], 0), DTypeError, 'concat', 'input 1 is i32 [2,3]', 'input 0 is f32 [2,3]');
  });
  it('concat needs inputs and a valid axis', () => {
    expectError(() => M.concat([], 0), ArgumentError, 'concat', 'at least one tensor');
    expectError(() => M.concat([t([2, 3])], 2), ArgumentError, 'concat', 'axis 2 out of range for rank 2');
    expectError(() => M.concat([t([])], 0), ShapeError, 'concat', 'rank-0');
  });
  it('pad wants one non-negative [before, after] pair per axis', () => {
    expectError(() => M.pad(t([2, 3]), [[1, 1]]), ArgumentError, 'pad', '[2,3]', '[[1,1]]');
    expectError(() => M.pad(t([2, 3]), [[1, 1], [-1, 0]]), ArgumentError, 'pad', '[[1,1],[-1,0]]');
  });
});

describe('cast errors', () => {
  it('rejects an unknown dtype', () => {
    expectError(() => M.cast(t([2]), 'f16' as never), ArgumentError, 'cast', 'unknown dtype f16', '[2] f32');
  });
  it('cast output does not require grad', () => {
    const x = t([3]);
    x.requiresGrad = true;
    expect(M.cast(x, 'i32').requiresGrad).toBe(false);
  });
});

describe('views share storage', () => {
  it('reshape, flatten, squeeze, unsqueeze and contiguous allocate nothing', () => {
    const b = new CpuBackend();
    const x = tensorOn(b, [1, 2, 3, 4, 5, 6], [1, 2, 3]);
    const before = b.memory().liveBuffers;
    const ys = [M.reshape(x, [3, -1]), M.flatten(x), M.squeeze(x), M.unsqueeze(x, 0), M.contiguous(x)];
    expect(b.memory().liveBuffers).toBe(before);
    expect(ys.map((y) => y.shape)).toEqual([[3, 2], [1, 6], [2, 3], [1, 1, 2, 3], [1, 2, 3]]);
    ys.forEach((y) => y.dispose());
    expect(b.memory().liveBuffers).toBe(before);
    x.dispose();
    expect(b.memory().liveBuffers).toBe(0);
  });
});

/**
 * Movement kernels on more than 65535 workgroups of 256 (over 16.7M elements), so grid() splits
 * the dispatch over x and y and the kernels must rebuild the element index from both.
 */
import { describe, expect, it } from 'vitest';
import { grid } from '../engine/webgpu/backend.js';
import * as M from '../engine/ops/movement.js';
import { gpu, tensorOn } from './helpers.js';

const N = 4097; // N*N = 16,785,409 elements > 65535 * 256

function firstMismatch(got: ArrayLike<number>, want: (i: number) => number): string | null {
  for (let i = 0; i < got.length; i++) if (got[i] !== want(i)) return `element ${i}: got ${got[i]}, expected ${want(i)}`;
  return null;
}

describe('movement kernels on a 2-D dispatch grid', () => {
  it('the sizes really need the y dimension', () => {
    expect(grid(Math.ceil((N * N) / 256))[1]).toBeGreaterThan(1);
  });

  it('permute (strided_copy) and concat (scatter_copy) of 16.8M i32 elements', async () => {
    const g = await gpu();
    const values = new Int32Array(N * N).map((_, i) => i);
    const x = tensorOn(g, values, [N, N], 'i32');
    const y = M.permute(x, [1, 0]);
    const got = await y.data();
    expect(firstMismatch(got, (i) => (i % N) * N + Math.floor(i / N))).toBeNull();
    y.dispose();

    // concat along axis 1 scatters each input through a strided region of the output
    const a = M.slice(x, [0, 0], [-1, 3]);
    const c = M.concat([a, x], 1);
    const gc = await c.data();
    expect(firstMismatch(gc, (i) => {
      const r = Math.floor(i / (N + 3)), k = i % (N + 3);
      return k < 3 ? r * N + k : r * N + (k - 3);
    })).toBeNull();
    [a, c, x].forEach((t) => t.dispose());
  });
});

/**
 * The chunked NT-Xent kernels (engine/ops/ntxent.ts): several chunks of anchor rows, a ragged last
 * chunk and chunk sizes that are not a multiple of the matmul tile give the float64 CPU reference's
 * loss, accuracy, per-row logsumexp and gradient; the chunk budget picks whole tiles and bounds
 * memory whatever the batch.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { backward } from '../engine/autograd.js';
import { CpuBackend } from '../engine/cpu/backend.js';
import { Random } from '../engine/random.js';
import type { Backend } from '../engine/backend.js';
import { ntXent, ntXentChunkRows, ntXentRows, setNtXentChunkRows } from '../engine/ops/index.js';
import { expectClose, gpu, tensorOn } from './helpers.js';

async function run(b: Backend, values: number[], m: number, d: number, tau: number) {
  const z = tensorOn(b, values, [m, d]);
  z.requiresGrad = true;
  const { loss, accuracy } = ntXent(z, tau);
  const rows = ntXentRows(z, tau);
  const out = {
    loss: await loss.item(), accuracy: await accuracy.item(),
    lse: Array.from(await rows.lse.data()), correct: Array.from(await rows.correct.data()),
  };
  backward(loss);
  const grad = Array.from(await z.grad!.data());
  for (const t of [loss, accuracy, rows.loss, rows.lse, rows.correct, z]) t.dispose();
  return { ...out, grad };
}

describe('ntXent in chunks', () => {
  afterEach(() => setNtXentChunkRows(null));

  it('gives the CPU reference for 1, 3 (ragged) and 43 chunks of anchor rows', async () => {
    const m = 300, d = 24, tau = 0.2;
    const rng = new Random(4);
    // pairs of correlated views, so both correct and incorrect anchors occur
    const base = Array.from({ length: (m / 2) * d }, () => rng.uniform() * 2 - 1);
    const values = [...base, ...base.map((x) => x + 1.5 * (rng.uniform() * 2 - 1))];
    const ref = await run(new CpuBackend(), values, m, d, tau);
    expect(ref.accuracy).toBeGreaterThan(0.1);
    expect(ref.accuracy).toBeLessThan(0.9);
    const g = await gpu();
    for (const rows of [null, 128, 7]) {
      setNtXentChunkRows(rows);
      const r = await run(g, values, m, d, tau);
      expectClose([r.loss], [ref.loss], { atol: 1e-5, rtol: 1e-5 });
      expect(r.accuracy).toBeCloseTo(ref.accuracy, 6);
      expectClose(r.lse, ref.lse, { atol: 1e-5, rtol: 1e-5 });
      expect(r.correct).toEqual(ref.correct);
      expectClose(r.grad, ref.grad, { atol: 1e-7, rtol: 1e-3 });
    }
  });

  it('sizes chunks by a 16 MiB budget in whole 128-row tiles, capped by the binding limit', () => {
    expect(ntXentChunkRows(512, 2 ** 27)).toBe(512); // one chunk: 1 MiB
    expect(ntXentChunkRows(2048, 2 ** 27)).toBe(2048); // 16 MiB
    expect(ntXentChunkRows(8192, 2 ** 27)).toBe(512);
    expect(ntXentChunkRows(16384, 2 ** 27)).toBe(256);
    expect(ntXentChunkRows(16384, 2 ** 22)).toBe(64); // a 4 MiB binding limit: 64 rows (less than a tile)
    expect(ntXentChunkRows(3000, 2 ** 27) % 128).toBe(0);
  });
});

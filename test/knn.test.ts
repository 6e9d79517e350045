/**
 * Weighted kNN monitor (InstDisc / SimCLR): a hand-checked tiny case, agreement with a brute-force
 * float64 host implementation (several k and T, chunk boundaries, k > Nb), chunked similarity
 * blocks, well-separated clusters, argument validation; on WebGPU and on the CPU reference.
 */
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../engine/cpu/backend.js';
import { Random } from '../engine/random.js';
import type { Backend } from '../engine/backend.js';
import { knnEvaluate } from '../simclr/index.js';
import { gpu, tensorOn } from './helpers.js';

const backends: [string, () => Promise<Backend>][] = [
  ['cpu', async () => new CpuBackend()],
  ['webgpu', gpu],
];

interface RefResult { predictions: Int32Array; top1: number; ambiguous: boolean[] }

/**
 * Brute force in float64 from the same (f32) values: normalize, all similarities, full sort by
 * (sim desc, index asc), weights exp(sim / T). A query is "ambiguous" when float32 rounding on the
 * device could change its answer: its k-th and (k+1)-th similarities, or its two best class
 * scores, are within a small tolerance.
 */
function knnReference(bank: Float32Array, bl: Int32Array, q: Float32Array, ql: Int32Array, d: number, k: number, T: number, numClasses: number): RefResult {
  const nb = bl.length, nq = ql.length;
  const norm = (x: Float32Array, n: number) => {
    const out = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += x[i * d + j] ** 2;
      const inv = 1 / Math.max(Math.sqrt(s), 1e-6);
      for (let j = 0; j < d; j++) out[i * d + j] = x[i * d + j] * inv;
    }
    return out;
  };
  const B = norm(bank, nb), Q = norm(q, nq);
  const kk = Math.min(k, nb);
  const predictions = new Int32Array(nq);
  const ambiguous: boolean[] = [];
  let correct = 0;
  for (let i = 0; i < nq; i++) {
    const sims = Array.from({ length: nb }, (_, j) => {
      let s = 0;
      for (let c = 0; c < d; c++) s += Q[i * d + c] * B[j * d + c];
      return s;
    });
    const order = sims.map((_, j) => j).sort((a, b) => sims[b] - sims[a] || a - b);
    const votes = new Float64Array(numClasses);
    for (let j = 0; j < kk; j++) votes[bl[order[j]]] += Math.exp(sims[order[j]] / T);
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (votes[c] > votes[best]) best = c;
    const sorted = [...votes].sort((a, b) => b - a);
    const boundary = kk < nb && sims[order[kk - 1]] - sims[order[kk]] < 1e-5;
    const close = numClasses > 1 && sorted[0] - sorted[1] < 1e-3 * sorted[0];
    ambiguous.push(boundary || close);
    predictions[i] = best;
    if (best === ql[i]) correct++;
  }
  return { predictions, top1: correct / nq, ambiguous };
}

/** Gaussian features around weak class means, so predictions depend on k and T. */
function randomData(rng: Random, n: number, d: number, numClasses: number, means: Float64Array, spread: number) {
  const x = new Float32Array(n * d);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.int(numClasses);
    labels[i] = c;
    for (let j = 0; j < d; j++) x[i * d + j] = means[c * d + j] + spread * rng.normal();
  }
  return { x, labels };
}

/** Counts the size of every read-back (the similarity blocks). */
function recordReads(b: Backend): number[] {
  const sizes: number[] = [];
  const orig = b.read.bind(b);
  (b as { read: Backend['read'] }).read = ((s, dtype, size) => { sizes.push(size); return orig(s, dtype, size); }) as Backend['read'];
  return sizes;
}

describe.each(backends)('knnEvaluate on %s', (_name, getBackend) => {
  it('tiny hand-checked case: neighbours, exp(sim/T) weights, k and T change the vote', async () => {
    const b = await getBackend();
    // Bank (scaled by 3 to check the normalization): sims with q0 = (1,0) are 1, 0.8, 0.6, 0;
    // with q1 = (0,1) they are 0, 0.6, 0.8, 1.
    const bank = tensorOn(b, [3, 0, 2.4, 1.8, 1.8, 2.4, 0, 3], [4, 2]);
    const bl = Int32Array.from([0, 1, 1, 0]);
    const queries = tensorOn(b, [2, 0, 0, 0.5], [2, 2]);
    const ql = Int32Array.from([0, 1]);
    const run = (k: number, temperature: number) => knnEvaluate(bank, bl, queries, ql, { k, temperature, numClasses: 2 });
    // k = 1: the nearest neighbour alone: label 0 for both queries.
    expect(Array.from((await run(1, 0.1)).predictions)).toEqual([0, 0]);
    // k = 3, T = 0.1: q0 votes class 0: e^10 = 22026 against class 1: e^8 + e^6 = 3384.
    let r = await run(3, 0.1);
    expect(Array.from(r.predictions)).toEqual([0, 0]);
    expect(r.top1).toBe(0.5);
    // k = 3, T = 1: class 0: e^1 = 2.718 against class 1: e^0.8 + e^0.6 = 4.048.
    r = await run(3, 1);
    expect(Math.exp(1)).toBeLessThan(Math.exp(0.8) + Math.exp(0.6));
    expect(Array.from(r.predictions)).toEqual([1, 1]);
    expect(r.top1).toBe(0.5);
    // k = 4, T = 1: class 0 gains e^0 = 1: 3.718 < 4.048, still class 1. k = 4, T = 0.1: class 0.
    expect(Array.from((await run(4, 1)).predictions)).toEqual([1, 1]);
    expect(Array.from((await run(4, 0.1)).predictions)).toEqual([0, 0]);
    // T = 0.3 sits between: e^(1/0.3) = 28.0 against e^(0.8/0.3) + e^2 = 21.8: class 0.
    expect(Array.from((await run(3, 0.3)).predictions)).toEqual([0, 0]);
    // k > Nb clamps to Nb (same as k = 4); the default k (200) too.
    expect(Array.from((await run(1000, 1)).predictions)).toEqual([1, 1]);
    expect(Array.from((await knnEvaluate(bank, bl, queries, ql, { numClasses: 2, temperature: 1 })).predictions)).toEqual([1, 1]);
    // Tiny T does not overflow: exp(sim/T) with T = 1e-3 would be Infinity without rescaling.
    expect(Array.from((await run(3, 1e-3)).predictions)).toEqual([0, 0]);
    bank.dispose(); queries.dispose();
  });

  it('agrees with a brute-force float64 implementation (several k, T, chunk sizes)', async () => {
    const b = await getBackend();
    const rng = new Random(7);
    const d = 16, numClasses = 5, nb = 300, nq = 77;
    const means = Float64Array.from({ length: numClasses * d }, () => rng.normal());
    const bankD = randomData(rng, nb, d, numClasses, means, 1.5);
    const qD = randomData(rng, nq, d, numClasses, means, 1.5);
    const bank = tensorOn(b, bankD.x, [nb, d]);
    const queries = tensorOn(b, qD.x, [nq, d]);
    const live = b.memory().liveBuffers;
    let compared = 0, total = 0;
    const distinct = new Set<string>();
    for (const [k, T, chunk] of [[1, 0.1, 32], [7, 0.05, 77], [20, 0.1, 1], [50, 0.5, 30], [200, 0.1, 256], [300, 1, 64], [1000, 0.07, 10]]) {
      const ref = knnReference(bankD.x, bankD.labels, qD.x, qD.labels, d, k, T, numClasses);
      const got = await knnEvaluate(bank, bankD.labels, queries, qD.labels, { k, temperature: T, numClasses, chunk });
      expect(got.predictions.length).toBe(nq);
      let mismatches = 0;
      for (let i = 0; i < nq; i++) {
        total++;
        if (ref.ambiguous[i]) continue;
        compared++;
        if (got.predictions[i] !== ref.predictions[i]) mismatches++;
      }
      expect(mismatches, `k=${k} T=${T} chunk=${chunk}`).toBe(0);
      const amb = ref.ambiguous.filter(Boolean).length;
      expect(Math.abs(got.top1 - ref.top1)).toBeLessThanOrEqual(amb / nq + 1e-12);
      distinct.add(Array.from(ref.predictions).join());
    }
    // Nearly every query is unambiguous, and the settings give different answers (a real test).
    expect(compared).toBeGreaterThan(0.95 * total);
    expect(distinct.size).toBeGreaterThan(3);
    // k beyond the bank is exactly k = Nb.
    const a = await knnEvaluate(bank, bankD.labels, queries, qD.labels, { k: nb, numClasses, chunk: 40 });
    const c = await knnEvaluate(bank, bankD.labels, queries, qD.labels, { k: 5 * nb, numClasses, chunk: 13 });
    expect(Array.from(c.predictions)).toEqual(Array.from(a.predictions));
    expect(c.top1).toBe(a.top1);
    // Nothing leaked; the inputs are untouched.
    expect(b.memory().liveBuffers).toBe(live);
    expect(Array.from(await queries.data())).toEqual(Array.from(qD.x));
    bank.dispose(); queries.dispose();
  });

  it('computes similarities in [chunk, Nb] blocks; Nq not a multiple of chunk', async () => {
    const b = await getBackend();
    const rng = new Random(3);
    const d = 8, nb = 50, nq = 23, numClasses = 3;
    const means = Float64Array.from({ length: numClasses * d }, () => rng.normal());
    const bankD = randomData(rng, nb, d, numClasses, means, 1);
    const qD = randomData(rng, nq, d, numClasses, means, 1);
    const bank = tensorOn(b, bankD.x, [nb, d]);
    const queries = tensorOn(b, qD.x, [nq, d]);
    const whole = await knnEvaluate(bank, bankD.labels, queries, qD.labels, { k: 10, numClasses, chunk: 1000 });
    for (const chunk of [1, 5, 10, 22, 23, 24]) {
      const sizes = recordReads(b);
      const r = await knnEvaluate(bank, bankD.labels, queries, qD.labels, { k: 10, numClasses, chunk });
      delete (b as { read?: unknown }).read; // back to the prototype's read
      const blocks = Math.ceil(nq / chunk);
      expect(sizes.length, `chunk ${chunk}`).toBe(blocks);
      expect(sizes.slice(0, -1).every((s) => s === chunk * nb)).toBe(true);
      expect(sizes[blocks - 1]).toBe((nq - (blocks - 1) * chunk) * nb);
      expect(Array.from(r.predictions)).toEqual(Array.from(whole.predictions));
      expect(r.top1).toBe(whole.top1);
    }
    bank.dispose(); queries.dispose();
  });

  it('well-separated clusters give top1 = 1 with the defaults (k = 200, T = 0.1, chunk = 256)', async () => {
    const b = await getBackend();
    const rng = new Random(11);
    const d = 32, numClasses = 8;
    // One-hot class directions, small noise.
    const means = new Float64Array(numClasses * d);
    for (let c = 0; c < numClasses; c++) means[c * d + c * 4] = 1;
    const bankD = randomData(rng, 800, d, numClasses, means, 0.05);
    const qD = randomData(rng, 300, d, numClasses, means, 0.05);
    const bank = tensorOn(b, bankD.x, [800, d]);
    const queries = tensorOn(b, qD.x, [300, d]);
    const r = await knnEvaluate(bank, bankD.labels, queries, qD.labels, { numClasses });
    expect(r.top1).toBe(1);
    expect(Array.from(r.predictions)).toEqual(Array.from(qD.labels));
    bank.dispose(); queries.dispose();
  });
});

describe('knnEvaluate argument checks', () => {
  it('names the function and the shapes', async () => {
    const c = new CpuBackend();
    const bank = tensorOn(c, new Array(12).fill(1), [4, 3]);
    const q = tensorOn(c, new Array(6).fill(1), [2, 3]);
    const bl = Int32Array.from([0, 1, 0, 1]);
    const ql = Int32Array.from([0, 1]);
    const ok = { numClasses: 2 };
    const bad = async (p: Promise<unknown>, re: RegExp) => { await expect(p).rejects.toThrow(re); };
    await bad(knnEvaluate(tensorOn(c, [1, 2, 3], [3]), bl, q, ql, ok), /knnEvaluate: bank must be \[Nb, d\], got \[3\]/);
    await bad(knnEvaluate(bank, bl, tensorOn(c, [1, 2], [1, 2]), ql, ok), /knnEvaluate: feature widths differ: bank \[4,3\] vs queries \[1,2\]/);
    await bad(knnEvaluate(bank, Int32Array.from([0, 1]), q, ql, ok), /knnEvaluate: bankLabels has 2 entries but the features are \[4,3\]/);
    await bad(knnEvaluate(bank, bl, q, Int32Array.from([0]), ok), /knnEvaluate: queryLabels has 1 entries but the features are \[2,3\]/);
    await bad(knnEvaluate(bank, Int32Array.from([0, 1, 2, 1]), q, ql, ok), /knnEvaluate: bankLabels\[2\] = 2 is outside \[0, 2\)/);
    await bad(knnEvaluate(bank, bl, q, Int32Array.from([-1, 0]), ok), /queryLabels\[0\] = -1/);
    await bad(knnEvaluate(bank, bl, q, ql, {} as { numClasses: number }), /knnEvaluate: numClasses must be a positive integer/);
    await bad(knnEvaluate(bank, bl, q, ql, { numClasses: 2, k: 0 }), /knnEvaluate: k must be a positive integer, got 0/);
    await bad(knnEvaluate(bank, bl, q, ql, { numClasses: 2, temperature: 0 }), /knnEvaluate: temperature must be/);
    await bad(knnEvaluate(bank, bl, q, ql, { numClasses: 2, chunk: 2.5 }), /knnEvaluate: chunk must be a positive integer, got 2.5/);
    await bad(knnEvaluate(tensorOn(c, [], [0, 3]), new Int32Array(0), q, ql, ok), /knnEvaluate: bank is empty: \[0,3\]/);
    await bad(knnEvaluate(tensorOn(c, new Array(12).fill(0), [4, 3], 'i32'), bl, q, ql, ok), /knnEvaluate: bank and queries must be f32, got i32 and f32/);
    await bad(knnEvaluate(bank, [0, 1, 0, 1] as unknown as Int32Array, q, ql, ok), /knnEvaluate: bankLabels must be an Int32Array/);
    // No queries: top1 0, no predictions.
    const r = await knnEvaluate(bank, bl, tensorOn(c, [], [0, 3]), new Int32Array(0), ok);
    expect(r.top1).toBe(0);
    expect(r.predictions.length).toBe(0);
  });
});

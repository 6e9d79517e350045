/**
 * matmul beyond the shared op cases: every kernel variant (not only the one this device selects,
 * so the real-GPU tiled kernel runs here too) against the CPU reference, for all four transpose
 * combinations, odd sizes, sizes spanning several tiles of every variant in M and N with partial
 * last tiles, batches and broadcast batches; gradients at a size spanning several tiles; and the
 * shape errors.
 *
 * Lavapipe compiles one pipeline per set of override constants (cold: about a second each). The
 * constants are the kernel's tiling, the trans flags and the vector-load flags (a dimension % 4),
 * so every shape has M, K and N all multiples of 4 or all not: two pipelines per transpose
 * combination and variant, with both load paths of both operands exercised.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CpuBackend } from '../engine/cpu/backend.js';
import { backward } from '../engine/autograd.js';
import { Random } from '../engine/random.js';
import { ShapeError } from '../engine/errors.js';
import { hasSubgroups8, matmul, matmulKernelFor, setMatmulKernel, type MatmulKernel } from '../engine/ops/matmul.js';
import type { Backend } from '../engine/backend.js';
import { matmulShapes } from './cases/matmul.js';
import { expectClose, gpu, makeValues, tensorOn } from './helpers.js';

const VARIANTS: MatmulKernel[] = [
  { kind: 'subgroup', tm: 16, tn: 4, wg: 64, sgn: 1 },
  { kind: 'subgroup', tm: 8, tn: 8, wg: 64, sgn: 2 },
  { kind: 'subgroup', tm: 24, tn: 4, wg: 32, sgn: 1, vec: false },
  { kind: 'register', tm: 8, tn: 4, wg: 64, wgn: 64 },
  { kind: 'register', tm: 4, tn: 8, wg: 64, wgn: 8 },
  { kind: 'register', tm: 8, tn: 4, wg: 64, wgn: 64, vec: false },
  { kind: 'tiled' },
];
const name = (k: MatmulKernel) => JSON.stringify(k);

type Trans = [boolean, boolean];
const TRANS: Trans[] = [[false, false], [false, true], [true, false], [true, true]];
// [M, K, N, batchA, batchB]
const SHAPES: [number, number, number, number[], number[]][] = [
  [1, 1, 1, [], []],
  [7, 13, 5, [], []],
  [33, 65, 17, [], []],
  // several tiles of every variant in M and N, the last partial: scalar, then vector loads
  [130, 70, 262, [], []],
  [132, 48, 260, [], []],
  [20, 12, 36, [3], [3]],
  [9, 7, 13, [], [2]],
  [12, 8, 16, [2], []],
];
const MULTI_TILE = SHAPES.slice(3, 5);

afterEach(() => setMatmulKernel(null));

async function run(b: Backend, values: number[][], shapes: { shape: number[] }[], t: Trans) {
  const [x, y] = shapes.map((s, i) => tensorOn(b, values[i], s.shape));
  const out = matmul(x, y, { transA: t[0], transB: t[1] });
  const data = Float64Array.from(await out.data());
  const shape = out.shape;
  [x, y, out].forEach((v) => v.dispose());
  return { data, shape };
}

// Inputs and CPU results, computed once for all variants.
const rng = new Random(3);
const CASES = SHAPES.flatMap(([M, K, N, ba, bb]) => TRANS.map((t) => {
  const shapes = matmulShapes(M, K, N, t, ba, bb);
  const values = shapes.map((s) => makeValues(s, rng));
  return { M, K, N, t, shapes, values, ref: run(new CpuBackend(), values, shapes, t) };
}));

/** Rows and columns of C one workgroup computes (engine/ops/matmul.ts matmulGpu). */
function tileOf(k: MatmulKernel): [number, number] {
  if (k.kind === 'tiled') return [64, 64];
  if (k.kind === 'register') return [k.tm * (k.wg / k.wgn), k.tn * k.wgn];
  return [k.tm * (k.wg / 8 / k.sgn), k.tn * 8 * k.sgn];
}

describe('matmul kernel variants match the CPU reference', () => {
  for (const k of VARIANTS) {
    it(name(k), async (ctx) => {
      const g = await gpu();
      ctx.skip(k.kind === 'subgroup' && !hasSubgroups8(g), `${g.label} has no 8-wide subgroups, so it cannot run the subgroup kernel`);
      for (const { M, K, N, t, shapes, values, ref: pending } of CASES) {
        const ref = await pending;
        setMatmulKernel(k);
        const got = await run(g, values, shapes, t);
        setMatmulKernel(null);
        const label = `${M}x${K}x${N} trans ${t} ${JSON.stringify(shapes.map((s) => s.shape))}`;
        expect(got.shape, label).toEqual(ref.shape);
        try { expectClose(got.data, ref.data, { atol: 1e-5 * Math.sqrt(K + 1), rtol: 1e-4 }); }
        catch (e) { throw new Error(`${label}: ${(e as Error).message}`); }
      }
    });
  }

  it('the multi-tile shapes span several tiles of every variant in M and N, the last one partial', () => {
    for (const k of VARIANTS) {
      const [tm, tn] = tileOf(k);
      for (const [M, , N] of MULTI_TILE) {
        expect([M / tm, N / tn].every((b) => b > 1), `${name(k)} ${M}x${N}`).toBe(true);
        expect([M % tm, N % tn].every((r) => r > 0), `${name(k)} ${M}x${N}`).toBe(true);
      }
    }
  });

  it('the per-device choice fits the adapter', async () => {
    const g = await gpu();
    const k = matmulKernelFor(g);
    if (!g.isCpuAdapter) expect(k.kind).toBe('tiled');
    else expect(k.kind).toBe(hasSubgroups8(g) ? 'subgroup' : 'register');
  });
});

describe('matmul through a transposed copy of an operand walked down long rows (CPU kernels)', () => {
  // [M, K, N, batchA, batchB, transA, transB, copies]: B [K, N] or A^T [K, M] with rows of 2048+
  // elements, the other side 128+ long (engine/ops/matmul.ts WALK_ROW, WALK_MIN_OTHER); a batched
  // A over a broadcast B is one tall product, so its 64 rows count twice
  const LONG: [number, number, number, number[], number[], boolean, boolean, number][] = [
    [128, 12, 2048, [], [], false, false, 1],
    [2048, 8, 132, [], [], true, false, 1],
    [2048, 8, 2052, [], [], true, false, 2],
    [128, 8, 2048, [2], [2], false, false, 1],
    [64, 4, 2048, [2], [], false, false, 1],
    [2048, 4, 128, [2], [2], true, true, 1],
    [2048, 8, 100, [], [], true, false, 0],
  ];
  for (const [M, K, N, ba, bb, ta, tb, copies] of LONG) {
    it(`${M}x${K}x${N} batches [${ba}] [${bb}] trans ${ta},${tb}: ${copies} transposed copies, the CPU reference's result`, async (ctx) => {
      const g = await gpu();
      ctx.skip(matmulKernelFor(g).kind === 'tiled', `${g.label} runs the workgroup-tiled kernel, which reads no transposed copy`);
      const t: Trans = [ta, tb];
      const shapes = matmulShapes(M, K, N, t, ba, bb);
      const values = shapes.map((s) => makeValues(s, new Random(M + N)));
      const ref = await run(new CpuBackend(), values, shapes, t);
      const shaders: string[] = [];
      const run0 = g.run.bind(g);
      g.run = (d) => { shaders.push(d.shader); run0(d); };
      const live = g.memory().liveBuffers;
      try {
        const got = await run(g, values, shapes, t);
        expect(got.shape).toEqual(ref.shape);
        expectClose(got.data, ref.data, { atol: 1e-4, rtol: 1e-4 });
      } finally {
        g.run = run0;
      }
      expect(shaders.filter((x) => x === 'transpose').length).toBe(copies);
      expect(g.memory().liveBuffers).toBe(live); // the copies went back to the pool
    });
  }
});

describe('matmul gradients across several tiles', () => {
  for (const t of TRANS) {
    it(`130x70x90 trans ${t} on WebGPU matches the CPU reference`, async () => {
      const shapes = matmulShapes(130, 70, 90, t);
      const rng = new Random(5);
      const values = shapes.map((s) => makeValues(s, rng));
      const grads = async (b: Backend) => {
        const [x, y] = shapes.map((s, i) => tensorOn(b, values[i], s.shape));
        x.requiresGrad = y.requiresGrad = true;
        const out = matmul(x, y, { transA: t[0], transB: t[1] });
        const w = tensorOn(b, makeValues({ shape: out.shape }, new Random(9)), out.shape);
        backward(out, { grad: w });
        const r = [Float64Array.from(await x.grad!.data()), Float64Array.from(await y.grad!.data())];
        [x, y, out, w].forEach((v) => v.dispose());
        return r;
      };
      const ref = await grads(new CpuBackend());
      const got = await grads(await gpu());
      expectClose(got[0], ref[0], { atol: 1e-4, rtol: 1e-4 });
      expectClose(got[1], ref[1], { atol: 1e-4, rtol: 1e-4 });
    });
  }
});

describe('matmul shape errors', () => {
  const cpu = new CpuBackend();
  const z = (shape: number[]) => tensorOn(cpu, new Array(shape.reduce((p, d) => p * d, 1)).fill(0), shape);
  it('names both shapes', () => {
    expect(() => matmul(z([32, 64]), z([63, 10]))).toThrow(new ShapeError('matmul', 'inner dimensions differ: [32,64] x [63,10]'));
  });
  it('mentions the trans flags when set', () => {
    expect(() => matmul(z([64, 32]), z([10, 63]), { transA: true, transB: true }))
      .toThrow('matmul: inner dimensions differ: [64,32] x [10,63] with transA, transB');
    expect(() => matmul(z([32, 64]), z([10, 63]), { transB: true })).toThrow('matmul: inner dimensions differ: [32,64] x [10,63] with transB');
  });
  it('rejects rank < 2 and mismatched batches', () => {
    expect(() => matmul(z([3]), z([3, 4]))).toThrow('matmul: expected inputs of rank >= 2, got [3] x [3,4]');
    expect(() => matmul(z([2, 3, 4]), z([5, 4, 6]))).toThrow(/matmul: batch dimensions differ: \[2,3,4\] x \[5,4,6\]/);
  });
});

/** Tensors, creation, random numbers, ownership (dispose, tidy) and autograd mechanics. */
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../engine/cpu/backend.js';
import { backward } from '../engine/autograd.js';
import { Random } from '../engine/random.js';
import { ASSIGN_COPY_MAX_BYTES, noGrad, tidy, tidyAsync } from '../engine/tensor.js';
import { ArgumentError, DeviceError, DisposedError, DTypeError, ShapeError } from '../engine/errors.js';
import { add, arange, exp, full, mul, rand, randint, randn, reshape, tensor, zeros, toBackend } from '../engine/ops/index.js';
import { gpu } from './helpers.js';

const cpu = () => new CpuBackend();

describe('creation', () => {
  it('builds tensors from nested arrays and flat values with a shape', async () => {
    const b = cpu();
    const t = tensor([[1, 2, 3], [4, 5, 6]], undefined, { backend: b });
    expect(t.shape).toEqual([2, 3]);
    expect(await t.array()).toEqual([[1, 2, 3], [4, 5, 6]]);
    const u = tensor([1, 2, 3, 4], [2, 2], { backend: b, dtype: 'i32' });
    expect(u.dtype).toBe('i32');
    expect(Array.from(await u.data())).toEqual([1, 2, 3, 4]);
    expect(await tensor(7, undefined, { backend: b }).item()).toBe(7);
  });

  it('rejects ragged arrays and wrong sizes with the op named', () => {
    const b = cpu();
    expect(() => tensor([[1, 2], [3]], undefined, { backend: b })).toThrow(/tensor: ragged/);
    expect(() => tensor([1, 2, 3], [2, 2], { backend: b })).toThrow('tensor: 3 values do not fill shape [2,2]');
    expect(() => zeros([2, -1], { backend: b })).toThrow(ArgumentError);
    expect(() => arange(0, 5, 0, { backend: b })).toThrow(/arange: step/);
  });

  it('fills on the GPU with a kernel (f32 and i32 bit patterns)', async () => {
    const g = await gpu();
    expect(Array.from(await full([3, 3], -2.5, { backend: g }).data())).toEqual(Array(9).fill(-2.5));
    expect(Array.from(await full([70000], 3, { backend: g, dtype: 'i32' }).data()).every((v) => v === 3)).toBe(true);
    expect(Array.from(await arange(1, 2, 0.25, { backend: g }).data())).toEqual([1, 1.25, 1.5, 1.75]);
  });
});

describe('seeded random numbers', () => {
  it('the same seed gives the same numbers; different seeds differ', () => {
    const a = new Random(5), b = new Random(5), c = new Random(6);
    const xs = Array.from({ length: 8 }, () => a.uniform());
    expect(Array.from({ length: 8 }, () => b.uniform())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.uniform())).not.toEqual(xs);
  });

  it('state can be saved and restored mid-stream', () => {
    const r = new Random(9);
    r.normal();
    const state = r.getState();
    const next = [r.normal(), r.uniform()];
    const s = new Random(0);
    s.setState(state);
    expect([s.normal(), s.uniform()]).toEqual(next);
  });

  it('moments of rand and randn are right, and the backends get identical values', async () => {
    const g = await gpu();
    const x = randn([20000], { rng: new Random(1), backend: cpu() });
    const v = Array.from(await x.data());
    const mean = v.reduce((s, a) => s + a, 0) / v.length;
    const varr = v.reduce((s, a) => s + (a - mean) ** 2, 0) / v.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(varr - 1)).toBeLessThan(0.05);
    const onGpu = randn([20000], { rng: new Random(1), backend: g });
    expect(Array.from(await onGpu.data())).toEqual(v);
    const u = Array.from(await rand([1000], { rng: new Random(2), low: 2, high: 3, backend: cpu() }).data());
    expect(u.every((a) => a >= 2 && a < 3)).toBe(true);
    const k = Array.from(await randint(0, 10, [1000], { rng: new Random(3), backend: cpu() }).data());
    expect(new Set(k).size).toBe(10);
    expect(k.every((a) => Number.isInteger(a) && a >= 0 && a < 10)).toBe(true);
  });
});

describe('ownership', () => {
  it('a disposed tensor cannot be used, and the error names op and tensor', () => {
    const b = cpu();
    const t = tensor([1, 2], undefined, { backend: b });
    t.dispose();
    t.dispose(); // idempotent
    expect(() => exp(t)).toThrow(DisposedError);
    expect(() => exp(t)).toThrow(/exp: tensor #\d+ \[2\] f32 was disposed/);
    expect(b.memory().liveBuffers).toBe(0);
  });

  it('mixing backends throws a DeviceError naming both', async () => {
    const g = await gpu();
    const a = tensor([1, 2], undefined, { backend: cpu() });
    const c = tensor([1, 2], undefined, { backend: g });
    expect(() => add(a, c)).toThrow(DeviceError);
    expect(() => add(a, c)).toThrow(/add: inputs live on different devices: cpu and webgpu/);
    const moved = await toBackend(a, g);
    expect(Array.from(await add(moved, c).data())).toEqual([2, 4]);
  });

  it.each([['cpu', async () => cpu()], ['webgpu', gpu]] as const)('assign on %s: into its own storage where no other handle shares it; else the handle moves and the others keep the old values', async (_n, make) => {
    const b = await make();
    const storageOf = (t: object) => (t as { _ref: { storage: unknown } })._ref.storage;
    const p = tensor([1, 2, 3, 4], undefined, { backend: b });
    const own = storageOf(p);
    const v = tensor([5, 6, 7, 8], undefined, { backend: b });
    p.assign(v);
    expect(storageOf(p)).toBe(own);
    v.dispose();
    expect(Array.from(await p.data())).toEqual([5, 6, 7, 8]);
    // a view shares p's storage: p now takes w's, the view keeps [5, 6, 7, 8], w is untouched by later assigns
    const view = reshape(p, [2, 2]);
    const w = tensor([9, 9, 9, 9], undefined, { backend: b });
    p.assign(w);
    expect(storageOf(p)).toBe(storageOf(w));
    p.assign(tensor([0, 0, 0, 1], undefined, { backend: b }));
    expect([Array.from(await p.data()), Array.from(await view.data()), Array.from(await w.data())]).toEqual([[0, 0, 0, 1], [5, 6, 7, 8], [9, 9, 9, 9]]);
    expect(() => p.assign(tensor([1, 2], undefined, { backend: b }))).toThrow('assign: expected [4] f32, got [2] f32');
    // from: a part of a flat value, copied into p's own storage, or (p shared) into a new one
    const flat = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], undefined, { backend: b });
    const q = tensor([0, 0, 0, 0], [2, 2], { backend: b });
    const qs = storageOf(q);
    q.assign(flat, 3);
    expect(storageOf(q)).toBe(qs);
    const qview = reshape(q, [4]);
    q.assign(flat, 6);
    expect(storageOf(q)).not.toBe(qs);
    expect([Array.from(await q.data()), Array.from(await qview.data()), q.shape]).toEqual([[7, 8, 9, 10], [4, 5, 6, 7], [2, 2]]);
    expect(() => q.assign(flat, 7)).toThrow('assign: expected f32 with elements 7..10, got [10] f32');
    expect(() => q.assign(flat, -1)).toThrow('assign: expected f32 with elements -1..2');
    // past ASSIGN_COPY_MAX_BYTES the handle takes the value's storage instead of copying
    const n = ASSIGN_COPY_MAX_BYTES / 4;
    for (const [size, copies] of [[n, true], [n + 1, false]] as const) {
      const t = zeros([size], { backend: b }), v = full([size], 2, { backend: b });
      const own = storageOf(t);
      t.assign(v);
      expect([size, storageOf(t) === (copies ? own : storageOf(v))]).toEqual([size, true]);
      expect((await t.data())[size - 1]).toBe(2);
      t.dispose(); v.dispose();
    }
  });

  it('tidy frees intermediates and keeps what it returns', () => {
    const b = cpu();
    const x = tensor([1, 2, 3], undefined, { backend: b });
    const y = tidy(() => add(exp(x), mul(x, 2)));
    expect(b.memory().liveBuffers).toBe(2);
    const kept = tidy(() => { const k = exp(x).keep(); exp(k); return { y: exp(y) }; });
    expect(b.memory().liveBuffers).toBe(3 + 1);
    kept.y.dispose(); y.dispose(); x.dispose();
    expect(b.memory().liveBuffers).toBe(1); // the kept one
  });

  it('tidyAsync frees what fn created across awaits, keeps what it returns and hands that to the enclosing scope', async () => {
    const b = cpu();
    const x = tensor([1, 2, 3], undefined, { backend: b });
    const { y, first } = await tidyAsync(async () => {
      const e = exp(x);
      const first = (await e.data())[0]; // an await inside the scope
      const y = mul(e, 2);
      exp(y); // dropped
      return { y, first };
    });
    expect(first).toBeCloseTo(Math.E, 6);
    (await y.data()).forEach((v, i) => expect(v).toBeCloseTo(2 * Math.exp(i + 1), 4));
    expect(b.memory().liveBuffers).toBe(2); // x, y
    let inner: ReturnType<typeof exp> | null = null;
    const outer = await tidyAsync(async () => {
      inner = await tidyAsync(async () => { await Promise.resolve(); return exp(x); });
      await Promise.resolve();
      expect(inner.isDisposed).toBe(false); // returned by the inner scope, now the outer one's
      return add(inner, 1);
    });
    expect(inner!.isDisposed).toBe(true); // not returned by the outer scope
    expect(outer.isDisposed).toBe(false);
    expect(b.memory().liveBuffers).toBe(3); // x, y, outer
    [x, y, outer].forEach((t) => t.dispose());
    expect(b.memory().liveBuffers).toBe(0);
  });

  it('tidy and tidyAsync free what fn created when fn throws, and the scope ends', async () => {
    const b = cpu();
    const x = tensor([1, 2, 3], undefined, { backend: b });
    expect(() => tidy(() => { exp(x); throw new Error('boom'); })).toThrow('boom');
    expect(b.memory().liveBuffers).toBe(1);
    await expect(tidyAsync(async () => { exp(x); await Promise.resolve(); throw new Error('late'); })).rejects.toThrow('late');
    expect(b.memory().liveBuffers).toBe(1);
    const y = exp(x); // outside any scope again: survives a later tidy
    tidy(() => exp(x));
    expect(y.isDisposed).toBe(false);
    [x, y].forEach((t) => t.dispose());
  });

  it('shape and dtype errors name the op', () => {
    const b = cpu();
    const x = tensor([1, 2, 3], undefined, { backend: b });
    const y = tensor([1, 2], undefined, { backend: b });
    expect(() => add(x, y)).toThrow(ShapeError);
    expect(() => add(x, y)).toThrow('add: shapes do not broadcast: [3] and [2]');
    const i = tensor([1, 2, 3], undefined, { backend: b, dtype: 'i32' });
    expect(() => exp(i)).toThrow(DTypeError);
    expect(() => exp(i)).toThrow('exp: expected f32 input, got i32 [3]');
  });
});

describe('autograd mechanics', () => {
  it('accumulates gradients across backward calls and frees saved values', async () => {
    const b = cpu();
    const x = tensor([1, 2], undefined, { backend: b });
    x.requiresGrad = true;
    for (let i = 0; i < 2; i++) {
      const y = tidy(() => mul(exp(x), x)); // d/dx = e^x (1 + x)
      backward(y, { grad: tensor([1, 1], undefined, { backend: b }) });
      y.dispose();
    }
    const g = Array.from(await x.grad!.data());
    expect(g[0]).toBeCloseTo(2 * Math.E * 2, 4);
    expect(g[1]).toBeCloseTo(2 * Math.exp(2) * 3, 4);
    x.dispose();
  });

  it('backward twice through a freed graph throws; retainGraph allows it', () => {
    const b = cpu();
    const x = tensor([3], undefined, { backend: b });
    x.requiresGrad = true;
    const y = exp(mul(x, x));
    backward(y, { retainGraph: true });
    backward(y);
    expect(() => backward(y)).toThrow(/already freed/);
  });

  it('noGrad records nothing; detach cuts the graph', () => {
    const b = cpu();
    const x = tensor([1], undefined, { backend: b });
    x.requiresGrad = true;
    expect(noGrad(() => exp(x)).requiresGrad).toBe(false);
    expect(exp(x.detach()).requiresGrad).toBe(false);
    expect(exp(x).requiresGrad).toBe(true);
    expect(() => backward(exp(x.detach()))).toThrow(/does not require grad/);
  });

  it('a graph disposed without backward releases its saved values', () => {
    const b = cpu();
    const x = tensor([1, 2, 3], undefined, { backend: b });
    x.requiresGrad = true;
    const before = b.memory().liveBuffers;
    const y = tidy(() => mul(exp(x), exp(exp(x))));
    expect(b.memory().liveBuffers).toBeGreaterThan(before + 1);
    y.dispose();
    expect(b.memory().liveBuffers).toBe(before);
  });
});

describe('chainable methods', () => {
  it('x.matmul(w).add(b).relu().sum() equals the functional form', async () => {
    const { matmul, relu, sum } = await import('../engine/ops/index.js');
    await import('../engine/methods.js');
    const b = cpu();
    const rng = new Random(3);
    const x = randn([4, 3], { rng, backend: b }), w = randn([3, 5], { rng, backend: b }), c = randn([5], { rng, backend: b });
    const chained = await x.matmul(w).add(c).relu().sum().item();
    const functional = await sum(relu(add(matmul(x, w), c))).item();
    expect(chained).toBe(functional);
    x.requiresGrad = true;
    x.matmul(w).square().mean().backward();
    expect(x.grad?.shape).toEqual([4, 3]);
  });
});

/**
 * Packed optimizer updates (nn/packed-update.ts): small tensors are updated as one concatenation.
 * The grouping rule, then every optimizer (SGD, LARS, Adam, AdamW) and the moving average against
 * the same update op called once per tensor: equal to the last bit on WebGPU and on the CPU
 * reference, with one dispatch for all small tensors (their operands copied in and out).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../engine/cpu/backend.js';
import { Random } from '../engine/random.js';
import { noGrad, type Tensor } from '../engine/tensor.js';
import { adamUpdate, emaUpdate, full, larsUpdate, mul, randn, sgdUpdate } from '../engine/ops/index.js';
import type { Backend } from '../engine/backend.js';
import { Adam, AdamW, BatchNorm1d, LARS, Linear, MovingAverage, SGD, Sequential, type Optimizer } from '../nn/node.js';
import { PACK_MAX_ELEMENTS, packGroups } from '../nn/packed-update.js';
import { gpu } from './helpers.js';

describe('packGroups', () => {
  it('large items and null keys alone, small items with one key together, in order', () => {
    const big = PACK_MAX_ELEMENTS + 1;
    const items = [
      { n: 10, k: 'a' }, { n: big, k: 'a' }, { n: 30, k: 'b' }, { n: PACK_MAX_ELEMENTS, k: 'a' },
      { n: 7, k: null }, { n: 5, k: 'b' }, { n: big, k: null },
    ];
    const groups = packGroups(items, (x) => x.n, (x) => x.k);
    expect(groups.map((g) => g.map((x) => items.indexOf(x)))).toEqual([[0, 3], [1], [2, 5], [4], [6]]);
  });
});

/**
 * Linear(130, 128) holds 16,640 weights (above the packing limit), everything else is small: the
 * bias, BatchNorm1d's gamma and beta, and the second Linear's weight and bias.
 */
function makeModel(backend: Backend, seed: number) {
  const rng = new Random(seed);
  return new Sequential(new Linear(130, 128, { rng, backend }), new BatchNorm1d(128, { backend }), new Linear(128, 10, { rng, backend }));
}

type Rule = (w: Tensor[], g: Tensor[], state: (Tensor | null)[][], step: number) => Tensor[];

/** Each optimizer with the update it must equal, written per tensor with the engine's op. */
const CASES: { name: string; make: (m: Sequential) => Optimizer; stateKeys: number; rule: Rule }[] = [
  {
    name: 'SGD', stateKeys: 1, make: (m) => new SGD(m, { lr: 0.1, momentum: 0.9, weightDecay: 1e-3 }),
    rule: (w, g, s) => w.map((wi, i) => { const r = sgdUpdate(wi, g[i], s[i][0], { lr: 0.1, momentum: 0.9, weightDecay: 1e-3 }); s[i][0]?.dispose(); s[i][0] = r.v; return r.w; }),
  },
  {
    name: 'LARS', stateKeys: 1, make: (m) => new LARS(m, { lr: 0.5, weightDecay: 1e-3 }),
    rule: (w, g, s) => w.map((wi, i) => {
      // the model's parameters in order: weight, bias, gamma, beta, weight, bias
      const r = larsUpdate(wi, g[i], s[i][0], { lr: 0.5, momentum: 0.9, weightDecay: 1e-3, eta: 0.001, excluded: i !== 0 && i !== 4 });
      s[i][0]?.dispose();
      s[i][0] = r.v;
      return r.w;
    }),
  },
  ...([false, true] as const).map((decoupled) => ({
    name: decoupled ? 'AdamW' : 'Adam', stateKeys: 2, make: (m: Sequential) => (decoupled ? new AdamW(m, { lr: 0.01 }) : new Adam(m, { lr: 0.01, weightDecay: 1e-3 })),
    rule: ((w, g, s, step) => {
      const t = full([], step + 1, { backend: w[0].backend });
      const out = w.map((wi, i) => {
        const [m, v] = s[i];
        const r = adamUpdate(wi, g[i], t, m && v ? { m, v } : null, { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: decoupled ? 1e-2 : 1e-3, decoupled });
        m?.dispose(); v?.dispose();
        s[i] = [r.m, r.v];
        return r.w;
      });
      t.dispose();
      return out;
    }) as Rule,
  })),
];

async function values(ts: readonly Tensor[]): Promise<number[][]> {
  return Promise.all(ts.map(async (t) => [...await t.data()]));
}

describe.each([['WebGPU', true], ['CPU reference', false]] as const)('packed updates on %s', (_label, onGpu) => {
  let backend: Backend;
  const get = async () => (backend ??= onGpu ? await gpu() : new CpuBackend());
  afterAll(() => { if (onGpu) (backend as Awaited<ReturnType<typeof gpu>>)?.destroy(); });

  it.each(CASES.map((c) => [c.name, c] as const))('%s: three steps equal the per-tensor updates exactly; small tensors in one dispatch', async (_n, c) => {
    const b = await get();
    const model = makeModel(b, 1);
    const params = model.parameters();
    const rng = new Random(2);
    const grads = params.map((p) => randn(p.shape, { rng, backend: b, std: 0.1 }));
    const opt = c.make(model);
    let w = noGrad(() => params.map((p) => mul(p, 1)));
    const state: (Tensor | null)[][] = params.map(() => Array(c.stateKeys).fill(null));
    for (let step = 0; step < 3; step++) {
      params.forEach((p, i) => { p.grad = mul(grads[i], 1); });
      const g = b instanceof CpuBackend ? null : b as Awaited<ReturnType<typeof gpu>>;
      const d0 = g?.dispatchCount ?? 0, c0 = g?.copyCount ?? 0;
      opt.step();
      if (g && step > 0) {
        // LARS: weight alone (2 norm dispatches + update), the second weight alone (the same),
        // four excluded tensors in one; Adam also counts t + 1; the others: weight alone + one
        const dispatches = c.name === 'LARS' ? 7 : c.name.startsWith('Adam') ? 3 : 2;
        const small = c.name === 'LARS' ? 4 : 5, operands = 2 + c.stateKeys, results = 1 + c.stateKeys;
        expect(g.dispatchCount - d0, 'dispatches').toBe(dispatches);
        // packing: operands in, results out straight into the tensors' own buffers (Tensor.assign
        // from the flat result); the large weight takes its results' buffers; copied besides: the
        // small weight LARS updates alone (w and v), Adam's t + 1
        const copied = c.name === 'LARS' ? 2 : c.name.startsWith('Adam') ? 1 : 0;
        expect(g.copyCount - c0, 'copies').toBe(small * (operands + results) + copied);
      }
      const next = noGrad(() => c.rule(w, grads, state, step));
      w.forEach((t) => t.dispose());
      w = next;
      expect(await values(params), `step ${step}`).toEqual(await values(w));
    }
    const st = [...opt.stateDict()].filter(([k]) => k !== 'step');
    expect(st).toHaveLength(params.length * c.stateKeys);
    for (const [k, t] of st) {
      const [, i] = k.split('.').map((x, j) => (j === 1 ? Number(x) : x)) as [string, number];
      const which = c.stateKeys === 1 || k.startsWith('exp_avg.') ? 0 : 1;
      expect(t.shape, k).toEqual(params[i].shape);
      expect([...await t.data()], k).toEqual([...await state[i][which]!.data()]);
    }
    opt.zeroGrad();
    opt.dispose();
    for (const t of [...w, ...grads, ...state.flat()]) t?.dispose();
    model.dispose();
  });

  it('MovingAverage: equal to emaUpdate per tensor; m = 0 copies the online weights', async () => {
    const b = await get();
    const target = makeModel(b, 3), online = makeModel(b, 4);
    const ema = new MovingAverage(target, online);
    const want = noGrad(() => target.parameters().map((t, i) => emaUpdate(t, online.parameters()[i], 0.9)));
    ema.update(0.9);
    expect(await values(target.parameters())).toEqual(await values(want));
    ema.update(0);
    expect(await values(target.parameters())).toEqual(await values(online.parameters()));
    want.forEach((t) => t.dispose());
    target.dispose();
    online.dispose();
  });
});

/**
 * Optimizers and the learning-rate schedule: SimCLR's warm-up + cosine schedule against
 * hand-computed values; LARS (official SimCLR rule) unit behaviour, no read-back, flat memory;
 * a 10-step LARS trajectory and 3-step Adam / AdamW trajectories of a small
 * Linear-BatchNorm1d-ReLU-Linear model against PyTorch (test/fixtures/make_lars_fixture.py),
 * on the CPU backend (float64, tight) and on WebGPU (f32).
 */
import { describe, expect, it, vi } from 'vitest';
import { backward } from '../engine/autograd.js';
import { CpuBackend } from '../engine/cpu/backend.js';
import { Random } from '../engine/random.js';
import { tidy, type Tensor } from '../engine/tensor.js';
import { crossEntropy, randint, randn } from '../engine/ops/index.js';
import type { Backend } from '../engine/backend.js';
import {
  Adam, AdamW, BatchNorm1d, LARS, Linear, ReLU, SGD, Sequential, entryToTensor, loadSafetensors, type Optimizer, type ParamsInput,
  scaledLearningRate, totalSteps, warmupCosine, warmupCosineLr, warmupSteps,
} from '../nn/node.js';
import { expectTensorClose, gpu, tensorOn } from './helpers.js';

const FIXTURE = new URL('./fixtures/lars_trajectory.safetensors', import.meta.url).pathname;

describe('warmupCosineLr (SimCLR WarmUpAndCosineDecay)', () => {
  const base = { batchSize: 256, numExamples: 2560, warmupEpochs: 10, trainSteps: 300 } as const;
  it('linear warm-up from 0, then cosine to 0, hand-computed', () => {
    expect(warmupSteps(base)).toBe(100);
    expect(totalSteps(base)).toBe(300);
    expect(warmupCosineLr(0, base)).toBe(0);
    expect(warmupCosineLr(50, base)).toBeCloseTo(0.15, 12);
    expect(warmupCosineLr(99, base)).toBeCloseTo(0.297, 12);
    expect(warmupCosineLr(100, base)).toBeCloseTo(0.3, 12);
    expect(warmupCosineLr(150, base)).toBeCloseTo(0.15 * (1 + Math.SQRT1_2), 12);
    expect(warmupCosineLr(200, base)).toBeCloseTo(0.15, 12);
    expect(warmupCosineLr(300, base)).toBeCloseTo(0, 12);
    expect(warmupCosineLr(400, base)).toBeCloseTo(0, 12);
  });
  it('scaling: 0.3 x B / 256 (linear) or 0.075 x sqrt(B) (sqrt)', () => {
    expect(scaledLearningRate(0.3, 4096, 'linear')).toBeCloseTo(4.8, 12);
    expect(scaledLearningRate(0.075, 4096, 'sqrt')).toBeCloseTo(4.8, 12);
    expect(scaledLearningRate(0.075, 512, 'sqrt')).toBeCloseTo(0.075 * Math.sqrt(512), 12);
    const o = { batchSize: 512, numExamples: 50000, trainEpochs: 100, learningRateScaling: 'sqrt' as const, baseLr: 0.075 };
    expect(warmupSteps(o)).toBe(976); // int(round(10 * 50000 // 512))
    expect(totalSteps(o)).toBe(9766); // 50000 * 100 // 512 + 1
    expect(warmupCosineLr(976, o)).toBeCloseTo(0.075 * Math.sqrt(512), 12);
    expect(warmupCosineLr(488, o)).toBeCloseTo(0.5 * 0.075 * Math.sqrt(512), 12);
    const lrAt = warmupCosine(o);
    expect(lrAt(9766)).toBeCloseTo(0, 12);
    // ImageNet, B = 4096, 100 epochs: 3127 warm-up steps of 31279.
    const imnet = { batchSize: 4096, numExamples: 1281167, trainEpochs: 100 };
    expect(warmupSteps(imnet)).toBe(3127);
    expect(totalSteps(imnet)).toBe(31279);
    expect(warmupCosineLr(3127, imnet)).toBeCloseTo(4.8, 12);
  });
  it('no warm-up starts at the scaled rate; bad arguments throw', () => {
    expect(warmupCosineLr(0, { ...base, warmupEpochs: 0 })).toBeCloseTo(0.3, 12);
    expect(() => warmupCosineLr(-1, base)).toThrow(/step/);
    expect(() => warmupCosineLr(0, { batchSize: 8, numExamples: 16 })).toThrow(/trainEpochs/);
    expect(() => scaledLearningRate(1, 8, 'cube' as never)).toThrow(/scaling/);
  });
});

describe('LARS', () => {
  it('trust ratio eta*||w||/||g|| with weight decay; bn and bias roles plain momentum SGD; ||w|| = 0 gives trust 1', async () => {
    const c = new CpuBackend();
    const w = tensorOn(c, [3, 4], [2]); // ||w|| = 5
    const b = tensorOn(c, [1, -1], [2]);
    const z = tensorOn(c, [0, 0], [2]);
    w.grad = tensorOn(c, [0.6, 0.8], [2]);
    b.grad = tensorOn(c, [0.5, 0.5], [2]);
    z.grad = tensorOn(c, [1, 2], [2]);
    const opt = new LARS([{ tensor: w, role: 'weight' }, { tensor: b, role: 'bias' }, { tensor: z, role: 'other' }],
      { lr: 2, weightDecay: 0.1, eta: 0.01 });
    expect(opt.isExcluded(b)).toBe(true);
    expect(opt.isExcluded(w)).toBe(false);
    const readSpy = vi.spyOn(c, 'read');
    opt.step();
    expect(readSpy).not.toHaveBeenCalled(); // the step reads nothing back
    // g = [0.6+0.3, 0.8+0.4] = [0.9, 1.2], ||g|| = 1.5, trust = 0.01*5/1.5; v = 2*trust*g
    const t = 0.01 * 5 / 1.5;
    const w1 = await w.data();
    expect(w1[0]).toBeCloseTo(3 - 2 * t * 0.9, 6);
    expect(w1[1]).toBeCloseTo(4 - 2 * t * 1.2, 6);
    const near = (got: ArrayLike<number>, want: number[]) => want.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 6));
    near(await b.data(), [0, -2]);
    near(await z.data(), [-2, -4]); // ||w|| = 0: trust 1, v = 2*(g + 0) = [2, 4]
    // second step, lr changed: v <- 0.9 v + lr * g for the bias
    opt.lr = 1;
    opt.step();
    near(await b.data(), [0 - (0.9 * 1 + 0.5), -2 - (0.9 * 1 + 0.5)]);
    opt.dispose();
    [w, b, z].forEach((x) => { x.grad?.dispose(); x.dispose(); });
    expect(c.memory().liveBuffers).toBe(0);
  });

  it('Nesterov: w <- w - (m * v + lr * trust * g); Adam steps read nothing back either', async () => {
    const c = new CpuBackend();
    const w = tensorOn(c, [3, 4], [2]);
    w.grad = tensorOn(c, [0, 2], [2]); // no decay: ||g|| = 2, trust = 0.1 * 5 / 2 = 0.25
    const opt = new LARS([{ tensor: w, role: 'weight' }], { lr: 1, eta: 0.1, nesterov: true });
    opt.step(); // v = 0.25 * g = [0, 0.5]; update = 0.9 * v + 0.25 * g = [0, 0.95]
    const w1 = await w.data();
    expect(w1[0]).toBeCloseTo(3, 6);
    expect(w1[1]).toBeCloseTo(3.05, 6);
    const readSpy = vi.spyOn(c, 'read');
    const adam = new AdamW([w], { lr: 0.1 });
    adam.step();
    expect(readSpy).not.toHaveBeenCalled();
    adam.dispose(); opt.dispose(); w.grad?.dispose(); w.dispose();
    expect(c.memory().liveBuffers).toBe(0);
  });

  it('excludes by role from a Module: BN gamma/beta and biases, not by name', () => {
    const m = new Sequential(new Linear(3, 4), new BatchNorm1d(4), new Linear(4, 2, { bias: false }));
    const opt = new LARS(m, { lr: 0.1 });
    const ex = m.parameterInfos().map((p) => [p.name, opt.isExcluded(p.tensor)]);
    expect(ex).toEqual([['0.weight', false], ['0.bias', true], ['1.weight', true], ['1.bias', true], ['2.weight', false]]);
    m.dispose();
  });

  it('200 WebGPU steps with a changing lr keep memory flat; dispose frees the momentum buffers', async () => {
    const g = await gpu();
    const base = g.memory();
    const rng = new Random(3);
    const model = new Sequential(new Linear(8, 16, { rng, backend: g }), new BatchNorm1d(16, { backend: g }), new ReLU(), new Linear(16, 4, { rng, backend: g }));
    const opt = new LARS(model, { lr: 1, weightDecay: 1e-4 });
    const x = randn([32, 8], { rng, backend: g });
    const labels = randint(0, 4, [32], { rng, backend: g });
    const lrAt = warmupCosine({ batchSize: 32, numExamples: 320, warmupEpochs: 2, trainSteps: 200, baseLr: 8 });
    const snaps: ReturnType<Backend['memory']>[] = [];
    const losses: number[] = [];
    for (let i = 0; i < 200; i++) {
      const loss = tidy(() => crossEntropy(model.call(x), labels));
      opt.zeroGrad();
      backward(loss);
      opt.lr = lrAt(i);
      opt.step();
      if (i === 1 || i === 199) losses.push(await loss.item());
      loss.dispose();
      if (i === 4 || i === 199) { await g.sync(); snaps.push(g.memory()); }
    }
    expect(snaps[1].liveBuffers).toBe(snaps[0].liveBuffers);
    expect(snaps[1].liveBytes).toBe(snaps[0].liveBytes);
    expect(snaps[1].liveBuffers + snaps[1].pooledBuffers).toBe(snaps[0].liveBuffers + snaps[0].pooledBuffers);
    expect(losses[1]).toBeLessThan(losses[0]);
    opt.zeroGrad();
    opt.dispose();
    model.dispose(); x.dispose(); labels.dispose();
    expect(g.memory().liveBuffers).toBe(base.liveBuffers);
    expect(g.memory().liveBytes).toBe(base.liveBytes);
  });
});

// ---- trajectories against PyTorch ----------------------------------------------------------------


function makeModel(backend: Backend) {
  return new Sequential(new Linear(5, 6, { backend, bias: false }), new BatchNorm1d(6, { backend }), new ReLU(), new Linear(6, 3, { backend }));
}

type OptLike = { step(): void; zeroGrad(): void; dispose(): void; lr: number };

async function trajectory(backend: Backend, which: 'lars' | 'adam' | 'adamw', rtol: number, atol: number): Promise<void> {
  const file = await loadSafetensors(FIXTURE);
  const pick = (prefix: string) => new Map([...file].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  const model = makeModel(backend);
  model.loadStateDict(pick('init.'));
  const init = new Map([...model.stateDict()].map(([k, t]) => [k, file.get(`init.${k}`)!.data]));
  const x = entryToTensor(file.get('input')!, { backend });
  const y = entryToTensor(file.get('labels')!, { backend });
  const steps = which === 'lars' ? 10 : 3;
  const opt: OptLike = which === 'lars' ? new LARS(model, { lr: 0, momentum: 0.9, weightDecay: 1e-2 })
    : which === 'adam' ? new Adam(model.parameters(), { lr: 0.01, weightDecay: 0.1 })
      : new AdamW(model.parameters(), { lr: 0.01, weightDecay: 0.1 });
  const lrs = file.get('lars.lr')!.data;
  const lrAt = warmupCosine({ baseLr: 0.5, learningRateScaling: 'sqrt', batchSize: 8, numExamples: 16, warmupEpochs: 2, trainEpochs: 5 });
  const losses: number[] = [];
  model.train();
  for (let k = 0; k < steps; k++) {
    const loss = tidy(() => crossEntropy(model.call(x), y));
    opt.zeroGrad();
    backward(loss);
    if (which === 'lars') {
      opt.lr = lrAt(k);
      expect(opt.lr, `lr of step ${k}`).toBeCloseTo(lrs[k], 6);
    }
    opt.step();
    losses.push(await loss.item());
    loss.dispose();
    if (which === 'lars' || k === steps - 1) {
      const prefix = which === 'lars' ? `lars.step${k + 1}.` : `${which}.step3.`;
      for (const [name, t] of model.stateDict()) {
        const got = await t.data();
        const want = file.get(prefix + name)!.data;
        expectTensorClose(`${which} step ${k + 1} ${name}`, got, want, rtol, atol);
        // The change from the initial value, on its own scale, so small updates are checked too.
        if (name.endsWith('num_batches_tracked')) continue;
        const w0 = init.get(name)!;
        const dGot = Array.from(got, (v, i) => v - w0[i]);
        const dWant = Array.from(want, (v, i) => v - w0[i]);
        expectTensorClose(`${which} step ${k + 1} ${name} (change)`, dGot, dWant, rtol * 10, atol * 10);
      }
    }
  }
  expectTensorClose(`${which} losses`, losses, file.get(`${which}.loss`)!.data, rtol, atol);
  opt.zeroGrad(); opt.dispose(); model.dispose(); x.dispose(); y.dispose();
}

describe('trajectories against PyTorch (make_lars_fixture.py)', () => {
  for (const which of ['lars', 'adam', 'adamw'] as const) {
    it(`${which}: CPU reference within 1e-6`, async () => {
      const c = new CpuBackend();
      await trajectory(c, which, 1e-6, 1e-7);
      expect(c.memory().liveBuffers).toBe(0);
    });
    it(`${which}: WebGPU (f32) within 1e-3`, async () => {
      const g = await gpu();
      const before = g.memory().liveBuffers;
      await trajectory(g, which, 1e-3, 1e-4);
      expect(g.memory().liveBuffers).toBe(before);
    });
  }
});

export type { Tensor };

// ---- Adam / AdamW state dicts ----------------------------------------------------------------------

type AdamKind = 'adam' | 'adamw';
const newAdam = (kind: AdamKind, params: Tensor[]) =>
  kind === 'adam' ? new Adam(params, { lr: 0.01, weightDecay: 0.1 }) : new AdamW(params, { lr: 0.01, weightDecay: 0.1 });

async function valuesOf(model: Sequential, opt: Adam): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const [k, t] of model.stateDict()) out.set(k, Array.from(await t.data()));
  for (const [k, t] of opt.stateDict()) out.set(`opt.${k}`, Array.from(await t.data()));
  return out;
}

/** k steps, stateDict, fresh model + optimizer loaded from it, k more steps == 2k uninterrupted steps. */
async function adamResumeMatches(backend: Backend, kind: AdamKind): Promise<void> {
  const k = 4;
  const rng = new Random(11);
  const x = randn([8, 5], { rng, backend });
  const y = randint(0, 3, [8], { rng, backend });
  const trainSteps = (model: Sequential, opt: Adam, n: number) => {
    for (let s = 0; s < n; s++) {
      const loss = tidy(() => crossEntropy(model.call(x), y));
      opt.zeroGrad();
      backward(loss);
      opt.step();
      loss.dispose();
    }
  };
  const ref = makeModel(backend);
  const a = makeModel(backend);
  a.loadStateDict(ref.stateDict());
  const refOpt = newAdam(kind, ref.parameters());
  trainSteps(ref, refOpt, 2 * k);

  const aOpt = newAdam(kind, a.parameters());
  trainSteps(a, aOpt, k);
  const sd = aOpt.stateDict();
  expect([...sd.keys()]).toEqual(['step', ...a.parameters().flatMap((_, i) => [`exp_avg.${i}`, `exp_avg_sq.${i}`])]);
  expect(sd.get('step')!.shape).toEqual([]);
  expect(await aOpt.stepCount()).toBe(k);
  const b = makeModel(backend);
  b.loadStateDict(a.stateDict());
  const bOpt = newAdam(kind, b.parameters());
  bOpt.loadStateDict(sd);
  aOpt.zeroGrad(); aOpt.dispose(); a.dispose();
  trainSteps(b, bOpt, k);
  expect(await bOpt.stepCount()).toBe(2 * k);
  const want = await valuesOf(ref, refOpt);
  const got = await valuesOf(b, bOpt);
  expect([...got.keys()]).toEqual([...want.keys()]);
  for (const [name, v] of want) expect(got.get(name), name).toEqual(v);
  for (const [m, o] of [[ref, refOpt], [b, bOpt]] as const) { o.zeroGrad(); o.dispose(); m.dispose(); }
  x.dispose(); y.dispose();
}

describe('Adam / AdamW stateDict / loadStateDict', () => {
  for (const kind of ['adam', 'adamw'] as const) {
    it(`${kind}: k steps + stateDict + load into a fresh model and optimizer + k steps == 2k steps exactly (CPU)`, async () => {
      const c = new CpuBackend();
      await adamResumeMatches(c, kind);
      expect(c.memory().liveBuffers).toBe(0);
    });
    it(`${kind}: the same on WebGPU`, async () => {
      const g = await gpu();
      const before = g.memory().liveBuffers;
      await adamResumeMatches(g, kind);
      expect(g.memory().liveBuffers).toBe(before);
    });
  }

  it('strict: missing step or half a moment pair, unexpected keys, shapes, backends; a failed load changes nothing', async () => {
    const c = new CpuBackend();
    const w = tensorOn(c, [1, 2, 3], [3]);
    const b = tensorOn(c, [0.5], [1]);
    const opt = new Adam([w, b], { lr: 0.1 });
    expect([...opt.stateDict().keys()]).toEqual(['step']); // before any step
    expect(await opt.stepCount()).toBe(0);
    w.grad = tensorOn(c, [0.1, -0.2, 0.3], [3]);
    opt.step(); // b has no gradient: no moments for it
    const sd = opt.stateDict();
    expect([...sd.keys()]).toEqual(['step', 'exp_avg.0', 'exp_avg_sq.0']);
    const good = await Promise.all([...sd].map(async ([k, t]) => [k, Array.from(await t.data())] as const));
    const three = tensorOn(c, [0, 0, 0], [3]);
    const two = tensorOn(c, [0, 0], [2]);
    const step = tensorOn(c, [5], [1]);
    const without = (key: string) => new Map([...sd].filter(([k]) => k !== key));
    expect(() => opt.loadStateDict(without('step'))).toThrow(/Adam\.loadStateDict.*missing key 'step'/);
    expect(() => opt.loadStateDict(without('exp_avg_sq.0'))).toThrow(/missing key 'exp_avg_sq\.0'/);
    expect(() => opt.loadStateDict(without('exp_avg.0'))).toThrow(/missing key 'exp_avg\.0'/);
    expect(() => opt.loadStateDict(new Map([...sd, ['exp_avg.2', three]]))).toThrow(/unexpected key 'exp_avg\.2'/);
    expect(() => opt.loadStateDict(new Map([...sd, ['momentum.0', three]]))).toThrow(/unexpected key 'momentum\.0'/);
    expect(() => opt.loadStateDict(new Map([...sd, ['exp_avg.0', two]]))).toThrow(/'exp_avg\.0' has shape \[2\] but parameter 0 has \[3\]/);
    expect(() => opt.loadStateDict(new Map([...sd, ['step', two]]))).toThrow(/'step' must hold one element/);
    const g = await gpu();
    const onGpu = tensorOn(g, [0, 0, 0], [3]);
    expect(() => opt.loadStateDict(new Map([...sd, ['exp_avg.0', onGpu]]))).toThrow(/'exp_avg\.0' lives on another backend/);
    onGpu.dispose();
    expect(() => new AdamW([w]).loadStateDict(new Map())).toThrow(/AdamW\.loadStateDict.*missing key 'step'/);
    // Nothing changed after the failed loads.
    for (const [k, v] of good) expect(Array.from(await opt.stateDict().get(k)!.data()), k).toEqual(v);
    // Loading its own state is a copy; a 1-element [1] step is accepted.
    opt.loadStateDict(opt.stateDict());
    for (const [k, v] of good) expect(Array.from(await opt.stateDict().get(k)!.data()), k).toEqual(v);
    opt.loadStateDict(new Map([['step', step]]));
    expect(await opt.stepCount()).toBe(5);
    expect([...opt.stateDict().keys()]).toEqual(['step']);
    opt.dispose();
    [w, b, three, two, step].forEach((t) => { t.grad?.dispose(); t.dispose(); });
    expect(c.memory().liveBuffers).toBe(0);
  });
});

describe('the optimizer contract (nn/optimizer.ts)', () => {
  const model = () => new Sequential(new Linear(3, 4, { rng: new Random(1) }), new BatchNorm1d(4), new ReLU(), new Linear(4, 2, { rng: new Random(2) }));
  it('SGD, LARS, Adam and AdamW take a Module, parameterInfos() or { tensor, role } items alike, with the same slots', () => {
    const m = model();
    const makers = [
      (p: ParamsInput) => new SGD(p, { lr: 0.1, momentum: 0.9 }), (p: ParamsInput) => new LARS(p, { lr: 0.1 }),
      (p: ParamsInput) => new Adam(p, { lr: 0.1 }), (p: ParamsInput) => new AdamW(p, { lr: 0.1 }),
    ];
    for (const make of makers) {
      for (const input of [m, m.parameterInfos(), m.parameterInfos().map((p) => ({ tensor: p.tensor, role: p.role }))]) {
        const opt: Optimizer = make(input);
        expect(opt.slots.map((s) => s.role)).toEqual(['weight', 'bias', 'bn', 'bn', 'weight', 'bias']);
        expect(opt.params).toEqual(m.parameters());
        opt.dispose();
      }
    }
    expect(new SGD(m, { lr: 0 }).slots.map((s) => s.name)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '3.weight', '3.bias']);
    m.dispose();
  });
  it('LARS refuses bare tensors (roles unknown) at construction, naming the fix; SGD/Adam take them', () => {
    const m = model();
    expect(() => new LARS(m.parameters(), { lr: 0.1 })).toThrow(/LARS: parameter 0 has no role.*pass the Module or module\.parameterInfos\(\)/);
    expect(new LARS(m.parameters(), { lr: 0.1, excludeRoles: [] }).slots).toHaveLength(6); // no roles needed
    expect(new SGD(m.parameters(), { lr: 0.1 }).slots[0].role).toBeNull();
    expect(new Adam(m.parameters()).slots).toHaveLength(6);
    m.dispose();
  });
  it('bad parameter lists are ArgumentErrors naming the item', () => {
    const m = model();
    const [w] = m.parameters();
    expect(() => new SGD([], { lr: 0.1 })).toThrow(/SGD: no parameters/);
    expect(() => new Adam([w, w])).toThrow(/Adam: parameter 1 is given twice/);
    expect(() => new SGD([w, 3 as never], { lr: 0.1 })).toThrow(/SGD: parameter 1 is neither a Tensor/);
    expect(() => new SGD({} as never, { lr: 0.1 })).toThrow(/SGD: params must be a Module or an array/);
    expect(() => new LARS([{ tensor: w, role: 'gamma' as never }], { lr: 0.1 })).toThrow(/unknown role 'gamma'/);
    expect(() => new SGD(m, { lr: -1 })).toThrow(/lr must be a number >= 0/);
    m.dispose();
  });
});

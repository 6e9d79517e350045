/**
 * The method contract and its methods (simclr/methods/): MoCo's InfoNCE-with-queue and BYOL's loss
 * against PyTorch with gradients; 5-step trajectories of MoCo v2 (split BN, key shuffle, EMA key
 * encoder, ring-buffer queue, SGD) and BYOL (asymmetric forward per view, LARS, tau schedule, EMA
 * target) against PyTorch from the same weights and views (test/fixtures/make_methods_fixture.py),
 * on the CPU reference (float64) and WebGPU (f32); the query/key pairing; the queue ring buffer;
 * split batch norm and the moving average on their own; per-method flags and presets.
 */
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../engine/cpu/backend.js';
import { backward } from '../engine/autograd.js';
import { Random } from '../engine/random.js';
import { noGrad, tidy, type Tensor } from '../engine/tensor.js';
import { batchNorm, byolLoss, concat, gather, infoNce, slice, tensor } from '../engine/ops/index.js';
import '../engine/methods.js';
import type { Backend } from '../engine/backend.js';
import { BatchNorm2d, Linear, MovingAverage, Sequential, entryToTensor, loadSafetensors } from '../nn/node.js';
import { ConfigError } from '../simclr/config.js';
import { METHODS, methodDefaults, resolveTrainConfig, type TrainOptions } from '../simclr/methods/index.js';
import { ringWrite } from '../simclr/methods/moco.js';
import { byolTau } from '../simclr/methods/byol.js';
import { buildOptimizer, takeStep } from '../simclr/trainer.js';
import { helpText, parseArgs } from '../simclr/pretrain-cli.js';
import { PRESETS } from '../simclr/presets.js';
import { expectTensorClose, gpu, tensorOn } from './helpers.js';

const FIXTURE = new URL('./fixtures/methods_trajectory.safetensors', import.meta.url).pathname;
const fixture = loadSafetensors(FIXTURE);
const entry = async (k: string) => {
  const e = (await fixture).get(k);
  if (!e) throw new Error(`fixture has no ${k}`);
  return e;
};
const on = async (b: Backend, k: string) => entryToTensor(await entry(k), { backend: b });

describe('losses against PyTorch (make_methods_fixture.py)', () => {
  for (const [name, make, rtol] of [['CPU', async () => new CpuBackend(), 1e-6], ['WebGPU', gpu, 1e-4]] as const) {
    it(`infoNce: loss, accuracy and the gradients of q and k (${name})`, async () => {
      const b: Backend = await make();
      const q = await on(b, 'mocoloss.q'), k = await on(b, 'mocoloss.k'), queue = await on(b, 'mocoloss.queue');
      q.requiresGrad = true; k.requiresGrad = true;
      const { loss, accuracy } = infoNce(q, k, queue, 0.2);
      backward(loss);
      expectTensorClose('loss', await loss.data(), (await entry('mocoloss.loss')).data, rtol, 1e-7);
      expect((await accuracy.data())[0]).toBe((await entry('mocoloss.accuracy')).data[0]);
      expectTensorClose('grad q', await q.grad!.data(), (await entry('mocoloss.grad_q')).data, rtol * 10, 1e-6);
      expectTensorClose('grad k', await k.grad!.data(), (await entry('mocoloss.grad_k')).data, rtol * 10, 1e-6);
      for (const t of [q, k, queue, loss, accuracy]) { t.grad?.dispose(); t.dispose(); }
    });
    it(`byolLoss: loss and the gradients of p and z (${name})`, async () => {
      const b: Backend = await make();
      const p = await on(b, 'byolloss.p'), z = await on(b, 'byolloss.z');
      p.requiresGrad = true; z.requiresGrad = true;
      const loss = byolLoss(p, z);
      backward(loss);
      expectTensorClose('loss', await loss.data(), (await entry('byolloss.loss')).data, rtol, 1e-7);
      expectTensorClose('grad p', await p.grad!.data(), (await entry('byolloss.grad_p')).data, rtol * 10, 1e-6);
      expectTensorClose('grad z', await z.grad!.data(), (await entry('byolloss.grad_z')).data, rtol * 10, 1e-6);
      for (const t of [p, z, loss]) { t.grad?.dispose(); t.dispose(); }
    });
  }
});

const MOCO: TrainOptions = {
  method: 'moco', data: ['unused'], out: 'unused', width: 1 / 16, headHidden: 32, headOut: 16, queueSize: 20, keyMomentum: 0.9,
  bnSplits: 2, temperature: 0.2, optimizer: 'sgd', weightDecay: 1e-4, momentum: 0.9,
};
const BYOL: TrainOptions = {
  method: 'byol', data: ['unused'], out: 'unused', width: 1 / 16, headHidden: 64, headOut: 16, predHidden: 64, tauBase: 0.9,
  optimizer: 'lars', weightDecay: 1e-3, momentum: 0.9,
};

/** Replays the fixture's 5 steps through takeStep (the trainer's own step) and compares everything. */
async function replay(b: Backend, which: 'moco' | 'byol', rtol: number, atol: number): Promise<void> {
  const file = await fixture;
  const config = resolveTrainConfig(which === 'moco' ? MOCO : BYOL);
  const run = METHODS[which].build({ config, rng: new Random(1), backend: b, channels: 3, size: 16, totalSteps: 5 });
  const init = new Map([...file].filter(([k]) => k.startsWith(`${which}.init.`)).map(([k, v]) => [k.slice(which.length + 6), v]));
  run.model.loadStateDict(init); // strict: every name of the PyTorch state exists here and nothing else
  run.model.train();
  const opt = buildOptimizer(config, run.trainable);
  const lrs = file.get(`${which}.lr`)!.data;
  const losses: number[] = [], accs: number[] = [];
  for (let s = 0; s < 5; s++) {
    const views = await on(b, `${which}.views${s}`);
    const perm = file.get(`moco.perm${s}`)!.data;
    const at = { step: s, totalSteps: 5, rng: new Random(0), permutation: () => Int32Array.from(perm) };
    if (which === 'byol') expect(run.stepValues!(at).tau).toBeCloseTo(file.get('byol.tau')!.data[s], 6);
    const r = await takeStep(run, opt, views, at, lrs[s]);
    views.dispose();
    losses.push(r.loss); accs.push(r.accuracy);
  }
  expectTensorClose(`${which} losses`, losses, file.get(`${which}.loss`)!.data, rtol, atol);
  expect(accs).toEqual(Array.from(file.get(`${which}.accuracy`)!.data));
  const state = run.model.stateDict();
  expect([...state.keys()].sort()).toEqual([...init.keys()].sort());
  for (const [name, t] of state) {
    const want = file.get(`${which}.final.${name}`)!.data;
    const got = await t.data();
    expectTensorClose(`${which} final ${name}`, got, want, rtol, atol);
    if (name.endsWith('num_batches_tracked')) continue;
    // the change from the initial value, on its own scale, so small updates (EMA targets) are checked too
    const w0 = init.get(name)!.data;
    const dGot = Array.from(got, (v, i) => v - w0[i]), dWant = Array.from(want, (v, i) => v - w0[i]);
    // a parameter whose gradient is 0 in exact arithmetic (a bias just before a BN) stays put up to rounding
    if (dWant.every((d) => d === 0)) expect(Math.max(...dGot.map(Math.abs)), `${which} ${name} should not move`).toBeLessThan(1e-6);
    else expectTensorClose(`${which} final ${name} (change)`, dGot, dWant, rtol * 10, atol * 100);
  }
  opt.dispose();
  run.dispose?.();
  run.model.dispose();
}

describe('5-step trajectories against PyTorch (make_methods_fixture.py)', () => {
  for (const which of ['moco', 'byol'] as const) {
    it(`${which}: CPU reference (float64) within 1e-5`, async () => {
      const c = new CpuBackend();
      await replay(c, which, 1e-5, 1e-6);
      expect(c.memory().liveBuffers).toBe(0);
    });
    it(`${which}: WebGPU (f32) within 2e-3`, async () => {
      const g = await gpu();
      const before = g.memory().liveBuffers;
      await replay(g, which, 2e-3, 2e-4);
      expect(g.memory().liveBuffers).toBe(before);
    });
  }
});

describe('pairing: each anchor meets the other view of its own image', () => {
  const image = (b: Backend, n: number, seed: number) => {
    const rng = new Random(seed);
    return tensor(Float32Array.from({ length: n * 3 * 16 * 16 }, () => rng.uniform()), [n, 3, 16, 16], { backend: b });
  };
  const lossOf = async (r: { loss: Tensor; accuracy: Tensor }) => {
    const v = [(await r.loss.data())[0], (await r.accuracy.data())[0]];
    r.loss.dispose(); r.accuracy.dispose();
    return v;
  };
  const identity = () => Int32Array.from({ length: 8 }, (_, i) => i);
  for (const [splits, symmetric] of [[1, false], [1, true], [2, false], [2, true]] as const) {
    it(`MoCo (bnSplits ${splits}, symmetric ${symmetric}): the loss is InfoNCE of query(view 1 of i) against key(view 2 of i) [and the reverse], not a shifted pairing`, async () => {
      const b = await gpu();
      const config = resolveTrainConfig({ ...MOCO, bnSplits: splits, symmetric, queueSize: 64 });
      const run = METHODS.moco.build({ config, rng: new Random(4), backend: b, channels: 3, size: 16, totalSteps: 1 });
      run.model.train();
      const [enc, head, kEnc, kHead] = ['0', '1', 'target.0', 'target.1'].map((p) => run.model.getSubmodule(p));
      const queue = run.model.namedBuffers().find(([n]) => n === 'queue')![1];
      const v1 = image(b, 8, 9), v2 = image(b, 8, 10);
      const views = concat([v1, v2], 0);
      const at = { step: 0, totalSteps: 1, rng: new Random(2), permutation: identity };
      const got = await lossOf(tidy(() => { const o = run.loss(views, at); return { loss: o.loss, accuracy: o.accuracy }; }));
      const manual = async (pairs: [Tensor, Tensor][]) => lossOf(noGrad(() => tidy(() => {
        const q = concat(pairs.map(([x]) => head.call(enc.call(x))), 0);
        const k = concat(pairs.map(([, y]) => kHead.call(kEnc.call(y))), 0);
        const o = infoNce(q, k, queue, config.temperature);
        return { loss: o.loss, accuracy: o.accuracy };
      })));
      const pairs: [Tensor, Tensor][] = symmetric ? [[v1, v2], [v2, v1]] : [[v1, v2]];
      const want = await manual(pairs);
      expect(got[0]).toBeCloseTo(want[0], 5);
      // a deliberately wrong pairing (queries against their own view's keys) gives another loss
      const wrong = await manual(symmetric ? [[v1, v1], [v2, v2]] : [[v1, v1]]);
      expect(Math.abs(wrong[0] - got[0])).toBeGreaterThan(1e-3);
      [v1, v2, views].forEach((t) => t.dispose());
      run.dispose?.(); run.model.dispose();
    });
  }
  it('MoCo: identical views and key encoder = query encoder: every positive ranks first, with the key shuffle of split BN undone', async () => {
    const b = await gpu();
    const config = resolveTrainConfig({ ...MOCO, bnSplits: 2, queueSize: 64 });
    const run = METHODS.moco.build({ config, rng: new Random(4), backend: b, channels: 3, size: 16, totalSteps: 1 });
    run.model.train();
    const half = image(b, 8, 11);
    const views = concat([half, half], 0);
    const [, acc] = await lossOf(tidy(() => { const o = run.loss(views, { step: 0, totalSteps: 1, rng: new Random(3) }); return { loss: o.loss, accuracy: o.accuracy }; }));
    expect(acc).toBe(1);
    [half, views].forEach((t) => t.dispose());
    run.dispose?.(); run.model.dispose();
  });
  it('BYOL: the loss is L(p(view 1), z\'(view 2)) + L(p(view 2), z\'(view 1)), each view its own forward pass', async () => {
    const b = await gpu();
    const config = resolveTrainConfig(BYOL);
    const run = METHODS.byol.build({ config, rng: new Random(4), backend: b, channels: 3, size: 16, totalSteps: 1 });
    run.model.train();
    const [enc, proj, pred, tEnc, tProj] = ['0', '1', '2', 'target.0', 'target.1'].map((p) => run.model.getSubmodule(p));
    const v1 = image(b, 8, 12), v2 = image(b, 8, 13);
    const views = concat([v1, v2], 0);
    const got = await lossOf(tidy(() => { const o = run.loss(views, { step: 0, totalSteps: 1, rng: new Random(0) }); return { loss: o.loss, accuracy: o.accuracy }; }));
    const manual = (a: Tensor, bView: Tensor) => noGrad(() => tidy(() => byolLoss(pred.call(proj.call(enc.call(a))), tProj.call(tEnc.call(bView)))));
    const want = tidy(() => { const l = manual(v1, v2).add(manual(v2, v1)); return l; });
    const wrong = tidy(() => manual(v1, v1).add(manual(v2, v2)));
    expect(got[0]).toBeCloseTo((await want.data())[0], 5);
    expect(Math.abs((await wrong.data())[0] - got[0])).toBeGreaterThan(1e-3);
    [v1, v2, views, want, wrong].forEach((t) => t.dispose());
    run.dispose?.(); run.model.dispose();
  });
});

describe('MoCo queue: a ring buffer on the device', () => {
  it('ringWrite replaces rows ptr.. with the keys, wrapping at the end; a batch larger than the queue is an error', async () => {
    const c = new CpuBackend();
    const q = tensorOn(c, Array.from({ length: 20 }, (_, i) => i), [10, 2]);
    const keys = tensorOn(c, [-1, -1, -2, -2, -3, -3, -4, -4], [4, 2]);
    const rows = async (t: Tensor) => { const d = await t.data(); return Array.from({ length: 10 }, (_, i) => d[2 * i]); };
    for (const [ptr, want] of [
      [0, [-1, -2, -3, -4, 8, 10, 12, 14, 16, 18]],
      [3, [0, 2, 4, -1, -2, -3, -4, 14, 16, 18]],
      [6, [0, 2, 4, 6, 8, 10, -1, -2, -3, -4]],
      [8, [-3, -4, 4, 6, 8, 10, 12, 14, -1, -2]],
      [9, [-2, -3, -4, 6, 8, 10, 12, 14, 16, -1]],
    ] as const) {
      const out = ringWrite(q, keys, ptr);
      expect(await rows(out), `ptr ${ptr}`).toEqual(want);
      expect(out.shape).toEqual([10, 2]);
      out.dispose();
    }
    const big = tensorOn(c, new Array(24).fill(0), [12, 2]);
    expect(() => ringWrite(q, big, 0)).toThrow(/enqueues 12 keys but the queue holds 10/);
    [q, keys, big].forEach((t) => t.dispose());
    expect(c.memory().liveBuffers).toBe(0);
  });
});

describe('split batch norm and the moving average', () => {
  it('splits = S normalizes the groups n mod S apart; running statistics are the mean of the groups\' updates', async () => {
    const c = new CpuBackend();
    const rng = new Random(5);
    const x = tensorOn(c, Array.from({ length: 6 * 3 * 2 * 2 }, () => rng.normal() * 2 + 1), [6, 3, 2, 2]);
    const split = new BatchNorm2d(3, { splits: 3, backend: c });
    const y = split.call(x);
    // reference: each group {g, g+3} through its own BatchNorm2d
    for (let g = 0; g < 3; g++) {
      const plain = new BatchNorm2d(3, { backend: c });
      const idx = tensor(Int32Array.from([g, g + 3]), [2], { dtype: 'i32', backend: c });
      const want = plain.call(gather(x, idx, 0));
      const got = gather(y, idx, 0);
      expectTensorClose(`group ${g}`, await got.data(), await want.data(), 1e-12, 1e-12);
      [idx, want, got].forEach((t) => t.dispose());
      plain.dispose();
    }
    // running mean: 0.9 * 0 + 0.1 * mean over groups of each group's batch mean = 0.1 * the batch mean
    const all = new BatchNorm2d(3, { backend: c });
    all.call(x).dispose();
    expectTensorClose('running mean', await split.runningMean!.data(), await all.runningMean!.data(), 1e-12, 1e-12);
    expect(() => split.call(slice(x, [0, 0, 0, 0], [4, 3, 2, 2]))).toThrow(/batch 4 does not divide into 3/);
    split.eval();
    const e1 = split.call(x), e2 = batchNorm(x, split.weight, split.bias, { training: false, runningMean: split.runningMean!, runningVar: split.runningVar! });
    expectTensorClose('eval = plain BN', await e1.data(), await e2.data(), 0, 0);
    expect([...split.stateDict().keys()]).toEqual([...all.stateDict().keys()]);
    [x, y, e1, e2].forEach((t) => t.dispose());
    split.dispose(); all.dispose();
  });

  it('MovingAverage: target <- m target + (1 - m) online by name; shapes and names checked; copy() starts equal', async () => {
    const c = new CpuBackend();
    const online = new Sequential(new Linear(2, 3, { backend: c, rng: new Random(1) }));
    const target = new Sequential(new Linear(2, 3, { backend: c, rng: new Random(2) }));
    const ema = new MovingAverage(target, online);
    const [t0, o0] = [await target.parameters()[0].data(), await online.parameters()[0].data()];
    ema.update(0.75);
    const t1 = await target.parameters()[0].data();
    expectTensorClose('ema', t1, Array.from(t0, (v, i) => 0.75 * v + 0.25 * o0[i]), 1e-6, 1e-7);
    ema.copy();
    expect(Array.from(await target.parameters()[0].data())).toEqual(Array.from(o0));
    expect(() => ema.update(1.5)).toThrow(/momentum must be in \[0, 1\]/);
    const other = new Sequential(new Linear(2, 4, { backend: c }));
    expect(() => new MovingAverage(other, online)).toThrow(/'0.weight' is \[4,2\] in the target but \[3,2\] online/);
    [online, target, other].forEach((m) => m.dispose());
  });

  it('BYOL tau rises from tau_base to 1 by a cosine', () => {
    expect(byolTau(0.99, 0, 100)).toBeCloseTo(0.99, 12);
    expect(byolTau(0.99, 50, 100)).toBeCloseTo(0.995, 12);
    expect(byolTau(0.99, 100, 100)).toBeCloseTo(1, 12);
  });
});

describe('per-method configuration: flags, presets, help', () => {
  it('each method brings its recipe; flags of another method are refused naming both', () => {
    expect(parseArgs(['--method', 'moco', '--data', 'a', '--out', 'o'])).toMatchObject({
      method: 'moco', optimizer: 'sgd', lr: 0.03, weightDecay: 1e-4, temperature: 0.2, queueSize: 4096, keyMomentum: 0.999, cropScale: [0.2, 1],
      jitter: [0.4, 0.4, 0.4, 0.1], headLayers: 2,
    });
    expect(parseArgs(['--method', 'byol', '--data', 'a', '--out', 'o', '--blur-prob', '0.5,0'])).toMatchObject({
      method: 'byol', optimizer: 'lars', blurProb: [0.5, 0], solarizeProb: [0, 0.2], headHidden: 4096, headOut: 256, tauBase: 0.996,
    });
    expect(() => parseArgs(['--data', 'a', '--out', 'o', '--queue-size', '10'])).toThrow(/--queue-size applies to --method moco only, not --method simclr/);
    expect(() => parseArgs(['--method', 'byol', '--data', 'a', '--out', 'o', '--temperature', '0.1'])).toThrow(/--temperature applies to --method simclr or --method moco only/);
    expect(() => parseArgs(['--method', 'swav', '--data', 'a', '--out', 'o'])).toThrow(/--method must be one of simclr, moco, byol/);
    expect(() => parseArgs(['--data', 'a', '--out', 'o', '--crop-scale', '0.5,0.2'])).toThrow(/--crop-scale must be min <= max/);
    expect(() => parseArgs(['--data', 'a', '--out', 'o', '--gray-prob', '0.1,0.2,0.3'])).toThrow(/--gray-prob must be one value or two/);
  });
  it('presets moco-cifar10 and byol-cifar10 set their method; a preset with another --method is refused', () => {
    expect(parseArgs(['--preset', 'moco-cifar10', '--data', 'd'])).toMatchObject({ method: 'moco', keyMomentum: 0.99, temperature: 0.1, batchSize: 512, blurProb: 0 });
    expect(parseArgs(['--preset', 'byol-cifar10', '--data', 'd'])).toMatchObject({ method: 'byol', tauBase: 0.99, solarizeProb: [0, 0.2], blurProb: 0 });
    expect(() => parseArgs(['--preset', 'moco-cifar10', '--data', 'd', '--method', 'byol'])).toThrow(/moco recipe, not --method byol/);
    for (const p of ['moco-cifar10', 'byol-cifar10']) expect(Object.keys(PRESETS)).toContain(p);
  });
  it('--help has a section per method listing its own flags and its defaults', () => {
    const h = helpText();
    for (const s of ['--method moco:', '--method byol:', '--method simclr:', '--queue-size', '--key-momentum', '--symmetric', '--bn-splits', '--tau-base',
      '--pred-hidden', '--solarize-prob', '--crop-scale', '--head-layers', '--optimizer']) expect(h).toContain(s);
    expect(h).toMatch(/--method moco:[\s\S]*defaults differing from those shown above:.*--optimizer "sgd"/);
  });
  it('library callers get the method\'s defaults; bad values are ConfigErrors naming the key', () => {
    expect(resolveTrainConfig({ method: 'byol', data: ['a'], out: 'o' })).toMatchObject(methodDefaults('byol'));
    expect(() => resolveTrainConfig({ method: 'moco', data: ['a'], out: 'o', queueSize: 0 })).toThrow(ConfigError);
    expect(() => resolveTrainConfig({ data: ['a'], out: 'o', lr: '0.5' as never })).toThrow(/"lr" must be a number, got the string "0.5"/);
  });
});

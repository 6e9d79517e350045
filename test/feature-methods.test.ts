/**
 * AMDIM, CPC v2 and YADIM (simclr/methods/amdim.ts, cpc.ts, yadim.ts) against PyTorch
 * (test/fixtures/make_feature_methods_fixture.py): patch extraction, layer norm, AMDIM's NCE with
 * tanh clip and regularizer, CPC's InfoNCE, the masked context network and the AMDIM encoder with
 * gradients; 3-step trajectories of each method (Adam with the recipes' betas and eps) on the CPU
 * reference (float64) and WebGPU (f32). Also: every path of the fused NCE (tiles, cached and
 * streamed kernels), the context network's causality, host patches = device patches, the
 * translation augmentation against its CPU reference, and the new configuration keys.
 */
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../engine/cpu/backend.js';
import { backward } from '../engine/autograd.js';
import { Random } from '../engine/random.js';
import { tidy, type Tensor } from '../engine/tensor.js';
import {
  add, cpcInfoNce, featureMapNce, mul, ncePathForTests, randn, sum, tensor, unfoldPatches,
} from '../engine/ops/index.js';
import type { Backend } from '../engine/backend.js';
import { AmdimEncoder, CpcContext, LayerNorm2d, entryToTensor, loadSafetensors, type SafetensorsEntry } from '../nn/node.js';
import { P, VIEW_PARAMS, augmentCpu, augmentGpu, drawAugmentParams, resolveAugment } from '../simclr/augment.js';
import { METHODS, resolveTrainConfig, type TrainOptions } from '../simclr/methods/index.js';
import { patchBatch } from '../simclr/methods/cpc.js';
import { buildOptimizer, takeStep } from '../simclr/trainer.js';
import { helpText, parseArgs } from '../simclr/pretrain-cli.js';
import { PRESETS } from '../simclr/presets.js';
import { exportEncoder } from '../simclr/export.js';
import { expectTensorClose, gpu } from './helpers.js';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FIXTURE = new URL('./fixtures/feature_methods.safetensors', import.meta.url).pathname;
const fixture = loadSafetensors(FIXTURE);
const entry = async (k: string): Promise<SafetensorsEntry> => {
  const e = (await fixture).get(k);
  if (!e) throw new Error(`fixture has no ${k}`);
  return e;
};
const on = async (b: Backend, k: string, grad = false) => {
  const t = entryToTensor(await entry(k), { backend: b });
  t.requiresGrad = grad;
  return t;
};
const want = async (k: string) => (await entry(k)).data;
/** The fixture's entries under a prefix, without it. */
const prefixed = async (p: string) => new Map([...(await fixture)].filter(([k]) => k.startsWith(p)).map(([k, v]) => [k.slice(p.length), v]));

const BACKENDS = [['CPU', async (): Promise<Backend> => new CpuBackend(), 1e-6], ['WebGPU', gpu, 1e-4]] as const;

describe('ops and modules against PyTorch (make_feature_methods_fixture.py)', () => {
  for (const [name, make, rtol] of BACKENDS) {
    it(`unfoldPatches = F.unfold as patches, and its gradient (${name})`, async () => {
      const b = await make();
      const x = await on(b, 'patches.x', true), w = await on(b, 'patches.w');
      const p = unfoldPatches(x, { size: 4, stride: 2 });
      backward(tidy(() => sum(mul(p, w))));
      expectTensorClose('patches', await p.data(), await want('patches.out'), rtol, 1e-7);
      expectTensorClose('grad x', await x.grad!.data(), await want('patches.grad_x'), rtol, 1e-7);
    });
    it(`LayerNorm2d = GroupNorm(1, C), gradients of x, gamma, beta (${name})`, async () => {
      const b = await make();
      const ln = new LayerNorm2d(4, { backend: b });
      ln.loadStateDict(new Map([['weight', await entry('layernorm.gamma')], ['bias', await entry('layernorm.beta')]]));
      const x = await on(b, 'layernorm.x', true), w = await on(b, 'layernorm.w');
      const y = ln.call(x);
      backward(tidy(() => sum(mul(y, w))));
      expectTensorClose('y', await y.data(), await want('layernorm.out'), rtol, 1e-6);
      expectTensorClose('grad x', await x.grad!.data(), await want('layernorm.grad_x'), rtol * 10, 1e-6);
      expectTensorClose('grad gamma', await ln.weight.grad!.data(), await want('layernorm.grad_gamma'), rtol * 10, 1e-6);
      expectTensorClose('grad beta', await ln.bias.grad!.data(), await want('layernorm.grad_beta'), rtol * 10, 1e-6);
      ln.dispose();
    });
    it(`featureMapNce = AmdimNCELoss (tclip 2): loss, regularizer, accuracy, gradients (${name})`, async () => {
      const b = await make();
      const src = await on(b, 'amdimnce.src', true), tgt = await on(b, 'amdimnce.tgt', true);
      const r = featureMapNce(src, tgt, { tclip: 2 });
      backward(tidy(() => add(r.loss, mul(r.reg, 3))));
      expectTensorClose('loss', await r.loss.data(), await want('amdimnce.loss'), rtol, 1e-7);
      expectTensorClose('reg', await r.reg.data(), await want('amdimnce.reg'), rtol, 1e-7);
      expect((await r.accuracy.data())[0]).toBeCloseTo((await want('amdimnce.accuracy'))[0], 6);
      expectTensorClose('grad src', await src.grad!.data(), await want('amdimnce.grad_src'), rtol * 10, 1e-6);
      expectTensorClose('grad tgt', await tgt.grad!.data(), await want('amdimnce.grad_tgt'), rtol * 10, 1e-6);
    });
    it(`cpcInfoNce = cross-entropy of preds @ targets^T: loss, accuracy, gradients (${name})`, async () => {
      const b = await make();
      const p = await on(b, 'cpcnce.preds', true), t = await on(b, 'cpcnce.targets', true), l = await on(b, 'cpcnce.labels');
      const r = cpcInfoNce(p, t, l);
      backward(r.loss);
      expectTensorClose('loss', await r.loss.data(), await want('cpcnce.loss'), rtol, 1e-7);
      expect((await r.accuracy.data())[0]).toBeCloseTo((await want('cpcnce.accuracy'))[0], 6);
      expectTensorClose('grad preds', await p.grad!.data(), await want('cpcnce.grad_preds'), rtol * 10, 1e-6);
      expectTensorClose('grad targets', await t.grad!.data(), await want('cpcnce.grad_targets'), rtol * 10, 1e-6);
    });
    it(`CpcContext: the row-causal context network, output and every gradient (${name})`, async () => {
      const b = await make();
      const ctx = new CpcContext(4, { blocks: 2, hidden: 6, backend: b });
      const weights = await prefixed('context.');
      ctx.loadStateDict(new Map([...weights].filter(([k]) => k.startsWith('blocks.'))));
      const z = await on(b, 'context.z', true), w = await on(b, 'context.w');
      const y = ctx.call(z);
      backward(tidy(() => sum(mul(y, w))));
      expectTensorClose('out', await y.data(), await want('context.out'), rtol, 1e-6);
      expectTensorClose('grad z', await z.grad!.data(), await want('context.grad_z'), rtol * 10, 1e-6);
      for (const [n, p] of ctx.namedParameters()) expectTensorClose(`grad ${n}`, await p.grad!.data(), await want(`context.grad.${n}`), rtol * 10, 1e-6);
      ctx.dispose();
    });
    it(`AmdimEncoder: r1, r5, r7 (train-mode BN) and the input gradient, channel-padding shortcuts (${name})`, async () => {
      const b = await make();
      const enc = new AmdimEncoder({ encoderSize: 32, ndf: 2, nRkhs: 16, depth: 2, backend: b });
      const names = new Set(enc.stateDict().keys());
      enc.loadStateDict(new Map([...(await prefixed('amdimenc.'))].filter(([k]) => names.has(k))));
      const x = await on(b, 'amdimenc.x', true);
      const m = enc.maps(x);
      const [w1, w5, w7] = await Promise.all(['w1', 'w5', 'w7'].map((k) => on(b, `amdimenc.${k}`)));
      backward(tidy(() => add(add(sum(mul(m.r1, w1)), sum(mul(m.r5, w5))), sum(mul(m.r7, w7)))));
      for (const k of ['r1', 'r5', 'r7'] as const) expectTensorClose(k, await m[k].data(), await want(`amdimenc.${k}`), rtol * 10, 1e-5);
      expectTensorClose('grad x', await x.grad!.data(), await want('amdimenc.grad_x'), rtol * 100, 1e-5);
      enc.dispose();
    });
  }
  it('the 64 px AMDIM encoder: maps 1, 5 and 7 wide at 64 px; on 96 px views (the STL-10 presets) 5, 9 and 11, r1 pooled', async () => {
    const c = new CpuBackend();
    const enc = new AmdimEncoder({ encoderSize: 64, ndf: 1, nRkhs: 4, depth: 1, rng: new Random(1), backend: c });
    for (const [size, w1, w5, w7] of [[64, 1, 5, 7], [96, 5, 9, 11]]) {
      const x = randn([2, 3, size, size], { backend: c, rng: new Random(2) });
      const m = enc.maps(x);
      expect([m.r1.shape, m.r5.shape, m.r7.shape]).toEqual([[2, 4, w1, w1], [2, 4, w5, w5], [2, 4, w7, w7]]);
      expect(enc.call(x).shape).toEqual([2, 4]);
    }
    expect(() => enc.call(randn([1, 3, 32, 32], { backend: c }))).toThrow(/expected images \[N, C, >= 64, >= 64\] for the 64 px encoder/);
    enc.dispose();
  });
  it('the AMDIM encoder\'s state dict is exactly the PyTorch module\'s (names and shapes)', async () => {
    const c = new CpuBackend();
    const enc = new AmdimEncoder({ encoderSize: 32, ndf: 2, nRkhs: 16, depth: 2, backend: c });
    const ref = await prefixed('amdimenc.');
    const mine = new Map([...enc.stateDict()].map(([k, t]) => [k, t.shape.join('x')]));
    const theirs = new Map([...ref].filter(([k]) => !['x', 'w1', 'w5', 'w7', 'r1', 'r5', 'r7', 'grad_x'].includes(k)).map(([k, e]) => [k, e.shape.join('x')]));
    expect(mine).toEqual(theirs);
    enc.dispose();
  });
});

const COMMON = { data: ['unused'], out: 'unused', optimizer: 'adam' as const, weightDecay: 1e-5 };
const CONFIGS: Record<'amdim' | 'cpc' | 'yadim', { opts: TrainOptions; size: number }> = {
  amdim: { opts: { ...COMMON, method: 'amdim', ndf: 4, rkhs: 8, amdimDepth: 2, tclip: 20, adamBetas: [0.8, 0.999], adamEps: 1e-7 }, size: 32 },
  cpc: { opts: { ...COMMON, method: 'cpc', width: 1 / 16, patchSize: 8, patchStride: 4, predictSteps: 2, contextBlocks: 2, headOut: 8, adamBetas: [0.8, 0.999], adamEps: 1e-8 }, size: 16 },
  yadim: { opts: { ...COMMON, method: 'yadim', encoder: 'resnet', width: 1 / 16, rkhs: 16, tclip: 20, adamBetas: [0.8, 0.999], adamEps: 1e-7 }, size: 16 },
};

/**
 * Replays the fixture's 3 steps through takeStep (the trainer's step) and compares losses and the
 * final state; on WebGPU also the first step's gradients (the test for f32: Adam's normalized steps
 * turn rounding on gradient-free parameters into lr-sized moves, so those are left out of the
 * final-state comparison there).
 */
async function replay(b: Backend, which: 'amdim' | 'cpc' | 'yadim', rtol: number, atol: number): Promise<void> {
  const file = await fixture;
  const { opts, size } = CONFIGS[which];
  const config = resolveTrainConfig(opts);
  const run = METHODS[which].build({ config, rng: new Random(1), backend: b, channels: 3, size, totalSteps: 3 });
  const init = await prefixed(`${which}.init.`);
  run.model.loadStateDict(init); // strict: every name of the PyTorch state exists here and nothing else
  run.model.train();
  const opt = buildOptimizer(config, run.trainable);
  const lrs = file.get(`${which}.lr`)!.data;
  const locationsOf = (s: number) => {
    const locs = file.get(`${which}.loc${s}`)?.data;
    let row = 0;
    return { locations: (n: number) => Int32Array.from(locs!.slice(row * n, ++row * n)), drawn: () => row, any: !!locs };
  };
  const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));
  const gradientFree = new Set<string>();
  if (rtol >= 1e-4) {
    // the first step's gradients, on a copy of the state so the trajectory below starts from init
    const views = await on(b, `${which}.views0`);
    const probe = METHODS[which].build({ config, rng: new Random(1), backend: b, channels: 3, size, totalSteps: 3 });
    probe.model.loadStateDict(init);
    probe.model.train();
    const l = tidy(() => probe.loss(views, { step: 0, totalSteps: 3, rng: new Random(0), locations: locationsOf(0).locations }).loss);
    backward(l);
    for (const p of probe.trainable) {
      const ref = (await entry(`${which}.grad0.${p.name}`)).data, got = await p.tensor.grad!.data();
      if (norm(ref) <= 1e-12) { gradientFree.add(p.name); continue; }
      const err = norm(Array.from(got, (v, i) => v - ref[i])) / norm(ref);
      expect(err, `${which} first-step gradient of ${p.name}: relative error`).toBeLessThan(rtol);
    }
    l.dispose(); views.dispose(); probe.dispose?.(); probe.model.dispose();
  }
  const losses: number[] = [], accs: number[] = [];
  for (let s = 0; s < 3; s++) {
    const views = await on(b, `${which}.views${s}`);
    const at = locationsOf(s);
    const r = await takeStep(run, opt, views, { step: s, totalSteps: 3, rng: new Random(0), locations: at.locations }, lrs[s]);
    if (at.any) expect(at.drawn(), 'source locations drawn').toBe(2);
    views.dispose();
    losses.push(r.loss); accs.push(r.accuracy);
  }
  expectTensorClose(`${which} losses`, losses, file.get(`${which}.loss`)!.data, rtol, atol);
  expectTensorClose(`${which} accuracies`, accs, file.get(`${which}.accuracy`)!.data, 1e-6, 1e-6);
  for (const [name, t] of run.model.stateDict()) {
    const got = await t.data(), w = (await entry(`${which}.final.${name}`)).data;
    if (name.endsWith('num_batches_tracked')) { expect(Array.from(got), name).toEqual(Array.from(w)); continue; }
    const w0 = init.get(name)!.data;
    const dGot = Array.from(got, (v, i) => v - w0[i]), dWant = Array.from(w, (v, i) => v - w0[i]);
    if (rtol < 1e-4) {
      expectTensorClose(`${which} final ${name}`, got, w, rtol, atol);
      expectTensorClose(`${which} final ${name} (change)`, dGot, dWant, rtol * 10, atol * 100);
    } else if (!gradientFree.has(name)) {
      const err = norm(dGot.map((d, i) => d - dWant[i])) / norm(dWant);
      expect(err, `${which} final ${name}: relative error of the change`).toBeLessThan(rtol * 25);
    }
  }
  if (rtol >= 1e-4) expect(gradientFree.size, 'gradient-free parameters (biases before a batch norm, CPC\'s target bias)').toBeLessThanOrEqual(which === 'cpc' ? 1 : 8);
  opt.dispose();
  run.dispose?.();
  run.model.dispose();
}

describe('3-step trajectories against PyTorch (make_feature_methods_fixture.py)', () => {
  for (const which of ['amdim', 'cpc', 'yadim'] as const) {
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

describe('the fused NCE: every path agrees with the CPU reference', () => {
  const run = async (b: Backend, m: number, n: number, d: number, locs: number, seed: number) => {
    const src = randn([m, d], { backend: b, rng: new Random(seed) }), tgt = randn([n, d], { backend: b, rng: new Random(seed + 1) });
    src.requiresGrad = true; tgt.requiresGrad = true;
    const r = featureMapNce(src, tgt, { tclip: 3 });
    backward(tidy(() => add(r.loss, r.reg)));
    const out = [await r.loss.data(), await src.grad!.data(), await tgt.grad!.data()];
    [src, tgt, r.loss, r.reg, r.accuracy].forEach((t) => t.dispose());
    return out;
  };
  for (const [m, locs, d] of [[9, 7, 24], [5, 3, 300]] as const) {
    it(`B ${m}, ${locs} locations, d ${d}${d > 256 ? ' (beyond the row cache: streamed)' : ''}: tiled, cached and streamed kernels`, async () => {
      const ref = await run(new CpuBackend(), m, m * locs, d, locs, 7);
      const g = await gpu();
      try {
        for (const path of ['tiled', 'cached', 'streamed'] as const) {
          ncePathForTests.force = path;
          const got = await run(g, m, m * locs, d, locs, 7);
          ['loss', 'grad src', 'grad tgt'].forEach((what, i) => expectTensorClose(`${path} ${what}`, got[i], ref[i], 1e-4, 1e-5));
        }
      } finally {
        ncePathForTests.force = null;
      }
    });
  }
});

describe('CPC pieces', () => {
  it('the context network is row-causal: changing grid row i + 1 leaves rows <= i of the output unchanged', async () => {
    const c = new CpuBackend();
    const ctx = new CpcContext(3, { blocks: 3, hidden: 5, rng: new Random(2), backend: c });
    const z = randn([1, 3, 5, 4], { backend: c, rng: new Random(3) });
    const base = await ctx.call(z).data();
    for (let row = 1; row < 5; row++) {
      const v = Float64Array.from(await z.data());
      for (let ch = 0; ch < 3; ch++) for (let x = 0; x < 4; x++) v[(ch * 5 + row) * 4 + x] += 1;
      const out = await ctx.call(tensor(v, [1, 3, 5, 4], { backend: c })).data();
      for (let ch = 0; ch < 3; ch++) for (let y = 0; y < 5; y++) for (let x = 0; x < 4; x++) {
        const i = (ch * 5 + y) * 4 + x;
        if (y < row) expect(out[i], `row ${y} after changing row ${row}`).toBe(base[i]);
      }
      expect(out.some((o, i) => o !== base[i])).toBe(true);
    }
    ctx.dispose();
  });
  it('patches cut on the host (training) are the patches unfoldPatches cuts on the device (evaluation), in the same order', async () => {
    const g = await gpu();
    const rng = new Random(5);
    const batch = { images: Uint8Array.from({ length: 2 * 3 * 20 * 20 }, () => rng.int(256)), n: 2, channels: 3, height: 20, width: 20 };
    const host = patchBatch(batch, 8, 4);
    expect(host).toMatchObject({ n: 2 * 4 * 4, channels: 3, height: 8, width: 8 });
    const dev = unfoldPatches(tensor(Float32Array.from(batch.images), [2, 3, 20, 20], { backend: g }), { size: 8, stride: 4 });
    expect(Array.from(await dev.data())).toEqual(Array.from(host.images));
    dev.dispose();
  });
});

describe('random translation with reflection padding', () => {
  const rng = new Random(8);
  const batch = { images: Uint8Array.from({ length: 4 * 3 * 12 * 12 }, () => rng.int(256)), n: 4, channels: 3, height: 12, width: 12 };
  it('GPU views match the CPU reference, two views and one view per image; shifts drawn in [-t, t]', async () => {
    const g = await gpu();
    const cfg = resolveAugment({ size: 12, scale: [0.5, 1], translate: 3, translateP: 0.8, grayP: 0.25 });
    for (const views of [2, 1] as const) {
      const params = drawAugmentParams(new Random(views), batch.n, 12, 12, cfg, views);
      expect(params.length).toBe(views * batch.n * VIEW_PARAMS);
      for (let v = 0; v < views * batch.n; v++) for (const k of [P.tx, P.ty]) expect(Math.abs(params[v * VIEW_PARAMS + k])).toBeLessThanOrEqual(3);
      const s = augmentGpu(g, batch, params, cfg);
      const got = await g.read(s, 'f32', views * batch.n * 3 * 12 * 12);
      g.release(s);
      expectTensorClose(`${views} view(s)`, got, augmentCpu(batch, params, cfg), 1e-5, 1e-6);
    }
  });
  it('a shift moves the view and mirrors the border without repeating the edge', () => {
    const cfg = resolveAugment({ size: 12, scale: [1, 1], ratio: [1, 1], flipP: 0, jitterP: 0, grayP: 0, blurP: 0, translate: 3, translateP: 1 });
    const params = drawAugmentParams(new Random(1), 1, 12, 12, cfg, 1);
    const plain = Float32Array.from(params);
    plain[P.tx] = plain[P.ty] = 0;
    const one = { ...batch, n: 1 };
    const [moved, still] = [augmentCpu(one, params, cfg), augmentCpu(one, plain, cfg)];
    const tx = params[P.tx], ty = params[P.ty];
    const reflect = (i: number) => (i < 0 ? -i : i >= 12 ? 22 - i : i);
    for (let y = 0; y < 12; y++) for (let x = 0; x < 12; x++) expect(moved[y * 12 + x]).toBe(still[reflect(y - ty) * 12 + reflect(x - tx)]);
    expect(() => resolveAugment({ size: 12, translate: 12 })).toThrow(/translate must be an integer in \[0, size 12\)/);
  });
});

describe('configuration of the feature-map methods', () => {
  it('recipes: AMDIM and YADIM Adam (0.8, 0.999), eps 1e-7, wd 1e-5, translate 4 p 0.8, gray 0.25; CPC lr 1e-4 and its grid', () => {
    expect(parseArgs(['--method', 'amdim', '--data', 'a', '--out', 'o'])).toMatchObject({
      optimizer: 'adam', lr: 2e-4, adamBetas: [0.8, 0.999], adamEps: 1e-7, weightDecay: 1e-5, translate: 4, translateProb: 0.8,
      jitter: [0.4, 0.4, 0.4, 0.2], jitterProb: 0.8, grayProb: 0.25, cropScale: [1, 1], tclip: 20, ndf: 320, rkhs: 1280, amdimDepth: 10,
    });
    expect(parseArgs(['--method', 'cpc', '--data', 'a', '--out', 'o'])).toMatchObject({
      optimizer: 'adam', lr: 1e-4, adamBetas: [0.8, 0.999], weightDecay: 1e-5, patchSize: 8, patchStride: 4, predictSteps: 3, headOut: 64,
    });
    expect(parseArgs(['--method', 'yadim', '--data', 'a', '--out', 'o', '--encoder', 'resnet', '--adam-betas', '0.9,0.99', '--adam-eps', '1e-6']))
      .toMatchObject({ encoder: 'resnet', cropScale: [0.3, 1], translate: 4, adamBetas: [0.9, 0.99], adamEps: 1e-6 });
  });
  it('flags of other methods are refused, naming the methods they apply to', () => {
    expect(() => parseArgs(['--data', 'a', '--out', 'o', '--ndf', '8'])).toThrow(/--ndf applies to --method amdim or --method yadim only, not --method simclr/);
    expect(() => parseArgs(['--method', 'amdim', '--data', 'a', '--out', 'o', '--width', '0.5'])).toThrow(/--width applies to .*--method cpc or --method yadim only, not --method amdim/);
    expect(() => parseArgs(['--method', 'amdim', '--data', 'a', '--out', 'o', '--head-out', '8'])).toThrow(/--head-out applies to/);
    expect(() => parseArgs(['--method', 'cpc', '--data', 'a', '--out', 'o', '--encoder', 'resnet'])).toThrow(/--encoder applies to --method yadim only/);
    expect(() => parseArgs(['--method', 'yadim', '--data', 'a', '--out', 'o', '--adam-betas', '0.9'])).toThrow(/--adam-betas must be two numbers/);
  });
  it('presets for CIFAR-10 and STL-10 per method; --help has their sections', () => {
    for (const m of ['amdim', 'cpc', 'yadim']) {
      expect(parseArgs(['--preset', `${m}-cifar10`, '--data', 'd'])).toMatchObject({ method: m, format: 'cifar10' });
      expect(parseArgs(['--preset', `${m}-stl10`, '--data', 'd'])).toMatchObject({ method: m, format: 'stl10' });
      expect(Object.keys(PRESETS)).toContain(`${m}-cifar10`);
    }
    expect(parseArgs(['--preset', 'cpc-stl10', '--data', 'd'])).toMatchObject({ patchSize: 16, patchStride: 8 });
    const h = helpText();
    for (const s of ['--method amdim:', '--method cpc:', '--method yadim:', '--ndf', '--rkhs', '--tclip', '--patch-size', '--predict-steps',
      '--context-blocks', '--encoder', '--adam-betas', '--translate']) expect(h).toContain(s);
  });
  it('an old run\'s config (no Adam betas, no translation) still resumes: new keys at their old values are not checked', async () => {
    const { checkedConfig } = await import('../simclr/config.js');
    const c = resolveTrainConfig({ data: ['a'], out: 'o' });
    for (const k of ['adamBetas', 'adamEps', 'translate', 'translateProb']) expect(checkedConfig(c, 'cifar10')).not.toHaveProperty(k);
  });
});

describe('export of every method\'s encoder', () => {
  it('AMDIM keeps its own names and says so; CPC\'s patch encoder writes its layer-norm ResNet with torchvision names', async () => {
    const c = new CpuBackend();
    const dir = await mkdtemp(join(tmpdir(), 'feature-export-'));
    const amdim = METHODS.amdim.encoder(resolveTrainConfig({ method: 'amdim', data: ['a'], out: 'o', ndf: 2, rkhs: 8, amdimDepth: 1 }), { channels: 3, size: 32 }, new Random(0), c);
    const a = await exportEncoder(amdim, join(dir, 'amdim.safetensors'));
    expect(a.notes.join(' ')).toMatch(/not a torchvision ResNet.*layer_list/);
    const cpc = METHODS.cpc.encoder(resolveTrainConfig({ method: 'cpc', data: ['a'], out: 'o', width: 1 / 16 }), { channels: 3, size: 32 }, new Random(0), c);
    const r = await exportEncoder(cpc, join(dir, 'cpc.safetensors'));
    expect(r.missingForTorchvision).toEqual(['fc.weight', 'fc.bias']);
    expect(r.unexpected).toEqual([]);
    expect(r.notes.join(' ')).toMatch(/GroupNorm\(1, c\)[\s\S]*averaged over the 8x8 patches \(stride 4\)/);
    amdim.dispose(); cpc.dispose();
  });
});

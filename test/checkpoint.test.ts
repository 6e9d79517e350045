/**
 * Training checkpoints (simclr/checkpoint.ts): file layout (torchvision names + 'optimizer.' prefix,
 * JSON metadata), atomic writes (a simulated crash after the temp write leaves the previous
 * checkpoint and latest.json intact), resume reproducing an uninterrupted run (k + k steps vs 2k,
 * tiny Linear-BatchNorm1d-Linear model, LARS, SGD momentum and Adam, data from a seeded Random and a
 * BatchLoader), clear errors; optimizer stateDict/loadStateDict.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backward } from '../engine/autograd.js';
import { CpuBackend } from '../engine/cpu/backend.js';
import { Random } from '../engine/random.js';
import { Tensor, tidy } from '../engine/tensor.js';
import { add, crossEntropy, mul, randn } from '../engine/ops/index.js';
import type { Backend } from '../engine/backend.js';
import { Adam, BatchNorm1d, LARS, Linear, SGD, Sequential, loadSafetensors } from '../nn/node.js';
import { encodeSafetensors } from '../nn/safetensors.js';
import { BatchLoader, type ImageDataset } from '../simclr/data/index.js';
import { CheckpointError, loadCheckpoint, resumeFrom, saveCheckpoint } from '../simclr/index.js';
import { gpu, tensorOn } from './helpers.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ckpt-test-'));
  dirs.push(d);
  return d;
}
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

const IN = 4, HID = 6, OUT = 3, N = 24, B = 8;

function dataset(): ImageDataset {
  const r = new Random(7);
  const images = new Uint8Array(N * IN).map(() => r.int(256));
  const labels = new Int32Array(N).map(() => r.int(OUT));
  return { images, labels, n: N, channels: IN, height: 1, width: 1 };
}

type Opt = LARS | SGD | Adam;
type OptKind = 'lars' | 'sgd' | 'adam';
interface Run { model: Sequential; opt: Opt; rng: Random; loader: BatchLoader; backend: Backend }

function makeRun(backend: Backend, which: OptKind, modelSeed = 1): Run {
  const init = new Random(modelSeed);
  const model = new Sequential(new Linear(IN, HID, { rng: init, backend }), new BatchNorm1d(HID, { backend }), new Linear(HID, OUT, { rng: init, backend }));
  model.train();
  const opt = which === 'lars' ? new LARS(model, { lr: 0, momentum: 0.9, weightDecay: 1e-3 })
    : which === 'sgd' ? new SGD(model.parameters(), { lr: 0, momentum: 0.9, weightDecay: 1e-3 })
      : new Adam(model.parameters(), { lr: 0, weightDecay: 1e-3 });
  return { model, opt, rng: new Random(42), loader: new BatchLoader(dataset(), { batchSize: B, seed: 3 }), backend };
}

const lrAt = (step: number) => 0.5 * (step + 1) / (step + 3);

/** One training step at `step`; returns the loss. Inputs: loader bytes / 255 plus noise from run.rng. */
async function trainStep(run: Run, step: number): Promise<number> {
  const batch = run.loader.next();
  const x0 = tensorOn(run.backend, Array.from(batch.images, (v) => v / 255), [batch.size, IN]);
  const y = tensorOn(run.backend, batch.labels!, [batch.size], 'i32');
  const loss = tidy(() => crossEntropy(run.model.call(add(x0, mul(randn([batch.size, IN], { rng: run.rng, backend: run.backend }), 0.1))), y));
  run.opt.zeroGrad();
  backward(loss);
  run.opt.lr = lrAt(step);
  run.opt.step();
  const v = await loss.item();
  loss.dispose(); x0.dispose(); y.dispose();
  return v;
}

async function snapshot(run: Run): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const [k, t] of run.model.stateDict()) out.set(k, Array.from(await t.data()));
  for (const [k, t] of run.opt.stateDict()) out.set(`opt.${k}`, Array.from(await t.data()));
  return out;
}

/** The checkpoint's precision: model and optimizer state rounded to f32 in memory (no files). */
async function roundToF32(run: Run): Promise<void> {
  const model = new Map<string, { dtype: string; shape: number[]; data: Float32Array | Int32Array }>();
  for (const [k, t] of run.model.stateDict()) {
    const d = await t.data();
    model.set(k, { dtype: t.dtype, shape: [...t.shape], data: t.dtype === 'f32' ? Float32Array.from(d) : Int32Array.from(d) });
  }
  run.model.loadStateDict(model);
  const opt = new Map<string, Tensor>();
  for (const [k, t] of run.opt.stateDict()) opt.set(k, tensorOn(run.backend, Float32Array.from(await t.data()), t.shape));
  run.opt.loadStateDict(opt);
  for (const t of opt.values()) t.dispose();
}

const CONFIG = { model: 'tiny', batchSize: B, lr: 'lrAt', nested: { a: 1, b: [1, 2] } };

async function resumeMatches(backend: Backend, which: OptKind, exactWithoutRounding: boolean): Promise<void> {
  const k = 5;
  // Uninterrupted: 2k steps (on float64 CPU storage the state is rounded to f32 at step k, as the
  // checkpoint stores it; on WebGPU nothing is rounded: f32 throughout).
  const ref = makeRun(backend, which);
  const refLosses: number[] = [];
  for (let s = 0; s < 2 * k; s++) {
    if (s === k && !exactWithoutRounding) await roundToF32(ref);
    refLosses.push(await trainStep(ref, s));
  }
  const refState = await snapshot(ref);

  // Interrupted: k steps, save, fresh objects (different init and seeds), resume, k steps.
  const dir = await tempDir();
  const a = makeRun(backend, which);
  const losses: number[] = [];
  for (let s = 0; s < k; s++) losses.push(await trainStep(a, s));
  await saveCheckpoint(dir, { model: a.model, optimizer: a.opt, step: k, epoch: a.loader.epoch, rng: a.rng, loader: a.loader, config: CONFIG, metrics: { loss: losses[k - 1] } });
  a.opt.dispose(); a.model.dispose();

  const b = makeRun(backend, which, 99);
  b.rng.seed(1234);
  const ck = await resumeFrom(dir, { model: b.model, optimizer: b.opt, rng: b.rng, loader: b.loader, config: CONFIG });
  expect(ck.step).toBe(k);
  expect(ck.metrics).toEqual({ loss: losses[k - 1] });
  for (let s = ck.step; s < 2 * k; s++) losses.push(await trainStep(b, s));
  expect(losses).toEqual(refLosses);
  const got = await snapshot(b);
  expect([...got.keys()]).toEqual([...refState.keys()]);
  for (const [name, v] of refState) expect(got.get(name), name).toEqual(v);
  // The loader crossed an epoch boundary (3 batches per epoch) and continued identically.
  expect(b.loader.getState()).toEqual(ref.loader.getState());
  expect(b.rng.getState()).toEqual(ref.rng.getState());
  for (const r of [ref, b]) { r.opt.dispose(); r.model.dispose(); }
}

describe('optimizer stateDict / loadStateDict', () => {
  it('LARS and SGD: momentum.<i> keyed by parameter index, copied on load, validated', async () => {
    const c = new CpuBackend();
    for (const which of ['lars', 'sgd'] as const) {
      const run = makeRun(c, which);
      expect(run.opt.stateDict().size).toBe(0);
      await trainStep(run, 0);
      const sd = run.opt.stateDict();
      expect([...sd.keys()]).toEqual(run.model.parameters().map((_, i) => `momentum.${i}`));
      const other = makeRun(c, which);
      other.opt.loadStateDict(sd);
      const sd2 = other.opt.stateDict();
      for (const [key, t] of sd) {
        expect(sd2.get(key)).not.toBe(t);
        expect(Array.from(await sd2.get(key)!.data())).toEqual(Array.from(await t.data()));
      }
      const bad = tensorOn(c, [1, 2], [2]);
      expect(() => other.opt.loadStateDict(new Map([['momentum.0', bad]]))).toThrow(/shape \[2\].*parameter 0/);
      expect(() => other.opt.loadStateDict(new Map([['momentum.99', bad]]))).toThrow(/unexpected key 'momentum.99'/);
      expect(() => other.opt.loadStateDict(new Map([['velocity.0', bad]]))).toThrow(/unexpected key/);
      expect(other.opt.stateDict().size).toBe(sd.size); // a failed load changes nothing
      bad.dispose();
      for (const r of [run, other]) { r.opt.dispose(); r.model.dispose(); }
    }
  });
});

describe('saveCheckpoint / loadCheckpoint', () => {
  it('writes checkpoint-<step>.safetensors (torchvision names, optimizer. prefix, JSON metadata) and latest.json', async () => {
    const c = new CpuBackend();
    const run = makeRun(c, 'lars');
    for (let s = 0; s < 2; s++) await trainStep(run, s);
    const dir = join(await tempDir(), 'nested', 'run');
    const path = await saveCheckpoint(dir, { model: run.model, optimizer: run.opt, step: 2, epoch: 0, rng: run.rng, loader: run.loader, config: CONFIG });
    expect(path).toBe(join(dir, 'checkpoint-2.safetensors'));
    expect(JSON.parse(await readFile(join(dir, 'latest.json'), 'utf8'))).toMatchObject({ checkpoint: 'checkpoint-2.safetensors', step: 2, epoch: 0 });
    const file = await loadSafetensors(path);
    expect([...file.keys()].filter((k) => !k.startsWith('optimizer.')).sort()).toEqual([...run.model.stateDict().keys()].sort());
    expect(file.get('1.num_batches_tracked')!.dtype).toBe('I64');
    expect(file.get('0.weight')!.dtype).toBe('F32');
    expect(file.has('optimizer.momentum.0')).toBe(true);
    expect(JSON.parse(file.metadata.config)).toEqual(CONFIG);
    expect(JSON.parse(file.metadata.loader)).toEqual(run.loader.getState());
    expect(file.metadata.step).toBe('2');
    const ck = await loadCheckpoint(dir);
    expect(ck.step).toBe(2);
    expect(ck.rng).toEqual(run.rng.getState());
    expect(ck.optimizer.size).toBe(run.opt.stateDict().size);
    // A later save moves the pointer; the old file stays; no temp files are left.
    await saveCheckpoint(dir, { model: run.model, optimizer: run.opt, step: 3, epoch: 1, rng: run.rng, config: CONFIG });
    expect((await loadCheckpoint(dir)).step).toBe(3);
    expect((await loadCheckpoint(dir)).loader).toBeNull();
    expect((await readdir(dir)).sort()).toEqual(['checkpoint-2.safetensors', 'checkpoint-3.safetensors', 'latest.json']);
    run.opt.dispose(); run.model.dispose();
  });

  it('a crash after the temp write leaves the previous checkpoint and latest.json intact', async () => {
    const c = new CpuBackend();
    const run = makeRun(c, 'sgd');
    await trainStep(run, 0);
    const dir = await tempDir();
    const save = (step: number, hooks?: Parameters<typeof saveCheckpoint>[2]) =>
      saveCheckpoint(dir, { model: run.model, optimizer: run.opt, step, epoch: 0, rng: run.rng, config: CONFIG }, hooks);
    await save(1);
    const before = await readFile(join(dir, 'checkpoint-1.safetensors'));
    const pointer = await readFile(join(dir, 'latest.json'), 'utf8');
    await trainStep(run, 1);
    // Crash while writing the checkpoint file: the temp file existed, nothing was renamed.
    let seen = '';
    await expect(save(2, { afterTempWrite: async (tmp) => { seen = tmp; await readFile(tmp); throw new Error('simulated crash'); } }))
      .rejects.toThrow('simulated crash');
    expect(seen).toMatch(/checkpoint-2\.safetensors.*\.tmp$/);
    expect((await readdir(dir)).sort()).toEqual(['checkpoint-1.safetensors', 'latest.json']);
    expect(await readFile(join(dir, 'latest.json'), 'utf8')).toBe(pointer);
    expect(Buffer.compare(await readFile(join(dir, 'checkpoint-1.safetensors')), before)).toBe(0);
    expect((await loadCheckpoint(dir)).step).toBe(1);
    // Crash while writing the pointer: the new file exists but latest.json still names the old one.
    await expect(save(2, { afterTempWrite: (_tmp, final) => { if (final.endsWith('latest.json')) throw new Error('crash 2'); } }))
      .rejects.toThrow('crash 2');
    expect(await readFile(join(dir, 'latest.json'), 'utf8')).toBe(pointer);
    expect((await loadCheckpoint(dir)).step).toBe(1);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    run.opt.dispose(); run.model.dispose();
  });

  it('clear errors: missing dir, no checkpoint, corrupt file (named), config mismatch, wrong model', async () => {
    const c = new CpuBackend();
    const run = makeRun(c, 'lars');
    await trainStep(run, 0);
    const target = () => ({ model: run.model, optimizer: run.opt, rng: run.rng });
    const missing = join(await tempDir(), 'nope');
    await expect(loadCheckpoint(missing)).rejects.toThrow(CheckpointError);
    await expect(loadCheckpoint(missing)).rejects.toThrow(/does not exist/);
    const empty = await tempDir();
    await expect(resumeFrom(empty, target())).rejects.toThrow(/no checkpoint in .*latest\.json is missing/);

    const dir = await tempDir();
    const path = await saveCheckpoint(dir, { model: run.model, optimizer: run.opt, step: 1, epoch: 0, rng: run.rng, config: CONFIG });
    await expect(resumeFrom(dir, { ...target(), config: { ...CONFIG, batchSize: 16, nested: { a: 2, b: [1, 2] }, extra: true } }))
      .rejects.toThrow(/config mismatch:\n {2}batchSize: checkpoint has 8, run has 16\n {2}extra: .*\n {2}nested\.a: checkpoint has 1, run has 2/);
    // Key order does not matter.
    await resumeFrom(dir, { ...target(), config: { nested: { b: [1, 2], a: 1 }, lr: 'lrAt', batchSize: B, model: 'tiny' } });
    await expect(resumeFrom(dir, { ...target(), loader: run.loader })).rejects.toThrow(/no loader state/);
    const wrong = new Sequential(new Linear(IN, 5, { backend: c }));
    await expect(resumeFrom(dir, { model: wrong, optimizer: new SGD(wrong.parameters(), { lr: 0, momentum: 0.9 }), rng: run.rng }))
      .rejects.toThrow(/checkpoint-1\.safetensors: model state does not fit/);

    const bytes = await readFile(path);
    await writeFile(path, bytes.subarray(0, bytes.length - 10));
    await expect(resumeFrom(dir, target())).rejects.toThrow(/corrupt checkpoint file .*checkpoint-1\.safetensors/);
    await writeFile(join(dir, 'latest.json'), '{"checkpoint": "checkpoint-7.safetensors"}');
    await expect(loadCheckpoint(dir)).rejects.toThrow(/points at .*checkpoint-7\.safetensors, which is missing/);
    await writeFile(join(dir, 'latest.json'), '{oops');
    await expect(loadCheckpoint(dir)).rejects.toThrow(/latest\.json: corrupt pointer/);
    run.opt.dispose(); run.model.dispose(); wrong.dispose();
  });
});

describe('checksums and fallback (issue 15)', () => {
  /** Flips one byte `fromEnd` bytes before the end of a file (in the tensor data). */
  async function flipByte(path: string, fromEnd = 3): Promise<void> {
    const b = await readFile(path);
    b[b.length - fromEnd] ^= 0x40;
    await writeFile(path, b);
  }

  it('a checksum of the file is checked on load: a changed tensor byte or metadata byte is an error naming the file; files without one still load', async () => {
    const c = new CpuBackend();
    const run = makeRun(c, 'lars');
    await trainStep(run, 0);
    const dir = await tempDir();
    const path = await saveCheckpoint(dir, { model: run.model, optimizer: run.opt, step: 1, epoch: 0, rng: run.rng, config: CONFIG });
    const good = await readFile(path);
    const meta = (await loadSafetensors(path)).metadata;
    expect(meta.checksum).toMatch(/^crc32:[0-9a-f]{8}$/);
    expect(meta.checksum).not.toBe('crc32:00000000');
    expect((await loadCheckpoint(dir)).fallback).toBeNull();
    await flipByte(path);
    await expect(loadCheckpoint(dir)).rejects.toThrow(/corrupt checkpoint file .*checkpoint-1\.safetensors: its bytes changed after it was written/);
    await expect(resumeFrom(dir, { model: run.model, optimizer: run.opt, rng: run.rng })).rejects.toThrow(/its bytes changed/);
    // a metadata value changed (batchSize 8 -> 9, same length): the header is covered too
    await writeFile(path, Buffer.from(good.toString('latin1').replace('\\"batchSize\\":8', '\\"batchSize\\":9'), 'latin1'));
    expect((await readFile(path)).equals(good)).toBe(false);
    await expect(loadCheckpoint(dir)).rejects.toThrow(/its bytes changed/);
    // a checkpoint written before checksums existed (no 'checksum' key) loads
    await writeFile(path, good);
    const decoded = await loadSafetensors(path);
    const { checksum: _, ...legacyMeta } = decoded.metadata;
    await writeFile(path, encodeSafetensors(new Map([...decoded].map(([k, e]) => [k, { dtype: e.dtype, shape: e.shape, data: e.data }])), legacyMeta));
    expect((await loadCheckpoint(dir)).step).toBe(1);
    run.opt.dispose(); run.model.dispose();
  });

  it('latest.json missing or corrupt, or its checkpoint missing or corrupt: the newest checkpoint that validates, saying why; none valid: every problem named', async () => {
    const c = new CpuBackend();
    const run = makeRun(c, 'sgd');
    const dir = await tempDir();
    for (let step = 1; step <= 3; step++) {
      await trainStep(run, step - 1);
      await saveCheckpoint(dir, { model: run.model, optimizer: run.opt, step, epoch: 0, rng: run.rng, config: CONFIG });
    }
    const pointer = await readFile(join(dir, 'latest.json'), 'utf8');
    await rm(join(dir, 'latest.json'));
    let ck = await loadCheckpoint(dir);
    expect(ck.step).toBe(3);
    expect(ck.fallback).toBe(`${join(dir, 'latest.json')} is missing; using checkpoint-3.safetensors, the newest checkpoint that validates`);
    await flipByte(join(dir, 'checkpoint-3.safetensors'));
    await writeFile(join(dir, 'latest.json'), '{oops');
    ck = await loadCheckpoint(dir);
    expect(ck.step).toBe(2);
    expect(ck.fallback).toMatch(/latest\.json: corrupt pointer .*; skipped corrupt checkpoint file .*checkpoint-3\.safetensors: its bytes changed .*; using checkpoint-2\.safetensors, the newest checkpoint that validates$/);
    await writeFile(join(dir, 'latest.json'), pointer); // names checkpoint-3, which is corrupt
    ck = await loadCheckpoint(dir);
    expect(ck.step).toBe(2);
    expect(ck.fallback).toMatch(/^corrupt checkpoint file .*checkpoint-3\.safetensors: its bytes changed .*; using checkpoint-2\.safetensors/);
    const target = makeRun(c, 'sgd', 7);
    expect((await resumeFrom(dir, { model: target.model, optimizer: target.opt, rng: target.rng, config: CONFIG })).step).toBe(2);
    await rm(join(dir, 'checkpoint-3.safetensors'));
    expect((await loadCheckpoint(dir)).fallback).toMatch(/latest\.json points at .*checkpoint-3\.safetensors, which is missing; using checkpoint-2/);
    await flipByte(join(dir, 'checkpoint-2.safetensors'));
    await flipByte(join(dir, 'checkpoint-1.safetensors'));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/checkpoint-3\.safetensors, which is missing; no other checkpoint validates: .*checkpoint-2\.safetensors: its bytes changed.*; .*checkpoint-1\.safetensors: its bytes changed/);
    for (const r of [run, target]) { r.opt.dispose(); r.model.dispose(); }
  });
});

describe('resume reproduces the uninterrupted run (k steps + save + resume + k steps == 2k steps)', () => {
  it('CPU backend, LARS: identical losses, weights, BN statistics, momentum, RNG and loader state', async () => {
    await resumeMatches(new CpuBackend(), 'lars', false);
  });
  it('CPU backend, SGD momentum', async () => {
    await resumeMatches(new CpuBackend(), 'sgd', false);
  });
  it('CPU backend, Adam: moments and step count (optimizer.step, optimizer.exp_avg.<i>, optimizer.exp_avg_sq.<i>)', async () => {
    await resumeMatches(new CpuBackend(), 'adam', false);
    const run = makeRun(new CpuBackend(), 'adam');
    await trainStep(run, 0);
    const dir = await tempDir();
    const path = await saveCheckpoint(dir, { model: run.model, optimizer: run.opt, step: 1, epoch: 0, rng: run.rng, config: CONFIG });
    const keys = [...(await loadSafetensors(path)).keys()].filter((key) => key.startsWith('optimizer.'));
    expect(keys.sort()).toEqual(['optimizer.step', ...run.model.parameters().flatMap((_, i) => [`optimizer.exp_avg.${i}`, `optimizer.exp_avg_sq.${i}`])].sort());
    run.opt.dispose(); run.model.dispose();
  });
  it('WebGPU (f32), LARS, SGD and Adam: bit-identical without any rounding', async () => {
    const g = await gpu();
    await resumeMatches(g, 'lars', true);
    await resumeMatches(g, 'sgd', true);
    await resumeMatches(g, 'adam', true);
  });
});

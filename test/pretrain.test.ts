/**
 * The SimCLR pre-training loop (simclr/train.ts) on WebGPU with tiny synthetic CIFAR-format files:
 * output files and finite losses; an interrupted run (shouldStop, the CLI's SIGINT path) resumed
 * gives the same losses as the uninterrupted run; a non-finite loss names the step and keeps the
 * last good checkpoint; a resume with another depth or stem is refused; the per-epoch history
 * (onEpochs) is rebuilt from log.jsonl on resume. The CLI: presets and their precedence, --help, the
 * no-argument demo, the progress bar and its throttling off a TTY. The kNN monitor every N epochs
 * (timed) and the profile of the second step.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Random } from '../engine/random.js';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, relative } from 'node:path';
import { warmupCosineLr } from '../nn/schedule.js';
import { DEFAULT_TRAIN_CONFIG, TrainingError, checkedConfig, train, type EpochSummary, type StepMetrics, type TrainConfig } from '../simclr/train.js';
import { Progress, UsageError, helpText, main, parseArgs, progressLine } from '../simclr/pretrain-cli.js';
import { DEMO_DIR, PRESETS } from '../simclr/presets.js';
import { cifarRecords, gpu } from './helpers.js';
import type { ProfileReport } from '../engine/webgpu/profiler.js';

let root = '';
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(root, 'run-'));
  dirs.push(d);
  return d;
}

let trainFile = '', testFile = '';
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pretrain-test-'));
  trainFile = join(root, 'train.bin');
  testFile = join(root, 'test.bin');
  await writeFile(trainFile, cifarRecords(64, 1));
  await writeFile(testFile, cifarRecords(32, 2));
});
afterAll(async () => { if (root) await rm(root, { recursive: true, force: true }); });

function config(out: string, over: Partial<TrainConfig> = {}): TrainConfig {
  return {
    ...DEFAULT_TRAIN_CONFIG, data: [trainFile], testData: testFile, out,
    epochs: 2, batchSize: 16, width: 1 / 16, warmupEpochs: 1, checkpointEvery: 1, seed: 5, ...over,
  };
}

async function logLines(out: string): Promise<Record<string, unknown>[]> {
  return (await readFile(join(out, 'log.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('train (WebGPU, synthetic CIFAR files)', () => {
  let fullLosses: number[] = [];
  let fullEpochs: Record<string, unknown>[] = [];
  /** The uninterrupted run's losses and epoch records: the first test's, or a run of its own when a test runs alone. */
  const uninterrupted = async (backend: Awaited<ReturnType<typeof gpu>>) => {
    if (fullLosses.length === 0) {
      const out = await tempDir();
      fullLosses = (await train(config(out), { backend })).losses;
      fullEpochs = (await logLines(out)).filter((l) => l.type === 'epoch');
    }
    return { losses: fullLosses, epochs: fullEpochs };
  };

  it('writes log.jsonl, checkpoints and latest.json; losses finite; kNN logged per epoch', async () => {
    const backend = await gpu();
    const out = await tempDir();
    const epochs: unknown[] = [];
    const r = await train(config(out), { backend, onEpoch: (m) => epochs.push(m) });
    expect(r.steps).toBe(8);
    expect(r.interrupted).toBe(false);
    fullLosses = r.losses;
    expect(r.losses.every(Number.isFinite)).toBe(true);
    const lines = await logLines(out);
    const steps = lines.filter((l) => l.type === 'step');
    expect(steps).toHaveLength(8);
    for (const s of steps) {
      for (const k of ['loss', 'accuracy', 'lr', 'imagesPerSec']) expect(Number.isFinite(s[k])).toBe(true);
    }
    const ep = lines.filter((l) => l.type === 'epoch');
    fullEpochs = ep;
    expect(ep).toHaveLength(2);
    for (const e of ep) expect(e.knnTop1).toBeGreaterThanOrEqual(0);
    expect(ep[1].lr).toBe(steps[7].lr); // the lr of the epoch's last step
    expect(ep[0].lr).toBe(steps[3].lr);
    expect(epochs).toHaveLength(2);
    const files = await readdir(out);
    expect(files).toContain('checkpoint-4.safetensors');
    expect(files).toContain('checkpoint-8.safetensors');
    expect([...(await readFile(join(out, 'plot.png'))).subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG');
    expect(JSON.parse(await readFile(join(out, 'latest.json'), 'utf8'))).toMatchObject({ checkpoint: 'checkpoint-8.safetensors', step: 8 });
  });

  it('leaks no GPU buffers: live buffers flat from step to step (kNN epochs included) and back to the start after train returns', async () => {
    const backend = await gpu();
    await backend.sync();
    const start = backend.memory();
    const live: number[] = [];
    await train(config(await tempDir(), { epochs: 3 }), { backend, onStep: () => live.push(backend.memory().liveBuffers) });
    expect(live).toHaveLength(12);
    expect(new Set(live.slice(1))).toEqual(new Set([live[1]]));
    await backend.sync();
    expect(backend.memory().liveBuffers).toBe(start.liveBuffers);
    expect(backend.memory().liveBytes).toBe(start.liveBytes);
  });

  it('interrupted after k steps (shouldStop) + resume == uninterrupted 2k steps (same losses; the interrupted epoch\'s record too, issue 15)', async () => {
    const backend = await gpu();
    const out = await tempDir();
    let n = 0;
    const a = await train(config(out), { backend, shouldStop: () => ++n >= 3 });
    expect(a.interrupted).toBe(true);
    expect(a.steps).toBe(3);
    const b = await train(config(out, { resume: true }), { backend });
    expect(b.steps).toBe(8);
    const full = await uninterrupted(backend);
    expect([...a.losses, ...b.losses]).toEqual(full.losses);
    // epoch 0 was cut at step 3 of 4: its mean covers all 4 steps (the checkpoint held the partial sums)
    const pick = (e: Record<string, unknown>) => ({ epoch: e.epoch, meanLoss: e.meanLoss, meanAccuracy: e.meanAccuracy, lr: e.lr });
    expect((await logLines(out)).filter((l) => l.type === 'epoch').map(pick)).toEqual(full.epochs.map(pick));
  });

  it('a non-finite loss throws naming the step; the last good checkpoint survives', async () => {
    const backend = await gpu();
    const out = await tempDir();
    await train(config(out), { backend, shouldStop: () => true }); // checkpoint at step 1
    const err = await train(config(out, { resume: true }), { backend, lrAt: () => 1e30 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainingError);
    expect((err as Error).message).toMatch(/non-finite loss .* at step \d+/);
    expect((err as Error).message).toContain('checkpoint-1.safetensors');
    expect(JSON.parse(await readFile(join(out, 'latest.json'), 'utf8'))).toMatchObject({ checkpoint: 'checkpoint-1.safetensors' });
    await expect(train(config(out, { resume: true, lr: 0.5 }), { backend })).rejects.toThrow(/config mismatch[\s\S]*lr/);
    await expect(train(config(out, { resume: true, depth: 34 }), { backend })).rejects.toThrow(/config mismatch[\s\S]*depth/);
    await expect(train(config(out, { resume: true, stem: 'imagenet' }), { backend })).rejects.toThrow(/config mismatch[\s\S]*stem/);
  });

  it('without a test split the kNN monitor is skipped with a note; onEpochs history is rebuilt from log.jsonl on resume', async () => {
    const backend = await gpu();
    const out = await tempDir();
    const notes: string[] = [];
    let n = 0;
    const a = await train(config(out, { testData: null }), { backend, onNote: (m) => notes.push(m), shouldStop: () => ++n >= 5 });
    expect(a.steps).toBe(5);
    expect(notes.filter((m) => m.startsWith('kNN'))).toEqual(['kNN monitor skipped: no test split (--test-data)']);
    let history: readonly EpochSummary[] = [];
    await train(config(out, { testData: null, resume: true }), { backend, onEpochs: (h) => { history = h.map((e) => ({ ...e })); } });
    const logged = (await logLines(out)).filter((l) => l.type === 'epoch');
    expect(logged).toHaveLength(2);
    expect(history.map((e) => e.epoch)).toEqual([1, 2]);
    expect(history.map((e) => e.meanLoss)).toEqual(logged.map((l) => l.meanLoss));
    expect(history.map((e) => e.lr)).toEqual(logged.map((l) => l.lr));
    expect(history.every((e) => e.knnTop1 === null)).toBe(true);
    expect((await logLines(out)).filter((l) => l.type === 'note' && String(l.message).startsWith('kNN'))).toHaveLength(2);
  });
});

describe('runs that cannot be lost (issue 15)', () => {
  /** Two steps per epoch and no kNN monitor: these tests are about files. */
  const small = (out: string, over: Partial<TrainConfig> = {}) => config(out, { testData: null, batchSize: 32, ...over });
  it('a non-empty --out is refused without --resume; the lock is held while training and refuses a second run; --overwrite; pruning to --keep-checkpoints', async () => {
    const backend = await gpu();
    const out = await tempDir();
    let lockSeen: unknown = null;
    let second: unknown = null;
    await train(small(out, { epochs: 3, keepCheckpoints: 1 }), {
      backend,
      onStep: (m) => {
        if (m.step !== 1) return;
        lockSeen = JSON.parse(readFileSync(join(out, '.lock'), 'utf8'));
        // a second run on the same directory while this one holds it
        second = train(small(out, { resume: true }), { backend }).then(() => 'ran', (e: Error) => e.message);
      },
    });
    expect(lockSeen).toMatchObject({ pid: process.pid });
    expect(await second).toMatch(new RegExp(`out: ${out} is in use by process ${process.pid} `));
    expect(existsSync(join(out, '.lock'))).toBe(false); // released
    // pruned to the newest one (which latest.json names)
    expect((await readdir(out)).filter((f) => f.startsWith('checkpoint-'))).toEqual(['checkpoint-6.safetensors']);
    const before = await readFile(join(out, 'log.jsonl'), 'utf8');
    await expect(train(small(out), { backend })).rejects.toThrow(`out: ${out} is not empty (it holds checkpoint-6.safetensors, ` +
      'config.json, latest.json, log.jsonl, plot.png: a previous run); pass --resume to continue that run, another --out for a new one, or --overwrite');
    expect(await readFile(join(out, 'log.jsonl'), 'utf8')).toBe(before); // nothing appended, nothing repointed
    const notes: string[] = [];
    const r = await train(small(out, { overwrite: true, epochs: 1 }), { backend, onNote: (m) => notes.push(m) });
    expect(r.steps).toBe(2);
    expect(notes[0]).toMatch(/^--overwrite: removed the previous run's 5 file\(s\) from .*: checkpoint-6\.safetensors, config\.json, latest\.json, log\.jsonl, plot\.png$/);
    expect((await readdir(out)).filter((f) => f.startsWith('checkpoint-'))).toEqual(['checkpoint-2.safetensors']);
    expect((await logLines(out)).filter((l) => l.type === 'step')).toHaveLength(2); // one run in the log
  });

  it('--resume: leftover .tmp files removed, a corrupt latest.json falls back to the newest valid checkpoint (said), data paths compared after resolving', async () => {
    const backend = await gpu();
    const out = await tempDir();
    const rel = relative(process.cwd(), trainFile);
    const spelled = `${dirname(trainFile)}/../${basename(dirname(trainFile))}/./${basename(trainFile)}`; // /abs/../dir/./train.bin
    expect(rel).not.toBe(trainFile);
    let n = 0;
    await train(small(out, { data: [rel] }), { backend, shouldStop: () => ++n >= 3 }); // checkpoints 2 (epoch) and 3 (stop)
    expect(JSON.parse(await readFile(join(out, 'config.json'), 'utf8')).data).toEqual([trainFile]); // stored resolved
    await writeFile(join(out, `.checkpoint-4.safetensors.${2 ** 22 + 12345}.abc.tmp`), 'partial');
    await writeFile(join(out, 'latest.json'), '{"checkpoint": "checkpoint-3.safet');
    const notes: string[] = [];
    const r = await train(small(out, { data: [spelled], resume: true }), { backend, onNote: (m) => notes.push(m) });
    expect(r.steps).toBe(4);
    expect(r.losses).toHaveLength(1); // from step 3
    expect(notes).toContain(`removed 1 leftover temporary file(s) of an interrupted write in ${out}: .checkpoint-4.safetensors.${2 ** 22 + 12345}.abc.tmp`);
    expect(notes.some((m) => /latest\.json: corrupt pointer .*; using checkpoint-3\.safetensors, the newest checkpoint that validates/.test(m))).toBe(true);
    expect((await readdir(out)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('--resume with a larger --epochs extends a run (the schedule over the new total from the stored step); smaller is refused; a complete run says so', async () => {
    const backend = await gpu();
    const out = await tempDir();
    await train(small(out, { epochs: 1 }), { backend });
    await expect(train(small(out, { epochs: 1, resume: true, lr: 0.7 }), { backend })).rejects.toThrow(/config mismatch[\s\S]*lr/);
    const notes: string[] = [];
    const r = await train(small(out, { epochs: 2, resume: true }), { backend, onNote: (m) => notes.push(m) });
    expect(r.steps).toBe(4);
    expect(r.losses).toHaveLength(2);
    expect(notes.some((m) => /^the run had 1 epochs and now has 2: the warm-up \+ cosine schedule continues from step 2 over 4 steps/.test(m))).toBe(true);
    const sched = { baseLr: 0.3, batchSize: 32, numExamples: 64, warmupEpochs: 1, trainSteps: 4 };
    const steps = (await logLines(out)).filter((l) => l.type === 'step');
    expect(steps.slice(2).map((l) => l.lr)).toEqual([2, 3].map((s) => warmupCosineLr(s, sched)));
    expect((await logLines(out)).filter((l) => l.type === 'epoch').map((l) => l.epoch)).toEqual([0, 1]);
    await expect(train(small(out, { epochs: 1, resume: true }), { backend }))
      .rejects.toThrow(/checkpoint-4\.safetensors is at step 4 \(epoch 2\), past the end of --epochs 1 \(step 2\); pass --epochs 2 or more/);
    const again: string[] = [];
    expect((await train(small(out, { epochs: 2, resume: true }), { backend, onNote: (m) => again.push(m) })).losses).toEqual([]);
    expect(again).toContain('the run is complete (step 4 of 4); pass a larger --epochs to extend it');
  });

  it('a labelled split of a single class: noted, and the kNN monitor (100 % by construction) is skipped', async () => {
    const backend = await gpu();
    const one = cifarRecords(16, 3);
    for (let i = 0; i < 16; i++) one[i * 3073] = 4;
    const file = join(await tempDir(), 'data_batch_1.bin');
    await writeFile(file, one);
    const out = await tempDir();
    const notes: string[] = [];
    await train(config(out, { data: [file], epochs: 1, batchSize: 8 }), { backend, onNote: (m) => notes.push(m) });
    expect(notes).toEqual([
      'the labelled training split holds a single class (deer): kNN and linear accuracy would be 100 % by construction; evaluation needs at least 2 classes',
      'kNN monitor skipped: the labelled training split holds a single class',
    ]);
    expect((await logLines(out)).filter((l) => l.type === 'epoch').map((l) => l.knnTop1)).toEqual([null]);
  });
});

describe('train on the directory formats (WebGPU, tiny fixtures)', () => {
  it('STL-10 (96x96, ImageNet stem, blur) and idx (28x28 gray as 3 channels): one epoch each, finite losses, kNN logged', async () => {
    const backend = await gpu();
    const r = new Random(3);
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => r.int(256));
    const stl = await tempDir();
    await writeFile(join(stl, 'train_X.bin'), bytes(8 * 3 * 96 * 96));
    await writeFile(join(stl, 'train_y.bin'), Uint8Array.from({ length: 8 }, (_, i) => 1 + (i % 10)));
    await writeFile(join(stl, 'unlabeled_X.bin'), bytes(8 * 3 * 96 * 96));
    await writeFile(join(stl, 'test_X.bin'), bytes(4 * 3 * 96 * 96));
    await writeFile(join(stl, 'test_y.bin'), Uint8Array.from({ length: 4 }, (_, i) => 1 + (i % 10)));
    const idx = await tempDir();
    const header = (magic: number, ...dims: number[]) => {
      const h = new Uint8Array(4 + 4 * dims.length);
      const dv = new DataView(h.buffer);
      dv.setUint32(0, magic);
      dims.forEach((d, i) => dv.setUint32(4 + 4 * i, d));
      return h;
    };
    const cat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
    await writeFile(join(idx, 'train-images-idx3-ubyte'), cat(header(2051, 16, 28, 28), bytes(16 * 784)));
    await writeFile(join(idx, 'train-labels-idx1-ubyte'), cat(header(2049, 16), Uint8Array.from({ length: 16 }, (_, i) => i % 10)));
    await writeFile(join(idx, 't10k-images-idx3-ubyte'), cat(header(2051, 4, 28, 28), bytes(4 * 784)));
    await writeFile(join(idx, 't10k-labels-idx1-ubyte'), cat(header(2049, 4), Uint8Array.from({ length: 4 }, (_, i) => i % 10)));
    for (const [data, over, desc] of [
      [stl, { stem: 'imagenet', jitterStrength: 1, blurProb: 0.5 }, 'stl10: 16 pretrain (8 unlabeled + 8 train) / 4 test, 96x96x3, 10 classes'],
      [idx, {}, 'idx: 16 train / 4 test, 28x28x3, 10 classes'],
    ] as const) {
      const out = await tempDir();
      const descs: string[] = [];
      const res = await train(config(out, { data: [data], testData: null, epochs: 1, batchSize: 8, ...over }), { backend, onData: (d) => descs.push(d) });
      expect(descs).toEqual([desc]);
      expect(res.steps).toBe(2);
      expect(res.losses.every(Number.isFinite)).toBe(true);
      const ep = (await logLines(out)).filter((l) => l.type === 'epoch');
      expect(ep[0].knnTop1).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('pretrain CLI argument parsing', () => {
  it('--help lists every flag with its default and the presets with their key values', () => {
    expect(parseArgs(['--data', 'a.bin', '--help'])).toBeNull();
    const h = helpText();
    for (const f of ['--data', '--test-data', '--format', '--out', '--epochs', '--batch-size', '--depth', '--stem', '--width', '--temperature',
      '--lr', '--weight-decay', '--warmup-epochs', '--jitter-strength', '--blur-prob', '--checkpoint-every', '--seed', '--resume', '--backend',
      '--preset', '--config', '--help']) expect(h).toContain(f);
    for (const d of ['(default: 256)', '(default: 18)', '(default: "cifar")', '(default: "auto")', '(default: 0.5)', '(default: 1e-6)']) expect(h).toContain(d);
    for (const p of Object.keys(PRESETS)) expect(h).toMatch(new RegExp(`^  ${p} +\\S`, 'm'));
    expect(h).toContain('batch 512, LARS lr 1.0 x B/256, wd 1e-4');
    expect(h).toContain('v2 code default 1e-6');
  });

  it('no arguments: the demo preset on the shipped files', () => {
    const c = parseArgs([])!;
    expect(c).toMatchObject({ ...PRESETS.demo.values, resume: false, backend: 'auto' });
    expect(c.data).toHaveLength(1);
    expect(c.data[0].startsWith(DEMO_DIR)).toBe(true);
    for (const f of [...c.data, c.testData!]) expect(existsSync(f), f).toBe(true);
    expect(c).toMatchObject({ width: 0.125, batchSize: 128, lr: 1.0, temperature: 0.5, warmupEpochs: 2, out: 'runs/demo', format: 'cifar10' });
  });

  it('defaults < --preset < --config < flags; a preset without data needs --data', async () => {
    const cfgFile = join(root, 'preset-cfg.json');
    await writeFile(cfgFile, JSON.stringify({ batchSize: 64, lr: 2, depth: 34 }));
    const c = parseArgs(['--preset', 'cifar10', '--data', 'a.bin', '--config', cfgFile, '--lr', '3', '--stem=imagenet'])!;
    expect(c).toMatchObject({
      data: ['a.bin'], batchSize: 64, lr: 3, depth: 34, stem: 'imagenet', // config over preset, flags over both
      weightDecay: 1e-4, temperature: 0.5, jitterStrength: 0.5, blurProb: 0, warmupEpochs: 10, epochs: 1000, width: 1, format: 'cifar10', // preset
      seed: 0, checkpointEvery: 10, out: 'runs/cifar10', // defaults and preset out
    });
    expect(parseArgs(['--preset', 'stl10', '--data', 'd'])).toMatchObject({ stem: 'imagenet', jitterStrength: 1, blurProb: 0.5, format: 'stl10' });
    expect(() => parseArgs(['--preset', 'cifar10'])).toThrow(/--preset cifar10 needs --data/);
    expect(() => parseArgs(['--preset', 'nope'])).toThrow(/unknown preset 'nope'/);
    expect(() => parseArgs(['--data', 'a', '--out', 'o', '--depth', '20'])).toThrow(/--depth must be one of 18, 34, 50/);
    expect(parseArgs(['--data', 'a', '--out', 'o', '--depth', '50'])!.depth).toBe(50);
  });

  it('--preset fashion-mnist reads Debian\'s dataset-fashion-mnist', (ctx) => {
    ctx.skip(!existsSync('/usr/share/datasets/fashion-mnist'), '/usr/share/datasets/fashion-mnist is absent (apt-get install dataset-fashion-mnist; .ci/run does)');
    expect(parseArgs(['--preset', 'fashion-mnist'])).toMatchObject({ data: ['/usr/share/datasets/fashion-mnist'], format: 'idx', stem: 'cifar' });
  });

  it('the checked (resume) config holds format, depth, stem, jitter and blur when they differ from the pre-preset values', () => {
    const base = { ...DEFAULT_TRAIN_CONFIG, data: ['a'], out: 'o' } as TrainConfig;
    expect(checkedConfig(base, 'cifar10')).not.toHaveProperty('depth');
    expect(checkedConfig({ ...base, depth: 50, stem: 'imagenet', jitterStrength: 1, blurProb: 0.5 }, 'stl10'))
      .toMatchObject({ depth: 50, stem: 'imagenet', jitterStrength: 1, blurProb: 0.5, format: 'stl10' });
  });

  it('defaults < --config file < flags; errors are UsageErrors', async () => {
    const cfgFile = join(root, 'cfg.json');
    await writeFile(cfgFile, JSON.stringify({ batchSize: 64, epochs: 7, data: 'x.bin' }));
    const c = parseArgs(['--config', cfgFile, '--out', 'o', '--epochs=3', '--data', 'a.bin,b.bin', '--width', '0.5', '--resume'])!;
    expect(c).toMatchObject({ data: ['a.bin', 'b.bin'], out: 'o', epochs: 3, batchSize: 64, width: 0.5, resume: true, temperature: 0.5, lr: 0.3 });
    expect(parseArgs(['--config', cfgFile, '--out', 'o'])!.data).toEqual(['x.bin']);
    expect(() => parseArgs(['--out', 'o'])).toThrow(UsageError);
    expect(() => parseArgs(['--data', 'a', '--out', 'o', '--epochs', '2.5'])).toThrow(/integer/);
    expect(() => parseArgs(['--data', 'a', '--out', 'o', '--bogus', '1'])).toThrow(/unknown flag --bogus/);
    expect(() => parseArgs(['--data', 'a', '--out'])).toThrow(/needs a value/);
  });

  it('--config values are type-checked like flags, and flag ranges hold (the issue-15 examples)', async () => {
    const file = join(root, 'typed.json');
    const refused = async (values: Record<string, unknown>) => {
      await writeFile(file, JSON.stringify({ data: 'a.bin', out: 'o', ...values }));
      return (() => { try { parseArgs(['--config', file]); return 'accepted'; } catch (e) { return (e as Error).message; } })();
    };
    const at = `config: --config ${file}: `;
    expect(await refused({ lr: '0.5' })).toBe(`${at}"lr" must be a number, got the string "0.5"`);
    expect(await refused({ epochs: '1' })).toBe(`${at}"epochs" must be an integer, got the string "1"`);
    expect(await refused({ testData: 7 })).toBe(`${at}"testData" must be a non-empty path, got number 7`);
    expect(await refused({ out: 5 })).toBe(`${at}"out" must be a non-empty path, got number 5`);
    expect(await refused({ resume: 'yes' })).toBe(`${at}"resume" must be true or false, got the string "yes"`);
    expect(await refused({ backend: 'tpu' })).toBe(`${at}"backend" must be one of auto, webgpu, cpu, got the string "tpu"`);
    expect(await refused({ weightDecay: null })).toBe(`${at}"weightDecay" must be set (null is not allowed), got null`);
    expect(await refused({ keepCheckpoints: 0 })).toBe(`${at}"keepCheckpoints" must be an integer >= 1 and <= 2147483647, got number 0`);
    expect(await refused({ epochs: 1, lr: 0.5, overwrite: true })).toBe('accepted');
    const flag = (...a: string[]) => { try { parseArgs(['--data', 'a', '--out', 'o', ...a]); return 'accepted'; } catch (e) { return (e as Error).message; } };
    expect(flag('--temperature', '1e-4')).toBe('config: --temperature must be a number >= 0.001 and <= 100, got number 0.0001');
    expect(flag('--epochs', String(2 ** 31))).toBe('config: --epochs must be an integer >= 1 and <= 2147483647, got number 2147483648');
    expect(flag('--seed', '-1')).toBe('config: --seed must be an integer >= 0 and <= 4294967295, got number -1');
    expect(flag('--seed', String(2 ** 32))).toBe('config: --seed must be an integer >= 0 and <= 4294967295, got number 4294967296');
    expect(flag('--seed', '0x10')).toBe("config: --seed needs an integer in decimal notation, got '0x10'");
    expect(flag('--lr', '0x10')).toBe("config: --lr needs a number in decimal notation, got '0x10'");
    expect(flag('--seed', String(2 ** 32 - 1), '--epochs', '1e3', '--keep-checkpoints', '1', '--overwrite')).toBe('accepted');
  });

  it('main: an engine error (missing data) prints its message without a stack and exits 1; a usage error exits 2', async () => {
    const errs: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { errs.push(a.map(String).join(' ')); });
    const logSpy = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const out = await tempDir();
      expect(await main(['--data', join(root, 'missing.bin'), '--out', out])).toBe(1);
      expect(errs[0]).toBe(`pretrain: data: ${join(root, 'missing.bin')}: not found (looked for CIFAR-10/100 binary batch files (*.bin, *.bin.gz) or their directory (data_batch_1.bin ..., test_batch.bin; train.bin, test.bin), ` +
        'a directory with STL-10 binaries (train_X.bin, unlabeled_X.bin), a directory with idx files (train-images-idx3-ubyte[.gz]) ' +
        'or a directory of PNG images (<dir>/<class>/*.png, <dir>/*.png or <dir>/train/...))');
      expect(errs.join('\n')).not.toMatch(/\n\s+at /);
      expect(await main(['--bogus'])).toBe(2);
    } finally {
      spy.mockRestore(); logSpy.mockRestore();
    }
  });

  it('main: SIGINT writes a checkpoint after the current step and exits 130; --resume runs to the end and evaluates', async () => {
    const out = await tempDir();
    const args = ['--data', trainFile, '--test-data', testFile, '--out', out, '--epochs', '2', '--batch-size', '16',
      '--width', '0.0625', '--warmup-epochs', '1', '--backend', 'webgpu'];
    const lines: string[] = [];
    const logSpy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { lines.push(a.map(String).join(' ')); });
    const errSpy = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { lines.push(a.map(String).join(' ')); });
    const outSpy = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    // The signal arrives while a step runs: as soon as the first step is logged.
    const timer = setInterval(() => {
      if (existsSync(join(out, 'log.jsonl'))) { clearInterval(timer); process.emit('SIGINT'); }
    }, 5);
    try {
      expect(await main(args)).toBe(130);
      const stopped = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8')) as { step: number };
      expect(stopped.step).toBeGreaterThan(0);
      expect(stopped.step).toBeLessThan(8);
      expect(lines.join('\n')).toMatch(/SIGINT, writing a checkpoint after this step[\s\S]*interrupted at step \d+; checkpoint .*; continue with --resume/);
      expect(await main([...args, '--resume', '--evaluate'])).toBe(0);
      expect(JSON.parse(await readFile(join(out, 'latest.json'), 'utf8'))).toMatchObject({ step: 8 });
      expect(await readFile(join(out, 'eval', 'eval.md'), 'utf8')).toMatch(/\| random-init encoder \|/);
      expect(process.listenerCount('SIGINT')).toBe(0);
    } finally {
      clearInterval(timer);
      logSpy.mockRestore(); errSpy.mockRestore(); outSpy.mockRestore();
    }
  });

  it('main: SIGTERM is SIGINT (checkpoint after the step, exit 143); SIGINT during --evaluate stops it without promising a checkpoint (issue 15)', async () => {
    const out = await tempDir();
    const args = ['--data', trainFile, '--out', out, '--epochs', '2', '--batch-size', '32',
      '--width', '0.0625', '--warmup-epochs', '1', '--backend', 'webgpu'];
    const lines: string[] = [];
    const exits: number[] = [];
    const logSpy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
      const l = a.map(String).join(' ');
      lines.push(l);
      if (l.startsWith('evaluating the encoder')) process.emit('SIGINT');
    });
    const errSpy = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { lines.push(a.map(String).join(' ')); });
    const outSpy = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    // process.exit, mocked: records the status and throws, which ends main() where the signal arrived
    const exitSpy = vi.spyOn(process, 'exit').mockImplementation(((code?: number) => { exits.push(code ?? 0); throw new Error('exit'); }) as typeof process.exit);
    const timer = setInterval(() => {
      if (existsSync(join(out, 'log.jsonl'))) { clearInterval(timer); process.emit('SIGTERM'); }
    }, 5);
    try {
      expect(await main(args)).toBe(143);
      expect(lines.join('\n')).toMatch(/SIGTERM, writing a checkpoint after this step[\s\S]*interrupted at step \d+; checkpoint .*; continue with --resume/);
      const stopped = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8')) as { step: number };
      expect(stopped.step).toBeGreaterThan(0);
      expect(stopped.step).toBeLessThan(4);
      expect(exits).toEqual([]);
      lines.length = 0;
      // the signal arrives as the evaluation starts: process.exit(130) at once
      await main([...args, '--resume', '--evaluate']);
      expect(exits).toEqual([130]);
      expect(existsSync(join(out, 'eval'))).toBe(false);
      const said = lines.join('\n');
      expect(said).toContain(`SIGINT during the evaluation: stopping it (no checkpoint is needed: training finished, ${join(out, 'checkpoint-4.safetensors')} is complete; ` +
        `npm run eval -- --run ${out} evaluates it)`);
      expect(said).not.toContain('writing a checkpoint');
      expect(process.listenerCount('SIGINT')).toBe(0);
      expect(process.listenerCount('SIGTERM')).toBe(0);
    } finally {
      clearInterval(timer);
      logSpy.mockRestore(); errSpy.mockRestore(); outSpy.mockRestore(); exitSpy.mockRestore();
    }
  });

  it('main: re-running into an --out that holds a run is refused in one line, naming it and the ways out; nothing is listed as results (issue 15)', async () => {
    const out = await tempDir();
    for (const f of ['log.jsonl', 'latest.json', 'config.json', 'checkpoint-4.safetensors']) await writeFile(join(out, f), '{}');
    const errs: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { errs.push(a.map(String).join(' ')); });
    const logSpy = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await main(['--data', trainFile, '--out', out])).toBe(1);
      expect(errs).toEqual([`pretrain: out: ${out} is not empty (it holds checkpoint-4.safetensors, config.json, latest.json, log.jsonl: a previous run); ` +
        'pass --resume to continue that run, another --out for a new one, or --overwrite to remove the previous run\'s files first']);
    } finally {
      spy.mockRestore(); logSpy.mockRestore();
    }
  });

  it('main: a run that fails before training does not list the files already in --out as its results (issue 15)', async () => {
    const out = await tempDir();
    for (const f of ['log.jsonl', 'latest.json', 'config.json', 'checkpoint-4.safetensors']) await writeFile(join(out, f), '{}');
    const errs: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { errs.push(a.map(String).join(' ')); });
    const logSpy = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await main(['--data', join(root, 'missing.bin'), '--out', out, '--resume'])).toBe(1);
      expect(errs).toHaveLength(1);
      expect(errs[0]).toMatch(/^pretrain: data: .*missing\.bin: not found/);
    } finally {
      spy.mockRestore(); logSpy.mockRestore();
    }
  });

  const stepM = (step: number, over: Partial<StepMetrics> = {}): StepMetrics => ({
    type: 'step', step, epoch: Math.floor(step / 220), batch: (step % 220) + 1, batchesPerEpoch: 220, totalSteps: 4400,
    loss: 4.8123, accuracy: 0.2312, lr: 0.123, imagesPerSec: 58.08, etaSec: 370, ...over,
  });

  it('progress line: epoch, bar, step in the epoch, img/s, loss, acc, lr, ETA', () => {
    expect(progressLine(stepM(2 * 220 + 40))).toBe('epoch 3/20 [===>                ] step 41/220 58.1 img/s loss 4.812 acc 0.231 lr 1.2e-1 ETA 6m10s');
    expect(progressLine(stepM(219))).toContain('[====================] step 220/220');
  });

  it('progress: redrawn in place on a TTY; off a TTY at most one line per 10 s plus every epoch line', () => {
    let t = 0;
    const plain: string[] = [];
    const p = new Progress({ tty: false, write: (s) => plain.push(s), now: () => t, epochs: 20 });
    for (let i = 0; i < 26; i++) { t = i * 1000; p.step(stepM(i)); } // 26 steps, one a second
    expect(plain).toHaveLength(3); // t = 0, 10, 20 s
    p.epoch({ type: 'epoch', epoch: 0, step: 220, meanLoss: 5, meanAccuracy: 0.1, knnTop1: 0.3, knnSec: 12.25, lr: 0.5, checkpoint: null });
    expect(plain).toHaveLength(4);
    expect(plain[3]).toBe('epoch 1/20 done: mean loss 5.0000 acc 0.100 lr 5.00e-1 kNN top-1 30.00% (12.3 s)\n');
    expect(plain.every((l) => !l.includes('\r'))).toBe(true);
    const tty: string[] = [];
    const q = new Progress({ tty: true, write: (s) => tty.push(s), epochs: 20 });
    q.step(stepM(0)); q.step(stepM(1));
    q.line('note: x');
    expect(tty).toHaveLength(4);
    expect(tty[0].startsWith('\r epoch 1/20'.trim()) || tty[0].startsWith('\repoch 1/20')).toBe(true);
    expect(tty[0].endsWith('\x1b[K')).toBe(true);
    expect(tty.slice(2)).toEqual(['\n', 'note: x\n']);
  });
});

describe('train: kNN every N epochs, profile (pipelines already compiled in this file)', () => {
  it('kNN after epochs 2 and 3 of 3 with knnEvery 2, timed; the second step profiled', async () => {
    const backend = await gpu();
    const out = await tempDir();
    const reports: ProfileReport[] = [];
    let dispatches = 0, d0 = 0;
    const r = await train(config(out, { epochs: 3, checkpointEvery: 3, seed: 2, knnEvery: 2, profile: true }), {
      backend,
      onStep: (m) => { if (m.step === 0) d0 = backend.dispatchCount; if (m.step === 1) dispatches = backend.dispatchCount - d0; },
      onProfile: (p) => reports.push(p),
    });
    expect(r.steps).toBe(12);
    const lines = await logLines(out);
    const ep = lines.filter((l) => l.type === 'epoch');
    expect(ep.map((e) => e.knnTop1 === null)).toEqual([true, false, false]);
    expect(ep.map((e) => e.knnSec === null)).toEqual([true, false, false]);
    for (const e of ep.slice(1)) expect(e.knnSec as number).toBeGreaterThan(0);
    const prof = lines.filter((l) => l.type === 'profile');
    expect(prof).toHaveLength(1);
    expect(prof[0].step).toBe(1);
    expect(reports).toHaveLength(1);
    // every dispatch of step 1 (between the onStep calls of steps 0 and 1) was profiled
    expect(reports[0].dispatches).toBe(dispatches);
    expect(reports[0].phases.map((p) => p.key)).toEqual(['augment', 'loss, backward, read, optimizer']);
    const ops = reports[0].ops.map((o) => o.op);
    for (const op of ['conv2d', 'conv2dBackwardWeight', 'ntXentRows', 'larsUpdate']) expect(ops).toContain(op);
  });

  it('--knn-every and --profile parse; --knn-every 0 is refused', () => {
    const a = parseArgs(['--data', trainFile, '--out', 'x', '--knn-every', '5', '--profile']);
    expect(a?.knnEvery).toBe(5);
    expect(a?.profile).toBe(true);
    expect(() => parseArgs(['--data', trainFile, '--out', 'x', '--knn-every', '0'])).toThrow(/knn-every/);
  });
});

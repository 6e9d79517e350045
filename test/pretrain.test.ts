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
import { existsSync } from 'node:fs';
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
  /** The uninterrupted run's losses: the first test's, or a run of its own when a test runs alone. */
  const uninterrupted = async (backend: Awaited<ReturnType<typeof gpu>>) => {
    if (fullLosses.length === 0) fullLosses = (await train(config(await tempDir()), { backend })).losses;
    return fullLosses;
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

  it('interrupted after k steps (shouldStop) + resume == uninterrupted 2k steps (same losses)', async () => {
    const backend = await gpu();
    const out = await tempDir();
    let n = 0;
    const a = await train(config(out), { backend, shouldStop: () => ++n >= 3 });
    expect(a.interrupted).toBe(true);
    expect(a.steps).toBe(3);
    const b = await train(config(out, { resume: true }), { backend });
    expect(b.steps).toBe(8);
    expect([...a.losses, ...b.losses]).toEqual(await uninterrupted(backend));
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
    await expect(train(config(out, { resume: true, epochs: 3 }), { backend })).rejects.toThrow(/config mismatch/);
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
    expect(notes).toEqual(['kNN monitor skipped: no test split (--test-data)']);
    let history: readonly EpochSummary[] = [];
    await train(config(out, { testData: null, resume: true }), { backend, onEpochs: (h) => { history = h.map((e) => ({ ...e })); } });
    const logged = (await logLines(out)).filter((l) => l.type === 'epoch');
    expect(logged).toHaveLength(2);
    expect(history.map((e) => e.epoch)).toEqual([1, 2]);
    expect(history.map((e) => e.meanLoss)).toEqual(logged.map((l) => l.meanLoss));
    expect(history.map((e) => e.lr)).toEqual(logged.map((l) => l.lr));
    expect(history.every((e) => e.knnTop1 === null)).toBe(true);
    expect((await logLines(out)).filter((l) => l.type === 'note')).toHaveLength(2);
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

  it('main: an engine error (missing data) prints its message without a stack and exits 1; a usage error exits 2', async () => {
    const errs: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { errs.push(a.map(String).join(' ')); });
    const logSpy = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const out = await tempDir();
      expect(await main(['--data', join(root, 'missing.bin'), '--out', out])).toBe(1);
      expect(errs[0]).toBe(`pretrain: data: ${join(root, 'missing.bin')}: not found (looked for CIFAR-10/100 binary batch files (*.bin, *.bin.gz), ` +
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

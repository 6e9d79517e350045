/**
 * The SimCLR pre-training loop (simclr/train.ts) on WebGPU with tiny synthetic CIFAR-format files:
 * output files and finite losses; an interrupted run (shouldStop, the CLI's SIGINT path) resumed
 * gives the same losses as the uninterrupted run; a non-finite loss names the step and keeps the
 * last good checkpoint.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../engine/random.js';
import { DEFAULT_TRAIN_CONFIG, TrainingError, train, type TrainConfig } from '../simclr/train.js';
import { UsageError, helpText, parseArgs, progressLine } from '../simclr/pretrain-cli.js';
import { gpu } from './helpers.js';

let root = '';
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(root, 'run-'));
  dirs.push(d);
  return d;
}

/** n CIFAR-10 records: label byte + 3x32x32 planar pixels, each image 4 random colour blocks. */
function cifarRecords(n: number, seed: number): Uint8Array {
  const r = new Random(seed);
  const rec = 1 + 3072;
  const out = new Uint8Array(n * rec);
  for (let i = 0; i < n; i++) {
    const label = i % 10;
    out[i * rec] = label;
    for (let b = 0; b < 4; b++) {
      const col = [r.int(256), r.int(256), r.int(256)];
      const by = (b >> 1) * 16, bx = (b & 1) * 16;
      for (let c = 0; c < 3; c++) {
        for (let y = by; y < by + 16; y++) {
          for (let x = bx; x < bx + 16; x++) out[i * rec + 1 + c * 1024 + y * 32 + x] = (col[c] + label * 20) & 255;
        }
      }
    }
  }
  return out;
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
    expect(epochs).toHaveLength(2);
    const files = await readdir(out);
    expect(files).toContain('checkpoint-4.safetensors');
    expect(files).toContain('checkpoint-8.safetensors');
    expect(JSON.parse(await readFile(join(out, 'latest.json'), 'utf8'))).toMatchObject({ checkpoint: 'checkpoint-8.safetensors', step: 8 });
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
    expect([...a.losses, ...b.losses]).toEqual(fullLosses);
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
  });
});

describe('pretrain CLI argument parsing', () => {
  it('--help lists every flag with its default', () => {
    expect(parseArgs(['--data', 'a.bin', '--help'])).toBeNull();
    const h = helpText();
    for (const f of ['--data', '--test-data', '--out', '--epochs', '--batch-size', '--width', '--temperature', '--lr', '--weight-decay',
      '--warmup-epochs', '--checkpoint-every', '--seed', '--resume', '--config', '--help']) expect(h).toContain(f);
    expect(h).toContain('(default: 256)');
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

  it('progress line: epoch, step, img/s, loss, acc, lr, ETA', () => {
    const l = progressLine({ type: 'step', step: 9, epoch: 1, batch: 2, batchesPerEpoch: 8, totalSteps: 16, loss: 4.2, accuracy: 0.25, lr: 0.01, imagesPerSec: 100, etaSec: 75 });
    expect(l).toBe('epoch 2 step 10/16 (batch 2/8) 100.0 img/s loss 4.2000 acc 0.250 lr 1.000e-2 ETA 1m15s');
  });
});

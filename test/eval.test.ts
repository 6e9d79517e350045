/**
 * Evaluation (simclr/eval.ts, evaluate.ts, eval-cli.ts): class-balanced seeded fractions, the
 * linear classifier on features and on images, the frozen encoder staying bit-identical (weights
 * and BN running statistics) through linear evaluation and fine-tuning, the report and its table,
 * the command line.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend } from '../engine/backend.js';
import { CpuBackend } from '../engine/cpu/backend.js';
import { Random } from '../engine/random.js';
import { resnet18, type ResNet } from '../nn/resnet.js';
import type { ImageDataset } from '../simclr/data/index.js';
import {
  encodeImages, featureStats, knnTop1, labelledFraction, linearEvalFeatures, pixelFeatures, subsetDataset, trainOnImages,
} from '../simclr/eval.js';
import { evaluate, formatReport, writeReport } from '../simclr/evaluate.js';
import { parseEvalArgs } from '../simclr/eval-cli.js';
import { UsageError } from '../simclr/cli-flags.js';
import { gpu } from './helpers.js';

const dirs: string[] = [];
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

/** Images whose class decides the mean colour (class c: channel c % 3 bright), plus noise. */
function colourClasses(n: number, classes: number, size: number, seed: number): ImageDataset {
  const rng = new Random(seed);
  const per = 3 * size * size;
  const images = new Uint8Array(n * per), labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    labels[i] = c;
    for (let ch = 0; ch < 3; ch++) {
      const base = ch === c % 3 ? 170 + 40 * Math.floor(c / 3) : 40;
      for (let p = 0; p < size * size; p++) images[i * per + ch * size * size + p] = Math.max(0, Math.min(255, base + Math.round(30 * (rng.uniform() - 0.5))));
    }
  }
  return { images, labels, n, channels: 3, height: size, width: size };
}

async function snapshot(m: ResNet): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const [k, t] of m.stateDict()) out.set(k, Array.from(await t.data()));
  return out;
}

describe('labelled fractions', () => {
  const ds = colourClasses(200, 4, 4, 1);
  it('takes round(f x count) per class (at least one), seeded, ascending, without repeats', () => {
    const a = labelledFraction(ds, 0.1, 7);
    expect(a.length).toBe(20);
    const perClass = [0, 0, 0, 0];
    for (const i of a) perClass[ds.labels![i]]++;
    expect(perClass).toEqual([5, 5, 5, 5]);
    expect(new Set(a).size).toBe(a.length);
    expect(Array.from(a)).toEqual([...a].sort((x, y) => x - y));
    expect(Array.from(labelledFraction(ds, 0.1, 7))).toEqual(Array.from(a));
    expect(Array.from(labelledFraction(ds, 0.1, 8))).not.toEqual(Array.from(a));
    expect(labelledFraction(ds, 0.001, 0).length).toBe(4);
  });
  it('rejects bad fractions and unlabelled data', () => {
    expect(() => labelledFraction(ds, 0, 0)).toThrow(/fraction must be in \(0, 1\], got 0/);
    expect(() => labelledFraction(ds, 1.5, 0)).toThrow(/got 1.5/);
    expect(() => labelledFraction({ ...ds, labels: null }, 0.1, 0)).toThrow(/needs labels/);
  });
  it('subsetDataset copies the chosen images and labels', () => {
    const s = subsetDataset(ds, [3, 0]);
    expect(s.n).toBe(2);
    expect(Array.from(s.labels!)).toEqual([3, 0]);
    expect(Array.from(s.images.subarray(0, 48))).toEqual(Array.from(ds.images.subarray(3 * 48, 4 * 48)));
    expect(() => subsetDataset(ds, [200])).toThrow(/subset index 200 out of range/);
  });
});

describe('linear classifier on features', () => {
  it('standardization statistics are the per-feature mean and std', () => {
    const { mean, std } = featureStats(new Float32Array([1, 10, 3, 10]), 2);
    expect(Array.from(mean)).toEqual([2, 10]);
    expect(std[0]).toBeCloseTo(1, 6);
    expect(std[1]).toBe(Math.fround(1e-6));
  });
  for (const [name, make] of [['cpu', async () => new CpuBackend()], ['webgpu', gpu]] as [string, () => Promise<Backend>][]) {
    it(`separates shifted Gaussian classes, and does better than chance only when labels carry signal (${name})`, async () => {
      const backend = await make();
      const rng = new Random(3);
      const dim = 8, classes = 4;
      const make2 = (n: number, shuffleLabels: boolean) => {
        const x = new Float32Array(n * dim), y = new Int32Array(n);
        for (let i = 0; i < n; i++) {
          const c = i % classes;
          y[i] = shuffleLabels ? rng.int(classes) : c;
          for (let j = 0; j < dim; j++) x[i * dim + j] = 100 * rng.normal() * 0.2 + (j === c ? 100 : 0);
        }
        return { x, y };
      };
      const tr = make2(160, false), te = make2(80, false);
      const r = await linearEvalFeatures(tr.x, tr.y, te.x, te.y, dim, { epochs: 20, batchSize: 32, numClasses: classes, backend });
      expect(r.top1).toBeGreaterThan(0.95);
      expect(r.steps).toBe(20 * 5);
      const noise = make2(160, true);
      const r2 = await linearEvalFeatures(noise.x, noise.y, te.x, te.y, dim, { epochs: 20, batchSize: 32, numClasses: classes, backend });
      expect(r2.top1).toBeLessThan(0.6);
      expect(await knnTop1(tr.x, tr.y, te.x, te.y, dim, { numClasses: classes, k: 10, backend })).toBeGreaterThan(0.95);
    });
  }
});

describe('evaluation with an encoder (WebGPU)', () => {
  const train = colourClasses(48, 3, 8, 2), test = colourClasses(24, 3, 8, 3);
  const spec = { depth: 18 as const, width: 0.0625, stem: 'cifar' as const };

  it('linear evaluation on crop+flip views leaves the frozen encoder bit-identical, BN statistics included', async () => {
    const backend = await gpu();
    const encoder = resnet18({ stem: 'cifar', width: spec.width, rng: new Random(0), backend });
    encoder.train(); // the evaluation must switch it to eval mode itself, and restore train mode after
    const before = await snapshot(encoder);
    const mem = backend.memory().liveBuffers;
    const r = await trainOnImages(encoder, train, test, { mode: 'linear', epochs: 2, batchSize: 16, numClasses: 3, backend });
    expect(r.steps).toBe(6);
    expect(r.top1).toBeGreaterThanOrEqual(0);
    expect(await snapshot(encoder)).toEqual(before);
    expect(encoder.training).toBe(true);
    expect(encoder.parameters().every((p) => p.grad === null)).toBe(true);
    expect(backend.memory().liveBuffers).toBe(mem);
    // Fine-tuning does change what it trains (so the check above can fail).
    const copy = resnet18({ stem: 'cifar', width: spec.width, rng: new Random(0), backend });
    await trainOnImages(copy, train, test, { mode: 'finetune', epochs: 1, batchSize: 16, numClasses: 3, backend });
    const after = await snapshot(copy);
    expect(after.get('conv1.weight')).not.toEqual(before.get('conv1.weight'));
    expect(after.get('bn1.running_mean')).not.toEqual(before.get('bn1.running_mean'));
    copy.dispose(); encoder.dispose();
  });

  it('evaluate(): rows for the encoder, a random-init encoder and raw pixels; the encoder is untouched; report files', async () => {
    const backend = await gpu();
    const encoder = resnet18({ stem: 'cifar', width: spec.width, rng: new Random(5), backend });
    const before = await snapshot(encoder);
    const lines: string[] = [];
    const liveBefore = backend.memory().liveBuffers;
    const r = await evaluate({
      train, test, encoder, fresh: (rng) => resnet18({ stem: 'cifar', width: spec.width, rng, backend }), description: 'ResNet-18', name: 'SimCLR (test)', backend, k: 5, linearEpochs: 3, linearBatchSize: 16,
      finetuneFractions: [0.5], finetuneEpochs: 1, finetuneBatchSize: 8, log: (l) => lines.push(l),
    });
    expect(await snapshot(encoder)).toEqual(before);
    expect(backend.memory().liveBuffers).toBe(liveBefore); // every encoder copy, classifier and feature tensor released
    expect(r.rows.map((x) => x.name)).toEqual(['SimCLR (test)', 'random-init encoder', 'raw pixels']);
    expect(Object.keys(r.rows[0].finetune!)).toEqual(['50%']);
    expect(r.rows[2].finetune).toBeNull();
    for (const row of r.rows) for (const v of [row.knnTop1, row.linearTop1]) expect(v >= 0 && v <= 1).toBe(true);
    // Raw pixels separate these colour classes perfectly (so the pixel row is computed, not filled in).
    expect(r.rows[2].knnTop1).toBe(1);
    expect(lines.some((l) => /raw pixels kNN \(k=5, T=0.1\): 100\.0%/.test(l))).toBe(true);
    const table = formatReport(r);
    expect(table).toMatch(/\| representation \| kNN top-1 \| linear top-1 \| fine-tune 50% labels \|/);
    expect(table).toMatch(/\| raw pixels \| 100\.0% \| [\d.]+% \| - \|/);
    const dir = await mkdtemp(join(tmpdir(), 'eval-')); dirs.push(dir);
    const files = await writeReport(dir, r);
    expect(JSON.parse(await readFile(files.json, 'utf8')).rows).toHaveLength(3);
    expect((await readdir(dir)).sort()).toEqual(['eval.json', 'eval.md']);
    encoder.dispose();
  });

  it('evaluate() refuses a labelled training split of a single class instead of reporting 100 % (issue 15)', async () => {
    const c = new CpuBackend();
    const encoder = resnet18({ stem: 'cifar', width: spec.width, rng: new Random(5), backend: c });
    const one = colourClasses(6, 1, 4, 9);
    const named = { ...one, classes: ['only'] };
    await expect(evaluate({ train: named, test: colourClasses(6, 3, 4, 10), encoder, fresh: (rng) => resnet18({ stem: 'cifar', width: spec.width, rng, backend: c }), description: 'ResNet-18', name: 'x', backend: c }))
      .rejects.toThrow(/the labelled training split holds a single class \(only\): kNN and linear accuracy would be 100 % by construction/);
    encoder.dispose();
  });

  it('encodeImages gives h for every image, in chunks, equal to one big batch', async () => {
    const backend = await gpu();
    const encoder = resnet18({ stem: 'cifar', width: spec.width, rng: new Random(1), backend });
    const a = await encodeImages(encoder, train, backend, 7);
    const b = await encodeImages(encoder, train, backend, 48);
    expect(a.length).toBe(48 * encoder.features);
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 4);
    expect(pixelFeatures(train).length).toBe(48 * 3 * 64);
    encoder.dispose();
  });
});

describe('eval command line', () => {
  it('parses flags with defaults, percentages and none', () => {
    const c = parseEvalArgs(['--run', 'r', '--finetune', '1,10', '--k=50', '--linear-mode', 'augment', '--baselines=false'])!;
    expect(c).toMatchObject({ run: 'r', finetune: [1, 10], k: 50, linearMode: 'augment', baselines: false, linearEpochs: 90, knnTemperature: 0.1 });
    expect(parseEvalArgs(['--run', 'r', '--finetune', 'none'])!.finetune).toEqual([]);
    expect(parseEvalArgs(['--help'])).toBeNull();
  });
  it('names the bad flag', () => {
    expect(() => parseEvalArgs([])).toThrow(UsageError);
    expect(() => parseEvalArgs([])).toThrow(/--run <dir> is required/);
    expect(() => parseEvalArgs(['--run', 'r', '--k', 'x'])).toThrow(/--k needs an integer, got 'x'/);
    expect(() => parseEvalArgs(['--run', 'r', '--k', '0'])).toThrow(/--k must be positive/);
    expect(() => parseEvalArgs(['--run', 'r', '--finetune', '0.5,200'])).toThrow(/--finetune needs percentages in \(0, 100\] or 'none', got '200'/);
    expect(() => parseEvalArgs(['--run', 'r', '--linear-mode', 'x'])).toThrow(/--linear-mode must be one of features, augment, got 'x'/);
    expect(() => parseEvalArgs(['--run', 'r', '--bogus'])).toThrow(/unknown flag --bogus/);
  });
});

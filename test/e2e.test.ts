/**
 * SimCLR end to end on tiny synthetic CIFAR files (WebGPU): pre-train a few steps, stop, resume to
 * the end (the losses equal an uninterrupted run's), then evaluate the checkpoint (kNN, linear,
 * fine-tuning, baselines) through `npm run eval`'s code path and export the encoder; the frozen
 * encoder is bit-identical after evaluation, the files exist and decode.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../nn/safetensors.js';
import type { Module } from '../nn/module.js';
import { openSplits } from '../simclr/data/index.js';
import { DEFAULT_EVAL_CONFIG, runEval } from '../simclr/eval-cli.js';
import { evaluate, loadEncoder } from '../simclr/evaluate.js';
import { DEFAULT_TRAIN_CONFIG, train, type TrainConfig } from '../simclr/train.js';
import { cifarRecords, gpu } from './helpers.js';

let root = '', trainFile = '', testFile = '';
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'e2e-'));
  trainFile = join(root, 'train.bin');
  testFile = join(root, 'test.bin');
  await writeFile(trainFile, cifarRecords(64, 11));
  await writeFile(testFile, cifarRecords(30, 12));
});
afterAll(async () => { if (root) await rm(root, { recursive: true, force: true }); });

async function snapshot(m: Module): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const [k, t] of m.stateDict()) out.set(k, Array.from(await t.data()));
  return out;
}

describe('SimCLR end to end (WebGPU)', () => {
  it('pretrain, stop, resume, evaluate, export', async () => {
    const backend = await gpu();
    const cfg = (out: string, over: Partial<TrainConfig> = {}): TrainConfig => ({
      ...DEFAULT_TRAIN_CONFIG, data: [trainFile], testData: testFile, out,
      epochs: 2, batchSize: 16, width: 1 / 16, warmupEpochs: 1, checkpointEvery: 1, seed: 9, ...over,
    });
    const full = await train(cfg(join(root, 'full')), { backend });
    const out = join(root, 'run');
    let n = 0;
    const a = await train(cfg(out), { backend, shouldStop: () => ++n >= 3 });
    expect(a).toMatchObject({ interrupted: true, steps: 3 });
    const b = await train(cfg(out, { resume: true }), { backend });
    expect(b).toMatchObject({ interrupted: false, steps: 8 });
    expect([...a.losses, ...b.losses]).toEqual(full.losses);
    const files = await readdir(out);
    for (const f of ['log.jsonl', 'plot.png', 'config.json', 'latest.json', 'checkpoint-3.safetensors', 'checkpoint-8.safetensors']) expect(files).toContain(f);
    expect(JSON.parse(await readFile(join(out, 'config.json'), 'utf8'))).toMatchObject({ testData: testFile, format: 'cifar10', width: 1 / 16 });

    // Library path: the loaded encoder is frozen through evaluation (fine-tuning trains a copy).
    const loaded = await loadEncoder(out, backend, { channels: 3, size: 32 });
    expect(loaded).toMatchObject({ step: 8, description: 'ResNet-18 x0.0625 (cifar stem)', config: { depth: 18, width: 1 / 16, stem: 'cifar' } });
    const before = await snapshot(loaded.encoder);
    const splits = openSplits([trainFile], testFile);
    const report = await evaluate({
      train: splits.labelledTrain!, test: splits.test!, encoder: loaded.encoder, fresh: loaded.fresh, description: loaded.description, name: 'SimCLR', backend,
      k: 10, linearEpochs: 2, linearBatchSize: 32, linearMode: 'augment', finetuneFractions: [0.25], finetuneEpochs: 1, finetuneBatchSize: 8,
    });
    expect(await snapshot(loaded.encoder)).toEqual(before);
    expect(report.rows.map((r) => r.name)).toEqual(['SimCLR', 'random-init encoder', 'raw pixels']);
    loaded.encoder.dispose();

    // Command-line path: data found through config.json; results and the exported encoder.
    const lines: string[] = [];
    const exportFile = join(out, 'encoder.safetensors');
    const r = await runEval({ ...DEFAULT_EVAL_CONFIG, run: out, k: 10, linearEpochs: 2, finetune: [25], finetuneEpochs: 1, finetuneBatchSize: 8, export: exportFile },
      (l) => lines.push(l), backend);
    expect(r.dataset).toMatchObject({ train: 64, test: 30, classes: 10 });
    const json = JSON.parse(await readFile(join(out, 'eval', 'eval.json'), 'utf8'));
    expect(json.rows).toHaveLength(3);
    expect(json.settings.checkpoint).toBe(join(out, 'checkpoint-8.safetensors'));
    expect(await readFile(join(out, 'eval', 'eval.md'), 'utf8')).toMatch(/\| SimCLR \(step 8\) \| [\d.]+% \| [\d.]+% \| [\d.]+% \|/);
    expect(lines.join('\n')).toMatch(/for torchvision's resnet: missing fc\.weight, fc\.bias, unexpected none/);
    const bytes = await readFile(exportFile);
    const dict = decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), exportFile);
    const names = [...dict.keys()];
    expect(names).toContain('conv1.weight');
    expect(names).toContain('layer4.1.bn2.running_var');
    expect(names.some((k) => k.startsWith('0.') || k.startsWith('1.') || k.startsWith('fc.'))).toBe(false);
  });
});

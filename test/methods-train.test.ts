/**
 * MoCo v2 and BYOL through the shared trainer (train(), WebGPU, tiny synthetic CIFAR files): an
 * interrupted run resumed equals the uninterrupted one bit for bit (losses, key/target networks,
 * the queue and the optimizer state); no GPU buffer leaks per step; `npm run eval`'s loader reads
 * the encoder of any method's checkpoint.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEncoder } from '../simclr/evaluate.js';
import type { TrainOptions } from '../simclr/train.js';
import type { MethodName } from '../simclr/config.js';
import { byolTau } from '../simclr/methods/byol.js';
import { checkpointTensors, gpu, syntheticCifarFiles } from './helpers.js';
import { expectResumeBitExact, trainWithoutLeaks } from './train-helpers.js';

const files = syntheticCifarFiles('methods-train-', 64, 32);
const outDir = files.outDir;

/** Tiny but complete recipes: every part of each method runs (split BN and a wrapping queue for MoCo). */
function options(method: MethodName, out: string, over: Partial<TrainOptions> = {}): TrainOptions {
  const base: TrainOptions = { method, data: [files.trainFile()], testData: files.testFile(), out, epochs: 2, batchSize: 16, width: 1 / 16, checkpointEvery: 1, seed: 3, warmupEpochs: 0 };
  const own: Partial<TrainOptions> = method === 'moco'
    ? { queueSize: 40, bnSplits: 2, keyMomentum: 0.9, lr: 0.06 }
    : method === 'byol' ? { headHidden: 64, headOut: 32, predHidden: 64, tauBase: 0.9, lr: 0.4 } : {};
  return { ...base, ...own, ...over };
}

describe.each(['moco', 'byol'] as const)('%s through the shared trainer (WebGPU)', (method) => {
  let full: { losses: number[]; checkpoint: string } = { losses: [], checkpoint: '' };

  it('runs without leaking GPU buffers; checkpoints hold the encoder at 0.*, the target network and (MoCo) the queue; eval reads the encoder', async () => {
    const backend = await gpu();
    const out = outDir();
    const r = await trainWithoutLeaks(options(method, out), backend);
    full = { losses: r.losses, checkpoint: r.lastCheckpoint! };
    const keys = [...(await checkpointTensors(r.lastCheckpoint!)).keys()];
    expect(keys).toContain('0.conv1.weight');
    expect(keys).toContain('target.0.conv1.weight');
    expect(keys.includes('queue')).toBe(method === 'moco');
    expect(keys.some((k) => k.startsWith('2.'))).toBe(method === 'byol'); // BYOL's predictor
    expect(keys.some((k) => k.startsWith('optimizer.momentum.'))).toBe(true);
    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8'));
    expect(config.method).toBe(method);
    const loaded = await loadEncoder(out, backend, { channels: 3, size: 32 });
    const ck = await checkpointTensors(r.lastCheckpoint!);
    for (const [name, t] of loaded.encoder.stateDict()) expect(Array.from(await t.data()), name).toEqual(ck.get(`0.${name}`));
    loaded.encoder.dispose();
    const steps = (await readFile(join(out, 'log.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'step');
    if (method === 'byol') expect(steps.map((s) => s.tau)).toEqual(steps.map((s) => byolTau(0.9, s.step, 8)));
  });

  it('interrupted after 3 steps + resume == uninterrupted: same losses, same final checkpoint bit for bit', async () => {
    const out = outDir();
    await expectResumeBitExact((over) => options(method, out, over), full, await gpu());
  });
});

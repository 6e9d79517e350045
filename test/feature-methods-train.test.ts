/**
 * AMDIM, CPC v2 and YADIM through the shared trainer and evaluation (WebGPU): no leaked buffers over
 * a run with kNN epochs; checkpoints hold the method's state (CPC's context and predictions beside
 * the encoder at 0.*, YADIM-ResNet's embedding beside it); `npm run eval` rebuilds each method's encoder from config.json (the AMDIM
 * encoder, CPC's patch encoder, YADIM's ResNet) and evaluates and exports it; an interrupted run
 * resumes bit-exactly (Adam state, CPC's per-patch views from the checkpointed stream, the source
 * locations AMDIM draws).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_EVAL_CONFIG, runEval } from '../simclr/eval-cli.js';
import type { TrainOptions } from '../simclr/train.js';
import { checkpointTensors, gpu, syntheticCifarFiles } from './helpers.js';
import { expectResumeBitExact, trainWithoutLeaks } from './train-helpers.js';

const files = syntheticCifarFiles('feature-methods-train-', 32, 20);
const outDir = files.outDir;

type Feature = 'amdim' | 'cpc' | 'yadim';
/** Tiny recipes that still run every part: AMDIM's three comparisons, CPC's grid and offsets, YADIM with a ResNet. */
function options(method: Feature, out: string, over: Partial<TrainOptions> = {}): TrainOptions {
  const base: TrainOptions = { method, data: [files.trainFile()], testData: files.testFile(), out, epochs: 2, batchSize: 8, checkpointEvery: 1, seed: 3, lr: 1e-3 };
  const own: Partial<TrainOptions> = method === 'cpc'
    ? { width: 1 / 16, patchSize: 16, patchStride: 8, predictSteps: 1, contextBlocks: 1, headOut: 8 }
    : method === 'amdim' ? { ndf: 2, rkhs: 8, amdimDepth: 1 } : { encoder: 'resnet', width: 1 / 16, rkhs: 8 };
  return { ...base, ...own, ...over };
}

describe.each(['amdim', 'cpc', 'yadim'] as const)('%s through the shared trainer and npm run eval (WebGPU)', (method) => {
  let full: { losses: number[]; checkpoint: string; out: string } = { losses: [], checkpoint: '', out: '' };

  it('trains without leaking GPU buffers; the checkpoint holds the method\'s state; eval rebuilds, evaluates and exports the encoder', async () => {
    const backend = await gpu();
    const out = outDir();
    const r = await trainWithoutLeaks(options(method, out), backend);
    full = { losses: r.losses, checkpoint: r.lastCheckpoint!, out };
    const keys = [...(await checkpointTensors(r.lastCheckpoint!)).keys()];
    const expected = { amdim: ['0.layer_list.0.conv.weight', '0.rkhs_block_7.bn_out.running_mean'], cpc: ['0.conv1.weight', '0.bn1.weight', 'context.blocks.0.c2.conv.weight', 'target.weight', 'predict.0.weight'], yadim: ['0.conv1.weight', '0.bn1.running_mean', 'embed.shortcut.weight', 'embed.bn_out.running_mean'] }[method];
    for (const k of expected) expect(keys).toContain(k);
    expect(keys.some((k) => k.startsWith('optimizer.exp_avg.'))).toBe(true);
    if (method === 'cpc') expect(keys.some((k) => k.endsWith('running_mean'))).toBe(false); // layer norm: no batch statistics

    const lines: string[] = [];
    const report = await runEval({ ...DEFAULT_EVAL_CONFIG, run: out, k: 5, linearEpochs: 1, linearBatchSize: 16, finetune: [], export: join(out, 'encoder.safetensors') },
      (l) => lines.push(l), backend);
    expect(report.rows.map((x) => x.name)).toEqual([`${{ amdim: 'AMDIM', cpc: 'CPC v2', yadim: 'YADIM' }[method]} (step 8)`, 'random-init encoder', 'raw pixels']);
    expect(lines[0]).toMatch({ amdim: /encoder: AMDIM encoder \(32 px\) ndf 2 n_rkhs 8 depth 1/, cpc: /encoder: ResNet-18 x0.0625 \(cifar stem, layer norm\) on 16x16 patches, stride 8/, yadim: /encoder: ResNet-18 x0.0625 \(cifar stem\)/ }[method]);
    expect(lines.join('\n')).toMatch(method === 'amdim' ? /not a torchvision ResNet/ : /for torchvision's resnet: missing fc.weight, fc.bias, unexpected none/);
    const ck = await checkpointTensors(r.lastCheckpoint!);
    const exported = await checkpointTensors(join(out, 'encoder.safetensors'));
    for (const [name, v] of exported) expect(v, name).toEqual(ck.get(`0.${name}`));
    expect(JSON.parse(await readFile(join(out, 'config.json'), 'utf8')).method).toBe(method);
  });

  it('interrupted after 3 steps + resume == uninterrupted: same losses, same final checkpoint bit for bit', async () => {
    const out = outDir();
    await expectResumeBitExact((over) => options(method, out, over), full, await gpu());
  });
});

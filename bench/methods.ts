/**
 * `npm run bench -- --only=methods`: one training step of each method (simclr/methods/) with the
 * same encoder and batch, through the trainer's own takeStep (loss, backward, one read, optimizer
 * step, after-step hooks), the methods alternating sample by sample so load hits all alike; and the
 * after-step hooks alone (MoCo: EMA of the key network + queue write; BYOL: EMA of the target), as
 * a share of that method's step. Views are fixed random images (augmentation is the same for every
 * method and is benched by --only=augment); CPC's are its augmented patches of fixed random images,
 * cut once. The feature-map methods run at the README's measured sizes (FEATURE_SIZES). Writes
 * bench/results/methods-<timestamp>.json and methods-latest.json.
 */
import { Random } from '../engine/random.js';
import { noGrad, tidy } from '../engine/tensor.js';
import { tensor } from '../engine/ops/index.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import { METHOD_NAMES, type MethodName, type TrainConfig } from '../simclr/config.js';
import { METHODS, resolveTrainConfig } from '../simclr/methods/index.js';
import { buildOptimizer, takeStep } from '../simclr/trainer.js';
import { log, median, timeCalls } from './common.js';

export interface MethodRecord {
  method: MethodName;
  title: string;
  /** Median ms of one full step. */
  stepMs: number;
  samplesMs: number[];
  /** This method's step over SimCLR's. */
  vsSimclr: number;
  /** Median ms of the after-step hooks alone (0 when the method has none). */
  afterStepMs: number;
  /** afterStepMs as a percentage of stepMs. */
  afterStepPct: number;
}

export interface MethodsBench { width: number; batch: number; size: number; samples: number; records: MethodRecord[] }

/** The sizes of the README's measured feature-method runs (AMDIM encoder ndf 16, n_rkhs 128, depth 2; CPC's 4x4 grid of 12 px patches). */
export const FEATURE_SIZES: Partial<Record<MethodName, Partial<TrainConfig>>> = {
  amdim: { ndf: 16, rkhs: 128, amdimDepth: 2 },
  yadim: { ndf: 16, rkhs: 128, amdimDepth: 2 },
  cpc: { patchSize: 12, patchStride: 6, predictSteps: 2 },
};

export async function benchMethods(backend: WebGpuBackend, opts: { quick: boolean; samples: number }): Promise<MethodsBench> {
  const width = opts.quick ? 0.125 : 0.25, batch = opts.quick ? 64 : 128, size = 32;
  log(`methods: ResNet-18 x${width} CIFAR stem, batch ${batch} (${2 * batch} views of ${size}x${size}), each method's default heads; ` +
    `AMDIM and YADIM: the AMDIM encoder ndf 16, n_rkhs 128, depth 2; CPC v2: its ResNet on a 4x4 grid of 12x12 patches; ` +
    `median of ${opts.samples} samples, methods alternating`);
  const rng = new Random(7);
  const views = tensor(Float32Array.from({ length: 2 * batch * 3 * size * size }, () => rng.uniform()), [2 * batch, 3, size, size], { backend });
  const images = { images: Uint8Array.from({ length: batch * 3 * size * size }, () => rng.int(256)), n: batch, channels: 3, height: size, width: size };
  const setups = METHOD_NAMES.map((name) => {
    const own = FEATURE_SIZES[name] ?? {};
    const config = resolveTrainConfig({ method: name, data: ['bench'], out: 'bench', ...(name === 'amdim' ? {} : { width }), batchSize: batch, ...own });
    const run = METHODS[name].build({ config, rng: new Random(1), backend, channels: 3, size, totalSteps: 1000 });
    run.model.train();
    return { name, run, opt: buildOptimizer(config, run.trainable), step: 0, views: run.views ? run.views(images, rng, backend) : views };
  });
  const stepOf = (s: (typeof setups)[number]) => async () => {
    await takeStep(s.run, s.opt, s.views, { step: s.step, totalSteps: 1000, rng }, 1e-3);
    s.step++;
  };
  const sync = () => backend.sync();
  for (const s of setups) await timeCalls(stepOf(s), sync, 2); // warm-up: pipelines compile
  const samples = setups.map(() => [] as number[]);
  for (let k = 0; k < opts.samples; k++) {
    for (const [i, s] of setups.entries()) samples[i].push(await timeCalls(stepOf(s), sync, 1));
    process.stdout.write('.');
  }
  process.stdout.write('\n');
  const hookSamples = setups.map(() => [] as number[]);
  for (let k = 0; k < opts.samples; k++) {
    for (const [i, s] of setups.entries()) {
      if (!s.run.afterStep) continue;
      // a forward first, so MoCo has keys waiting for the queue; then the hooks alone
      const at = { step: s.step, totalSteps: 1000, rng };
      noGrad(() => tidy(() => { s.run.loss(s.views, at); }));
      hookSamples[i].push(await timeCalls(() => s.run.afterStep!({ step: s.step, totalSteps: 1000, rng }), sync, 1));
    }
  }
  const simclrMs = median(samples[METHOD_NAMES.indexOf('simclr')]);
  const records = setups.map((s, i): MethodRecord => {
    const stepMs = median(samples[i]);
    const afterStepMs = hookSamples[i].length ? median(hookSamples[i]) : 0;
    return {
      method: s.name, title: METHODS[s.name].title, stepMs, samplesMs: samples[i], vsSimclr: stepMs / simclrMs,
      afterStepMs, afterStepPct: (100 * afterStepMs) / stepMs,
    };
  });
  for (const s of setups) { s.opt.dispose(); s.run.dispose?.(); s.run.model.dispose(); if (s.views !== views) s.views.dispose(); }
  views.dispose();
  log(methodsTable(records));
  return { width, batch, size, samples: opts.samples, records };
}

export function methodsTable(records: readonly MethodRecord[]): string {
  const rows = records.map((r) => `| ${r.title} | ${r.stepMs.toFixed(0)} | ${r.vsSimclr.toFixed(2)} | ${r.afterStepMs.toFixed(1)} | ${r.afterStepPct.toFixed(1)} % |`);
  return ['| method | step (ms) | vs SimCLR | after-step hooks (ms) | hooks / step |', '| --- | ---: | ---: | ---: | ---: |', ...rows].join('\n');
}

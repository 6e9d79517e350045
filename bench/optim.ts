/**
 * Optimizer step time on the parameters of a ResNet-18 (CIFAR stem, width 1, 11.2M parameters in
 * 62 tensors): every parameter gets one random gradient, then opt.step() + backend.sync() is timed
 * for SGD (momentum, weight decay), LARS (SimCLR's settings), Adam and the moving-average update of
 * MoCo / BYOL (MovingAverage, m 0.99), each against PyTorch's foreach implementation on the same
 * parameters (bench/torch_ref.py), alternating sample by sample.
 */
import { Random } from '../engine/random.js';
import { randn } from '../engine/ops/index.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import { Adam, LARS, MovingAverage, resnet18, SGD } from '../nn/index.js';
import { median, timeCalls } from './common.js';
import type { TorchRef } from './torch.js';

export interface OptSide { name: string; ms: number; samplesMs: number[]; dispatchesPerStep: number; copiesPerStep: number }
export interface OptRecord {
  optimizer: 'sgd' | 'lars' | 'adam' | 'ema';
  ours: OptSide;
  torch: { ms: number; samplesMs: number[]; threads: number } | null;
  /** ours ms / PyTorch ms (above 1: slower). */
  oursOverTorch: number | null;
}
export interface OptimBench { model: string; width: number; parameters: number; tensors: number; excludedTensors: number; results: OptRecord[] }

const NAMES = {
  sgd: 'SGD (momentum 0.9, wd 1e-6)',
  lars: 'LARS (momentum 0.9, wd 1e-6, eta 0.001, bn/bias excluded)',
  adam: 'Adam (betas 0.9/0.999)',
  ema: 'moving average, m 0.99 (MoCo/BYOL target)',
};

export async function benchOptimizers(
  backend: WebGpuBackend, torch: TorchRef | null,
  opts: { width: number; samples: number; warmup: number; progress: (s: string) => void },
): Promise<OptimBench> {
  const rng = new Random(3);
  const model = resnet18({ stem: 'cifar', width: opts.width, numClasses: 10, rng, backend });
  const target = resnet18({ stem: 'cifar', width: opts.width, numClasses: 10, rng, backend });
  const infos = model.parameterInfos();
  for (const p of infos) p.tensor.grad = randn(p.tensor.shape, { rng, backend, std: 0.01 });
  const lars = new LARS(model, { lr: 0.3, momentum: 0.9, weightDecay: 1e-6, eta: 0.001 });
  const steppers = {
    sgd: new SGD(model, { lr: 0.3, momentum: 0.9, weightDecay: 1e-6 }),
    lars,
    adam: new Adam(model, { lr: 1e-3 }),
    ema: (() => { const ema = new MovingAverage(target, model); return { step: () => ema.update(0.99), dispose() {} }; })(),
  };
  await backend.sync();
  const results: OptRecord[] = [];
  for (const [key, o] of Object.entries(steppers) as [OptRecord['optimizer'], { step(): void; dispose(): void }][]) {
    const step = async () => {
      await backend.sync();
      const d0 = backend.dispatchCount, c0 = backend.copyCount;
      const ms = await timeCalls(() => o.step(), () => backend.sync());
      return [ms, backend.dispatchCount - d0, backend.copyCount - c0] as const;
    };
    // warm-up: the first steps create the state and compile the pipelines
    opts.progress(`${key}: warm-up (${opts.warmup} steps)`);
    for (let i = 0; i < opts.warmup; i++) await step();
    let threads = 1;
    if (torch) {
      await torch.setup('optim', { optimizer: key, width: opts.width });
      threads = (await torch.pickThreads(opts.warmup)).threads;
    }
    const ours: number[] = [], theirs: number[] = [];
    let dispatches = 0, copies = 0;
    for (let i = 0; i < opts.samples; i++) {
      // timed on the second of two steps in a row, as PyTorch's are (TORCH_PROTOCOL)
      if (torch?.warmCalls) await step();
      const [ms, d, c] = await step();
      ours.push(ms);
      dispatches = d;
      copies = c;
      if (torch) theirs.push((await torch.run()).ms);
      opts.progress(`${key} sample ${i + 1}/${opts.samples}: ours ${ms.toFixed(1)} ms${torch ? `, PyTorch ${theirs[i].toFixed(1)} ms` : ''}`);
    }
    results.push({
      optimizer: key,
      ours: { name: NAMES[key], ms: median(ours), samplesMs: ours, dispatchesPerStep: dispatches, copiesPerStep: copies },
      torch: torch ? { ms: median(theirs), samplesMs: theirs, threads } : null,
      oursOverTorch: torch ? median(ours) / median(theirs) : null,
    });
  }
  const excluded = infos.filter((p) => lars.isExcluded(p.tensor)).length;
  const parameters = model.numParameters();
  model.zeroGrad();
  for (const o of Object.values(steppers)) o.dispose();
  model.dispose();
  target.dispose();
  return { model: 'resnet18-cifar', width: opts.width, parameters, tensors: infos.length, excludedTensors: excluded, results };
}

export function optimTable(r: OptimBench): string[] {
  const lines = [`${'optimizer'.padEnd(10)}${'ours ms'.padStart(10)}${'dispatches'.padStart(12)}${'copies'.padStart(8)}${'PyTorch ms'.padStart(12)}${'ours/PT'.padStart(9)}`];
  for (const x of r.results) {
    lines.push(`${x.optimizer.padEnd(10)}${x.ours.ms.toFixed(1).padStart(10)}${String(x.ours.dispatchesPerStep).padStart(12)}${String(x.ours.copiesPerStep).padStart(8)}` +
      `${(x.torch ? x.torch.ms.toFixed(1) : '-').padStart(12)}${(x.oursOverTorch !== null ? x.oursOverTorch.toFixed(2) + 'x' : '-').padStart(9)}`);
  }
  lines.push(`${r.parameters} parameters in ${r.tensors} tensors; LARS excludes ${r.excludedTensors} of them (bn, bias) from weight decay and trust scaling`);
  return lines;
}

/**
 * Optimizer step time on the parameters of a ResNet-18 (CIFAR stem): every parameter gets one
 * random gradient, then opt.step() + backend.sync() is timed, for LARS (nn/lars.ts, SimCLR's
 * settings) and for momentum SGD on the same parameters.
 */
import { Random } from '../engine/random.js';
import { randn } from '../engine/ops/index.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import { LARS, resnet18, SGD } from '../nn/index.js';
import { median, timeCalls } from './common.js';

export interface OptSide { name: string; ms: number; samplesMs: number[]; dispatchesPerStep: number }
export interface LarsRecord {
  model: string; width: number; parameters: number; tensors: number; excludedTensors: number;
  lars: OptSide; sgd: OptSide; larsOverSgd: number;
}

export async function benchLars(
  backend: WebGpuBackend,
  opts: { width: number; samples: number; warmup: number; progress: (s: string) => void },
): Promise<LarsRecord> {
  const rng = new Random(3);
  const model = resnet18({ stem: 'cifar', width: opts.width, numClasses: 10, rng, backend });
  const infos = model.parameterInfos();
  for (const p of infos) p.tensor.grad = randn(p.tensor.shape, { rng, backend, std: 0.01 });
  const lars = new LARS(model, { lr: 0.3, momentum: 0.9, weightDecay: 1e-6, eta: 0.001 });
  const sgd = new SGD(model.parameters(), { lr: 0.3, momentum: 0.9, weightDecay: 1e-6 });
  await backend.sync();
  const step = async (o: { step(): void }) => {
    await backend.sync();
    const d0 = backend.dispatchCount;
    const ms = await timeCalls(() => o.step(), () => backend.sync());
    return [ms, backend.dispatchCount - d0] as const;
  };
  // warm-up: the first steps create the momentum buffers and compile the pipelines
  opts.progress(`warm-up (${opts.warmup} steps each)`);
  for (let i = 0; i < opts.warmup; i++) { await step(lars); await step(sgd); }
  const l: number[] = [], s: number[] = [];
  let ld = 0, sd = 0;
  for (let i = 0; i < opts.samples; i++) {
    const [lm, ldi] = await step(lars);
    const [sm, sdi] = await step(sgd);
    l.push(lm); s.push(sm); ld = ldi; sd = sdi;
    opts.progress(`sample ${i + 1}/${opts.samples}: LARS ${lm.toFixed(1)} ms, SGD ${sm.toFixed(1)} ms`);
  }
  const excluded = infos.filter((p) => lars.isExcluded(p.tensor)).length;
  const rec: LarsRecord = {
    model: 'resnet18-cifar', width: opts.width, parameters: model.numParameters(), tensors: infos.length, excludedTensors: excluded,
    lars: { name: 'LARS (momentum 0.9, wd 1e-6, eta 0.001, bn/bias excluded)', ms: median(l), samplesMs: l, dispatchesPerStep: ld },
    sgd: { name: 'SGD (momentum 0.9, wd 1e-6)', ms: median(s), samplesMs: s, dispatchesPerStep: sd },
    larsOverSgd: median(l) / median(s),
  };
  model.zeroGrad();
  lars.dispose();
  sgd.dispose();
  model.dispose();
  return rec;
}

export function larsTable(r: LarsRecord): string[] {
  return [
    `${'optimizer'.padEnd(10)}${'params'.padStart(12)}${'tensors'.padStart(9)}${'ms/step'.padStart(10)}${'dispatches'.padStart(12)}`,
    `${'LARS'.padEnd(10)}${String(r.parameters).padStart(12)}${String(r.tensors).padStart(9)}${r.lars.ms.toFixed(1).padStart(10)}${String(r.lars.dispatchesPerStep).padStart(12)}`,
    `${'SGD'.padEnd(10)}${String(r.parameters).padStart(12)}${String(r.tensors).padStart(9)}${r.sgd.ms.toFixed(1).padStart(10)}${String(r.sgd.dispatchesPerStep).padStart(12)}`,
    `LARS/SGD ${r.larsOverSgd.toFixed(2)}x; ${r.excludedTensors} of ${r.tensors} tensors (bn, bias) skip weight decay and trust scaling`,
  ];
}

/**
 * `npm run bench -- --only=step`: the full SimCLR training step (augment two views of a uint8
 * batch, encoder + projection head forward, NT-Xent, backward, one read of loss and accuracy, LARS)
 * for ResNet-18 (CIFAR stem) at several widths, and a plain supervised ResNet-18 step (batch 32,
 * cross-entropy, momentum SGD); each against PyTorch on the same machine (bench/torch_ref.py),
 * alternating sample by sample. The step is assembled from the public pieces, as the trainer does.
 *
 * Per case: ms per step and images per second (median of the unsynced steps, each followed by a
 * wait for the queue), dispatches and submits per step, and the time split from one extra step with
 * a sync after every phase (augment, forward, loss, backward, read, optimizer). With `profile`,
 * one more step runs under the profiler (kernel time per op and shapes, per phase).
 */
import { backward } from '../engine/autograd.js';
import { Random } from '../engine/random.js';
import { tidy, type Tensor } from '../engine/tensor.js';
import { concat, crossEntropy, ntXent, randint, randn, reshape } from '../engine/ops/index.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import type { ProfileReport } from '../engine/webgpu/profiler.js';
import { LARS, resnet18, Sequential, SGD } from '../nn/index.js';
import { augmentBatch, cifarAugment } from '../simclr/augment.js';
import { ProjectionHead } from '../simclr/head.js';
import { median } from './common.js';
import type { TorchRef } from './torch.js';

export const STEP_WARMUP = 3;
export const STEP_PHASES = ['augment', 'forward', 'loss', 'backward', 'read', 'optimizer'] as const;
type Phase = (typeof STEP_PHASES)[number] | 'step';

export interface StepSide {
  msPerStep: number; imagesPerSec: number; samplesMs: number[];
  /** One synced step: ms per phase. */
  split: Record<string, number>;
}
export interface OurSide extends StepSide {
  dispatchesPerStep: number; submitsPerStep: number;
  /** Bind groups created by a timed step (0 once its buffers repeat: the backend caches them). */
  bindGroupsPerStep: number;
  /**
   * Host time to record a step: the JS of every phase but the read (which waits for the device),
   * median of the timed steps. On a GPU this, not the kernels, can bound a small model's step; on a
   * CPU adapter the device's threads share the cores with it, so it reads high.
   */
  hostMsPerStep: number;
}
export interface TorchSide extends StepSide { threads: number; msByThreads: Record<number, number> }
export interface StepRecord {
  name: string; model: string; width: number; batch: number; views: number;
  ours: OurSide; torch: TorchSide | null;
  /** ours ms / torch ms (above 1: we are slower). */
  oursOverTorch: number | null;
  profile?: ProfileReport;
}

export interface StepCase { kind: 'simclr' | 'supervised'; width: number; batch: number }

interface OurStep {
  /** One step; `phase` is awaited after each phase (the split syncs there, the plain step does nothing). */
  run(phase: (p: Phase) => Promise<void>): Promise<void>;
  dispose(): void;
}

function simclrStep(backend: WebGpuBackend, width: number, batch: number): OurStep {
  const rng = new Random(1);
  const encoder = resnet18({ stem: 'cifar', width, rng, backend });
  const head = new ProjectionHead(encoder.features, { rng, backend });
  const model = new Sequential(encoder, head);
  model.train();
  const opt = new LARS(model, { lr: 0.3, momentum: 0.9, weightDecay: 1e-6 });
  const images = new Uint8Array(batch * 3 * 32 * 32);
  for (let i = 0; i < images.length; i++) images[i] = Math.floor(rng.uniform() * 256);
  const cfg = cifarAugment(32);
  const augRng = new Random(2);
  return {
    async run(phase) {
      const views = augmentBatch(backend, { images, n: batch, channels: 3, height: 32, width: 32 }, augRng, cfg);
      await phase('augment');
      // tidy, as the trainer does: the layers' outputs are disposed (autograd keeps what it saved)
      const z = tidy(() => model.call(views));
      views.dispose();
      await phase('forward');
      const { loss, accuracy } = tidy(() => { const r = ntXent(z, 0.5); return { loss: r.loss, accuracy: r.accuracy }; });
      z.dispose();
      await phase('loss');
      opt.zeroGrad();
      backward(loss);
      await phase('backward');
      // loss and accuracy in one read
      const both = tidy(() => concat([reshape(loss, [1]), reshape(accuracy, [1])]));
      const [l] = await both.data();
      both.dispose(); loss.dispose(); accuracy.dispose();
      if (!Number.isFinite(l)) throw new Error(`bench: non-finite SimCLR loss ${l}`);
      await phase('read');
      opt.step();
      opt.zeroGrad();
      await phase('optimizer');
    },
    dispose() { opt.dispose(); model.dispose(); },
  };
}

function supervisedStep(backend: WebGpuBackend, width: number, batch: number): OurStep {
  const rng = new Random(1);
  const model = resnet18({ stem: 'cifar', width, numClasses: 10, rng, backend });
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = randn([batch, 3, 32, 32], { rng, backend });
  const y = randint(0, 10, [batch], { rng, backend });
  return {
    async run(phase) {
      const loss: Tensor = tidy(() => crossEntropy(model.call(x), y));
      await phase('forward');
      opt.zeroGrad();
      backward(loss);
      await phase('backward');
      await loss.item();
      loss.dispose();
      await phase('read');
      opt.step();
      await phase('optimizer');
    },
    dispose() { opt.zeroGrad(); opt.dispose(); model.dispose(); x.dispose(); y.dispose(); },
  };
}

export async function benchStep(
  backend: WebGpuBackend, torch: TorchRef | null, c: StepCase,
  opts: { samples: number; profile: boolean; progress: (s: string) => void },
): Promise<StepRecord> {
  const ours = c.kind === 'simclr' ? simclrStep(backend, c.width, c.batch) : supervisedStep(backend, c.width, c.batch);
  const none = async () => {};
  const hostMs: number[] = [];
  const timeOurs = async () => {
    await backend.sync();
    const t0 = performance.now();
    let host = 0, mark = t0;
    await ours.run(async (p) => {
      const now = performance.now();
      if (p !== 'read') host += now - mark;
      mark = now;
    });
    await backend.sync();
    hostMs.push(host);
    return performance.now() - t0;
  };
  if (torch) await torch.setup(c.kind === 'simclr' ? 'step' : 'supervised', { width: c.width, batch: c.batch });
  opts.progress('warm-up');
  // three steps: pipelines compiled, and the buffers settled (the pool's choice repeats from the
  // third to fifth step on), so the timed steps take their bind groups from the cache, as a run does
  for (let i = 0; i < STEP_WARMUP; i++) await timeOurs();
  hostMs.length = 0;
  let threads = { threads: 1, msByThreads: {} as Record<number, number> };
  if (torch) threads = await torch.pickThreads();
  const oursMs: number[] = [], torchMs: number[] = [];
  let dispatches = 0, submits = 0, bindGroups = 0;
  for (let s = 0; s < opts.samples; s++) {
    const d0 = backend.dispatchCount, s0 = backend.submitCount, b0 = backend.bindGroupCount, live = backend.memory().liveBuffers;
    oursMs.push(await timeOurs());
    dispatches = backend.dispatchCount - d0;
    submits = backend.submitCount - s0;
    bindGroups = backend.bindGroupCount - b0;
    // a step that leaks also allocates fresh buffers every time (first-touch costs), so its time is wrong too
    const leaked = backend.memory().liveBuffers - live;
    if (leaked !== 0) throw new Error(`bench: our ${c.kind} step left ${leaked} more live buffers than it found`);
    if (torch) torchMs.push((await torch.run()).ms);
    opts.progress(`sample ${s + 1}/${opts.samples}: ours ${(oursMs[s] / 1000).toFixed(2)} s${torch ? `, PyTorch ${(torchMs[s] / 1000).toFixed(2)} s` : ''}`);
  }
  // the split: a sync after every phase
  const split: Record<string, number> = {};
  await backend.sync();
  let t = performance.now();
  await ours.run(async (p) => {
    await backend.sync();
    const now = performance.now();
    split[p] = now - t;
    t = now;
  });
  let profile: ProfileReport | undefined;
  if (opts.profile) {
    const prof = backend.startProfile();
    const order: readonly Phase[] = c.kind === 'simclr' ? STEP_PHASES : ['forward', 'backward', 'read', 'optimizer'];
    prof.phase = order[0];
    await ours.run(async (p) => { prof.phase = order[order.indexOf(p) + 1] ?? null; });
    profile = await backend.stopProfile();
  }
  const torchSplit = torch ? (await torch.run(true)).split ?? {} : {};
  ours.dispose();
  const views = c.kind === 'simclr' ? 2 * c.batch : c.batch;
  const side = (xs: number[]): StepSide => ({ msPerStep: median(xs), imagesPerSec: c.batch / (median(xs) / 1000), samplesMs: xs, split: {} });
  const o: OurSide = { ...side(oursMs), split, dispatchesPerStep: dispatches, submitsPerStep: submits, bindGroupsPerStep: bindGroups, hostMsPerStep: median(hostMs) };
  const tr: TorchSide | null = torch ? { ...side(torchMs), split: torchSplit, ...threads } : null;
  return {
    name: c.kind === 'simclr' ? `SimCLR step, ResNet-18 x${c.width}` : `ResNet-18 step (CE, SGD), x${c.width}`,
    model: 'resnet18-cifar', width: c.width, batch: c.batch, views,
    ours: o, torch: tr, oursOverTorch: tr ? o.msPerStep / tr.msPerStep : null, profile,
  };
}

export function stepTable(rs: readonly StepRecord[]): string[] {
  const lines = [`${'workload'.padEnd(34)}${'batch'.padStart(6)}${'ours s'.padStart(9)}${'img/s'.padStart(8)}${'PyTorch s'.padStart(11)}${'img/s'.padStart(8)}${'ours/PT'.padStart(9)}${'disp.'.padStart(7)}${'subm.'.padStart(7)}${'host ms'.padStart(9)}${'new BG'.padStart(8)}`];
  for (const r of rs) {
    lines.push(`${r.name.padEnd(34)}${String(r.batch).padStart(6)}${(r.ours.msPerStep / 1000).toFixed(2).padStart(9)}${r.ours.imagesPerSec.toFixed(1).padStart(8)}` +
      `${r.torch ? (r.torch.msPerStep / 1000).toFixed(2).padStart(11) + r.torch.imagesPerSec.toFixed(1).padStart(8) : '-'.padStart(11) + '-'.padStart(8)}` +
      `${r.oursOverTorch ? (r.oursOverTorch.toFixed(2) + 'x').padStart(9) : '-'.padStart(9)}${String(r.ours.dispatchesPerStep).padStart(7)}${String(r.ours.submitsPerStep).padStart(7)}` +
      `${r.ours.hostMsPerStep.toFixed(1).padStart(9)}${String(r.ours.bindGroupsPerStep).padStart(8)}`);
  }
  lines.push('host ms: the JS that records one of our steps (all phases but the read), median; new BG: bind groups the last timed step created');
  lines.push('time split (ms, one step with a sync after each phase; PyTorch alike):');
  for (const r of rs) {
    const fmt = (s: Record<string, number>) => Object.entries(s).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ');
    lines.push(`  ${r.name}: ours ${fmt(r.ours.split)}${r.torch ? ` | PyTorch (${r.torch.threads} thread${r.torch.threads > 1 ? 's' : ''}) ${fmt(r.torch.split)}` : ''}`);
  }
  return lines;
}

/**
 * The shared training machinery of every method (simclr/methods/): `runTraining(config, io)`.
 * It imports no Node module: data arrive as in-memory image sets (DataSplits) and everything the
 * run writes goes through a RunSink (simclr/train.ts has the directory one for Node).
 *
 * Each step: the next batch from a seeded BatchLoader, two GPU views drawn with the method's view
 * recipes (augmentBatch; or the method's own views, CPC's patches), the method's loss, backward, one read of loss and accuracy, a finiteness
 * check (a non-finite loss throws naming the step before the optimizer moves, so no bad checkpoint
 * is written), the optimizer step at the scheduled learning rate (linear warm-up + cosine, lr x
 * B/256), then the method's afterStep hook (EMA, queue). Per-step metrics go to the log; after each
 * epoch a kNN monitor (the method's encoder in eval mode, h of the test split against h of the
 * labelled train split, k 200, T 0.1; every `knnEvery` epochs and after the last, its seconds in
 * the epoch record) and a checkpoint every `checkpointEvery` epochs and at the end. With
 * `profile`, the run's second step runs under the kernel profiler and its report is logged.
 * `resume` restores model (target networks and queues included), optimizer, RNG and loader,
 * and the running sums of a checkpoint taken mid-epoch, so that epoch's record equals an
 * uninterrupted run's. A resumed run may have more epochs than it was started with: the schedule
 * (warm-up + cosine, BYOL's tau) is a function of (step, total steps), so it continues from the
 * stored step over the new total (the learning rate moves up to the longer cosine at once).
 */
import { backward } from '../engine/autograd.js';
import type { Backend } from '../engine/backend.js';
import { EngineError } from '../engine/errors.js';
import { Random } from '../engine/random.js';
import { noGrad, tidy, type Tensor } from '../engine/tensor.js';
import { concat, reshape } from '../engine/ops/index.js';
import { LARS } from '../nn/lars.js';
import { Adam, AdamW, SGD } from '../nn/optim.js';
import type { Optimizer } from '../nn/optimizer.js';
import type { ParameterInfo } from '../nn/module.js';
import type { Encoder } from '../nn/encoder.js';
import { warmupCosineLr, type WarmupCosineOptions } from '../nn/schedule.js';
import { augmentBatch, type ViewConfigs } from './augment.js';
import type { LoadedCheckpoint, ResumeOptions, SaveCheckpointOptions } from './checkpoint.js';
import { checkedConfig, configJson, storedCheckedConfig, type TrainConfig } from './config.js';
import { BatchLoader } from './data/loader.js';
import { labelCounts, type ImageDataset } from './data/image-set.js';
import type { DataSplits } from './data/splits.js';
import { encodeImages, knnTop1, numClassesOf } from './eval.js';
import { methodOf } from './methods/index.js';
import { WebGpuBackend } from '../engine/webgpu/backend.js';
import type { ProfileReport } from '../engine/webgpu/profiler.js';
import { describeEncoder, viewRecipes, type MethodRun, type StepInfo } from './methods/method.js';

export interface StepMetrics {
  type: 'step';
  /** 0-based optimizer step. */
  step: number;
  /** 0-based epoch of the batch. */
  epoch: number;
  /** 1-based batch number within the epoch. */
  batch: number;
  batchesPerEpoch: number;
  totalSteps: number;
  loss: number;
  accuracy: number;
  lr: number;
  imagesPerSec: number;
  /** Estimated seconds to the end of training. */
  etaSec: number;
  /** The method's scheduled values (e.g. BYOL's tau). */
  [extra: string]: number | string;
}

export interface EpochMetrics {
  type: 'epoch';
  /** 0-based epoch just finished. */
  epoch: number;
  step: number;
  meanLoss: number;
  meanAccuracy: number;
  /** kNN top-1 on the held-out split, or null without one (or in epochs `knnEvery` skips). */
  knnTop1: number | null;
  /** Seconds the kNN monitor took (encoding both splits and the vote), null when it did not run. */
  knnSec: number | null;
  /** Learning rate at the epoch's last step. */
  lr: number;
  checkpoint: string | null;
}

/** One epoch as a plot takes it: `epoch` is 1-based. */
export interface EpochSummary { epoch: number; meanLoss: number; meanAccuracy: number; knnTop1: number | null; lr: number }

/**
 * Where a run's outputs go: a directory in Node (simclr/train.ts DirectorySink), browser storage in
 * a page. Everything is awaited, so a sink may write files or databases.
 */
export interface RunSink {
  /** Before the first step: the run's settings (config.json in a directory). */
  start(config: Record<string, unknown>): Promise<void>;
  /** One JSON record of the run log (step, epoch, note, resume, interrupted). */
  log(record: object): Promise<void>;
  /** Every record logged so far (to rebuild the epoch history on resume); [] if none. */
  records(): Promise<Record<string, unknown>[]>;
  /** Writes a checkpoint; returns its name or path. */
  saveCheckpoint(opts: SaveCheckpointOptions): Promise<string>;
  /** Restores the newest checkpoint (that validates) into the given objects. */
  resume(opts: ResumeOptions): Promise<LoadedCheckpoint>;
  /** After every epoch: all epochs so far (e.g. to redraw a chart). */
  epochs?(history: readonly EpochSummary[], title: string): Promise<void>;
}

export interface TrainHooks {
  onStep?(m: StepMetrics): void;
  onEpoch?(m: EpochMetrics): void;
  /**
   * After every epoch (after onEpoch): all epochs so far, 1-based `epoch` (on resume, rebuilt from
   * the log's epoch records). Awaited; a throw stops training.
   */
  onEpochs?(epochs: readonly EpochSummary[]): void | Promise<void>;
  /** A note for the user (also logged as a 'note' record), e.g. that the kNN monitor is skipped. */
  onNote?(message: string): void;
  /** Called once the data are open, with openSplits' description. */
  onData?(description: string): void;
  /**
   * Each step's views [2B, C, S, S] (rows i and B + i are image i's two views) before the loss, e.g.
   * for a page to show them; reading them costs a device sync, so read only now and then.
   */
  onViews?(views: Tensor, batchSize: number): void | Promise<void>;
  /** With config.profile: the profile of the run's second step (also logged as a 'profile' record). */
  onProfile?(report: ProfileReport): void;
  /** Polled after every step; true writes a checkpoint and returns (the CLI's SIGINT handler). */
  shouldStop?(): boolean;
  /** Backend to use instead of init({ backend: config.backend }). */
  backend?: Backend;
  /** @internal Test hook: replaces the scheduled learning rate. */
  lrAt?(step: number, scheduled: number): number;
}

export interface TrainResult {
  steps: number;
  epochs: number;
  interrupted: boolean;
  lastCheckpoint: string | null;
  losses: number[];
}

/** Training failure (non-finite loss, bad data shape); the message names the step and last checkpoint. */
export class TrainingError extends EngineError {
  constructor(detail: string) { super('train', detail); }
}

/** The configured optimizer over the method's trainable parameters (lr set per step by the schedule). */
export function buildOptimizer(c: TrainConfig, params: readonly ParameterInfo[]): Optimizer {
  const o = { lr: 0, weightDecay: c.weightDecay };
  switch (c.optimizer) {
    case 'lars': return new LARS(params, { ...o, momentum: c.momentum, eta: c.larsEta });
    case 'sgd': return new SGD(params, { ...o, momentum: c.momentum });
    case 'adam': return new Adam(params, { ...o, betas: c.adamBetas, eps: c.adamEps });
    case 'adamw': return new AdamW(params, { ...o, betas: c.adamBetas, eps: c.adamEps });
  }
}

/**
 * One training step on ready views: the method's loss, backward, one read of loss and accuracy,
 * then (if the loss is finite) the optimizer step at `lr` and the method's afterStep. Returns the
 * two values; a non-finite loss leaves parameters and optimizer untouched. Shared by the loop and
 * the tests that replay a reference trajectory.
 */
export async function takeStep(run: MethodRun, opt: Optimizer, views: Tensor, at: StepInfo, lr: number): Promise<{ loss: number; accuracy: number }> {
  const { loss, accuracy } = tidy(() => { const r = run.loss(views, at); return { loss: r.loss, accuracy: r.accuracy }; });
  opt.zeroGrad();
  backward(loss);
  // loss and accuracy in one buffer, so the step waits for the device once
  const both = noGrad(() => tidy(() => concat([reshape(loss, [1]), reshape(accuracy, [1])], 0)));
  loss.dispose(); accuracy.dispose();
  const [lossV, accV] = await both.data();
  both.dispose();
  if (!Number.isFinite(lossV)) { opt.zeroGrad(); return { loss: lossV, accuracy: accV }; }
  opt.lr = lr;
  opt.step();
  opt.zeroGrad();
  run.afterStep?.(at);
  return { loss: lossV, accuracy: accV };
}

/** kNN top-1 of the held-out split against the labelled train split, h from the encoder in eval mode. */
async function knnMonitor(encoder: Encoder, bank: ImageDataset, test: ImageDataset, backend: Backend, classes: number | null): Promise<number> {
  const numClasses = Math.max(classes ?? 0, numClassesOf(bank, test));
  const [h, q] = [await encodeImages(encoder, bank, backend), await encodeImages(encoder, test, backend)];
  return knnTop1(h, bank.labels!, q, test.labels!, encoder.features, { numClasses, k: 200, temperature: 0.1, backend });
}

/** Epoch records of the log before `epochs` (the last record of each epoch wins). */
function loggedEpochs(records: readonly Record<string, unknown>[], epochs: number, lrOf: (epoch0: number) => number): EpochSummary[] {
  const byEpoch = new Map<number, EpochSummary>();
  for (const r of records) {
    if (r.type !== 'epoch' || typeof r.epoch !== 'number' || r.epoch >= epochs) continue;
    const num = (v: unknown) => (typeof v === 'number' ? v : NaN);
    byEpoch.set(r.epoch, {
      epoch: r.epoch + 1, meanLoss: num(r.meanLoss), meanAccuracy: num(r.meanAccuracy),
      knnTop1: typeof r.knnTop1 === 'number' ? r.knnTop1 : null, lr: typeof r.lr === 'number' ? r.lr : lrOf(r.epoch),
    });
  }
  return [...byEpoch.keys()].sort((a, b) => a - b).map((k) => byEpoch.get(k)!);
}

/** What a checkpoint's metrics hold: the run's length and the sums of the epoch under way. */
interface ProgressState { epochs: number; epochLossSum: number; epochAccuracySum: number; epochSteps: number }

function progressState(m: unknown): ProgressState | null {
  const o = m as Partial<ProgressState> | null;
  return o && typeof o === 'object' && [o.epochs, o.epochLossSum, o.epochAccuracySum, o.epochSteps].every((v) => typeof v === 'number') ? o as ProgressState : null;
}

/** Runs `config` (complete and validated: resolveTrainConfig) on in-memory data, writing through `sink`. */
export async function runTraining(config: TrainConfig, splits: DataSplits, sink: RunSink, backend: Backend, hooks: TrainHooks = {}): Promise<TrainResult> {
  const method = methodOf(config.method);
  const trainSet = splits.pretrain;
  const bankSet = splits.labelledTrain, testSet = splits.test;
  if (trainSet.height !== trainSet.width) throw new TrainingError(`images must be square for the augmentations, got ${trainSet.height}x${trainSet.width}`);
  const loader = new BatchLoader(trainSet, { batchSize: config.batchSize, seed: config.seed });
  const bpe = loader.batchesPerEpoch;
  const totalSteps = config.epochs * bpe;
  const sched: WarmupCosineOptions = {
    baseLr: config.lr, batchSize: config.batchSize, numExamples: bpe * config.batchSize,
    warmupEpochs: config.warmupEpochs, trainSteps: totalSteps,
  };

  const run = method.build({ config, rng: new Random(config.seed), backend, channels: trainSet.channels, size: trainSet.height, totalSteps });
  const opt = buildOptimizer(config, run.trainable);
  run.model.train();
  const rng = new Random(config.seed + 1);
  const views: ViewConfigs = viewRecipes(config, trainSet.height);
  const ckConfig = checkedConfig(config, splits.format);
  await sink.start(configJson(config, splits.format));
  const note = async (message: string) => { await sink.log({ type: 'note', message }); hooks.onNote?.(message); };
  for (const n of splits.notes) await note(n);
  const numClasses = splits.classes?.length ?? null;
  // one class in the bank: every query would be "right" (100 %), which says nothing
  const bankClasses = bankSet ? labelCounts(bankSet.labels!, numClassesOf(bankSet)).filter((n) => n > 0).length : 0;
  const monitor = bankSet !== null && testSet !== null && bankClasses >= 2;
  const title = `${method.title} ${splits.format} ${describeEncoder(run.encoder)} batch ${config.batchSize}`;

  let step = 0;
  let lastCheckpoint: string | null = null;
  let epochLoss = 0, epochAcc = 0, epochN = 0;
  try {
    if (config.resume) {
      const ck = await sink.resume({ model: run.model, optimizer: opt, rng, loader, config: ckConfig, normalizeStored: storedCheckedConfig });
      step = ck.step;
      lastCheckpoint = ck.path;
      await sink.log({ type: 'resume', step, checkpoint: ck.path });
      if (ck.fallback) await note(ck.fallback);
      const stored = progressState(ck.metrics);
      if (step > totalSteps) {
        throw new TrainingError(`${ck.path} is at step ${step} (epoch ${Math.floor(step / bpe)}), past the end of --epochs ${config.epochs} ` +
          `(step ${totalSteps}); pass --epochs ${Math.ceil(step / bpe)} or more`);
      }
      if (stored && stored.epochs !== config.epochs) {
        await note(`the run had ${stored.epochs} epochs and now has ${config.epochs}: the warm-up + cosine schedule continues from step ${step} ` +
          `over ${totalSteps} steps (lr ${warmupCosineLr(step, sched).toExponential(3)} at this step)`);
      }
      if (step === totalSteps) await note(`the run is complete (step ${step} of ${totalSteps}); pass a larger --epochs to extend it`);
      if (step % bpe !== 0) {
        if (stored && stored.epochSteps === step % bpe) {
          epochLoss = stored.epochLossSum; epochAcc = stored.epochAccuracySum; epochN = stored.epochSteps;
        } else {
          await note(`epoch ${Math.floor(step / bpe) + 1}'s mean loss and accuracy cover only the steps after this resume ` +
            '(the checkpoint holds no running sums for it)');
        }
      }
    }
    const lrOf = (epoch0: number) => warmupCosineLr((epoch0 + 1) * bpe - 1, sched);
    const history: EpochSummary[] = step > 0 ? loggedEpochs(await sink.records(), Math.floor(step / bpe), lrOf) : [];
    if (!monitor) {
      await note(`kNN monitor skipped: ${bankSet === null ? 'the training data have no labels' : testSet === null ? 'no test split (--test-data)'
        : 'the labelled training split holds a single class'}`);
    }
    const save = async (epoch: number) => {
      const metrics: ProgressState = { epochs: config.epochs, epochLossSum: epochLoss, epochAccuracySum: epochAcc, epochSteps: epochN };
      lastCheckpoint = await sink.saveCheckpoint({ model: run.model, optimizer: opt, step, epoch, rng, loader, config: ckConfig, metrics });
      return lastCheckpoint;
    };
    if (config.profile && !(backend instanceof WebGpuBackend)) await note(`profile skipped: profiling needs the WebGPU backend, this run uses ${backend.label}`);
    const losses: number[] = [];
    const t0 = performance.now();
    const startStep = step;
    while (step < totalSteps) {
      const tStep = performance.now();
      const batch = loader.next();
      const at: StepInfo = { step, totalSteps, rng };
      // the run's second step: pipelines are compiled by then
      const prof = config.profile && step === startStep + 1 && backend instanceof WebGpuBackend ? backend.startProfile() : null;
      if (prof) prof.phase = 'augment';
      const images = { images: batch.images, n: batch.size, channels: trainSet.channels, height: trainSet.height, width: trainSet.width };
      // the method's own views (CPC's patches), or the two views of every image
      const v = run.views ? run.views(images, rng, backend) : augmentBatch(backend, images, rng, views);
      if (!run.views) await hooks.onViews?.(v, batch.size);
      if (prof) prof.phase = 'loss, backward, read, optimizer';
      const scheduled = warmupCosineLr(step, sched);
      const lr = hooks.lrAt ? hooks.lrAt(step, scheduled) : scheduled;
      let r: { loss: number; accuracy: number };
      try { r = await takeStep(run, opt, v, at, lr); } finally { v.dispose(); }
      if (prof) {
        const report = await (backend as WebGpuBackend).stopProfile();
        await sink.log({ type: 'profile', step, ...report, groups: report.groups.slice(0, 40) });
        hooks.onProfile?.(report);
      }
      if (!Number.isFinite(r.loss)) {
        throw new TrainingError(`non-finite loss ${r.loss} at step ${step} (epoch ${batch.epoch}, batch ${batch.index + 1}/${bpe}); ` +
          (lastCheckpoint ? `the last good checkpoint is ${lastCheckpoint}` : 'no checkpoint was written yet'));
      }
      const now = performance.now();
      const extra = run.stepValues?.(at) ?? {};
      step++;
      losses.push(r.loss);
      epochLoss += r.loss; epochAcc += r.accuracy; epochN++;
      const perStep = (now - t0) / 1000 / (step - startStep);
      const m: StepMetrics = {
        type: 'step', step: step - 1, epoch: batch.epoch, batch: batch.index + 1, batchesPerEpoch: bpe, totalSteps,
        loss: r.loss, accuracy: r.accuracy, lr, imagesPerSec: batch.size / ((now - tStep) / 1000), etaSec: perStep * (totalSteps - step), ...extra,
      };
      await sink.log(m);
      hooks.onStep?.(m);
      if (step % bpe === 0) {
        const epoch = step / bpe; // epochs completed
        const tKnn = performance.now();
        const knn = monitor && (epoch % config.knnEvery === 0 || step === totalSteps)
          ? await knnMonitor(run.encoder, bankSet!, testSet!, backend, numClasses) : null;
        const knnSec = knn === null ? null : (performance.now() - tKnn) / 1000;
        const [meanLoss, meanAccuracy] = [epochLoss / epochN, epochAcc / epochN];
        epochLoss = epochAcc = epochN = 0; // before the checkpoint: a new epoch starts from nothing
        const ck = epoch % config.checkpointEvery === 0 || step === totalSteps ? await save(epoch) : null;
        const em: EpochMetrics = { type: 'epoch', epoch: epoch - 1, step, meanLoss, meanAccuracy, knnTop1: knn, knnSec, lr, checkpoint: ck };
        await sink.log(em);
        hooks.onEpoch?.(em);
        history.push({ epoch, meanLoss: em.meanLoss, meanAccuracy: em.meanAccuracy, knnTop1: knn, lr });
        await hooks.onEpochs?.(history);
        await sink.epochs?.(history, title);
      } else if (hooks.shouldStop?.()) {
        await save(Math.floor(step / bpe));
        await sink.log({ type: 'interrupted', step, checkpoint: lastCheckpoint });
        return { steps: step, epochs: Math.floor(step / bpe), interrupted: true, lastCheckpoint, losses };
      }
      if (step % bpe === 0 && step < totalSteps && hooks.shouldStop?.()) {
        if (lastCheckpoint === null || !lastCheckpoint.endsWith(`checkpoint-${step}.safetensors`)) await save(step / bpe);
        await sink.log({ type: 'interrupted', step, checkpoint: lastCheckpoint });
        return { steps: step, epochs: step / bpe, interrupted: true, lastCheckpoint, losses };
      }
    }
    if (lastCheckpoint === null || !lastCheckpoint.endsWith(`checkpoint-${step}.safetensors`)) await save(Math.floor(step / bpe));
    return { steps: step, epochs: Math.floor(step / bpe), interrupted: false, lastCheckpoint, losses };
  } finally {
    opt.dispose();
    run.dispose?.();
    run.model.dispose();
  }
}

/**
 * The SimCLR pre-training loop as a library function: `train(config, hooks)`.
 *
 * Data: openSplits(config.data, config.testData, config.format) (simclr/data/splits.ts): the
 * pretrain images feed the loader; the labelled train split is the kNN bank and the test split the
 * queries. Encoder: ResNet-`config.depth` (18/34/50) with `config.stem` at `config.width` (returns h);
 * head: ProjectionHead; optimizer: LARS with the warm-up + cosine schedule (linear scaling of
 * `config.lr`) set every step; loss: NT-Xent at `config.temperature`. Each step: the next batch from a
 * BatchLoader over the uint8 data set, two GPU views by augmentBatch (color-jitter strength
 * `config.jitterStrength`, blur probability `config.blurProb`, output at the data's size), forward of
 * encoder+head on [2B, 3, S, S], ntXent, backward, a finiteness check of the loss, then the LARS step.
 * Per-step metrics (loss, contrastive accuracy, lr, images/s) are appended as JSON lines to
 * `<out>/log.jsonl`; after each epoch a kNN monitor (encoder in eval mode, h of the test split against
 * h of the labelled train split, k=200, T=0.1; skipped with a 'note' record when either is missing)
 * is logged, and `<out>/plot.png` (simclr/plot.ts: loss, contrastive accuracy, kNN top-1, lr per
 * epoch) is redrawn from every epoch so far (on resume the earlier epochs come from log.jsonl). Checkpoints go to `<out>` every `checkpointEvery` epochs and at the
 * end (saveCheckpoint, atomic); `resume` continues from `<out>/latest.json`. A non-finite loss throws
 * a TrainingError naming the step, before the optimizer step, so no bad checkpoint is written and the
 * last good one stays. `hooks.shouldStop` (the CLI's SIGINT flag) makes the loop write a checkpoint
 * after the current step and return with `interrupted: true`.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { backward } from '../engine/autograd.js';
import type { Backend } from '../engine/backend.js';
import { EngineError } from '../engine/errors.js';
import { Random } from '../engine/random.js';
import { init } from '../engine/runtime.js';
import { tidy } from '../engine/tensor.js';
import { ntXent } from '../engine/ops/index.js';
import { Sequential } from '../nn/layers.js';
import { LARS } from '../nn/lars.js';
import { RESNET_BY_DEPTH, type ResNet, type ResNetStem } from '../nn/resnet.js';
import { writeFileAtomic } from '../nn/safetensors.js';
import { warmupCosineLr, type WarmupCosineOptions } from '../nn/schedule.js';
import { augmentBatch, resolveAugment } from './augment.js';
import { resumeFrom, saveCheckpoint } from './checkpoint.js';
import { BatchLoader, type ImageDataset } from './data/index.js';
import { DATA_FORMATS, openSplits, type DataFormat } from './data/splits.js';
import { ProjectionHead } from './head.js';
import { encodeImages, knnTop1, numClassesOf } from './eval.js';
import { writeTrainingPlot } from './plot.js';

export interface TrainConfig {
  /** Training data: CIFAR binary batch files, or one directory (STL-10, idx, PNG folders); see openSplits. */
  data: string[];
  /** Held-out split for the kNN monitor (a CIFAR file, or a directory for the directory formats). */
  testData: string | null;
  /** Data format of `data` / `testData` ('auto': detected from the names). */
  format: DataFormat;
  /** ResNet depth: 18, 34 or 50. */
  depth: 18 | 34 | 50;
  /** 'cifar': 3x3 stride-1 conv, no max-pool (small images); 'imagenet': 7x7/2 conv + max-pool. */
  stem: ResNetStem;
  /** Color-jitter strength s (brightness/contrast/saturation 0.8 s, hue 0.2 s; SimCLR: 0.5 CIFAR, 1.0 ImageNet). */
  jitterStrength: number;
  /** Gaussian-blur probability per view (SimCLR: 0 for CIFAR, 0.5 for ImageNet/STL-10). */
  blurProb: number;
  /** Output directory: log.jsonl, checkpoints, latest.json. */
  out: string;
  epochs: number;
  batchSize: number;
  /** ResNet width multiplier. */
  width: number;
  temperature: number;
  /** Base learning rate, scaled by batchSize / 256. */
  lr: number;
  weightDecay: number;
  warmupEpochs: number;
  /** Checkpoint every N epochs (and always at the end). */
  checkpointEvery: number;
  seed: number;
  /** Continue from `<out>/latest.json`. */
  resume: boolean;
  /** 'auto' (default): WebGPU, else CPU. */
  backend: 'auto' | 'webgpu' | 'cpu';
  /** After training, the CLI evaluates the encoder (kNN, linear, baselines; eval.json / eval.md). */
  evaluate: boolean;
}

export const DEFAULT_TRAIN_CONFIG: Omit<TrainConfig, 'data' | 'out'> = {
  testData: null,
  format: 'auto',
  depth: 18,
  stem: 'cifar',
  jitterStrength: 0.5,
  blurProb: 0,
  epochs: 100,
  batchSize: 256,
  width: 1,
  temperature: 0.5,
  lr: 0.3,
  weightDecay: 1e-6,
  warmupEpochs: 10,
  checkpointEvery: 10,
  seed: 0,
  resume: false,
  backend: 'auto',
  evaluate: false,
};

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
}

export interface EpochMetrics {
  type: 'epoch';
  /** 0-based epoch just finished. */
  epoch: number;
  step: number;
  meanLoss: number;
  meanAccuracy: number;
  /** kNN top-1 on the held-out split, or null without one. */
  knnTop1: number | null;
  /** Learning rate at the epoch's last step. */
  lr: number;
  checkpoint: string | null;
}

export interface TrainHooks {
  onStep?(m: StepMetrics): void;
  onEpoch?(m: EpochMetrics): void;
  /**
   * After every epoch (after onEpoch): all epochs so far, 1-based `epoch` (on resume, rebuilt from
   * log.jsonl's epoch records), e.g. for writeTrainingPlot. Awaited; a throw stops training.
   */
  onEpochs?(epochs: readonly EpochSummary[]): void | Promise<void>;
  /** A note for the user (also logged as a 'note' record), e.g. that the kNN monitor is skipped. */
  onNote?(message: string): void;
  /** Called once the data are open, with openSplits' description. */
  onData?(description: string): void;
  /** Polled after every step; true writes a checkpoint and returns (the CLI's SIGINT handler). */
  shouldStop?(): boolean;
  /** Backend to use instead of init({ backend: config.backend }). */
  backend?: Backend;
  /** @internal Test hook: replaces the scheduled learning rate. */
  lrAt?(step: number, scheduled: number): number;
}

/** One epoch as a plot takes it: `epoch` is 1-based. */
export interface EpochSummary { epoch: number; meanLoss: number; meanAccuracy: number; knnTop1: number | null; lr: number }

export interface TrainResult {
  steps: number;
  epochs: number;
  interrupted: boolean;
  lastCheckpoint: string | null;
  losses: number[];
}

/** Training failure (non-finite loss, bad config); the message names the step and last checkpoint. */
export class TrainingError extends EngineError {
  constructor(detail: string) { super('train', detail); }
}

/**
 * The config fields a checkpoint must agree with to be resumed (not out/resume/backend/testData/
 * checkpointEvery), with the data format as detected. The fields added with presets (format, depth,
 * stem, jitterStrength, blurProb) are left out while they have the values every run had before they
 * existed (cifar10, 18, 'cifar', 0.5, 0), so checkpoints written before them still resume, and any
 * other value (e.g. another depth or stem) is a mismatch.
 */
export function checkedConfig(c: TrainConfig, format: Exclude<DataFormat, 'auto'>): object {
  const o: Record<string, unknown> = {
    data: c.data, epochs: c.epochs, batchSize: c.batchSize, width: c.width, temperature: c.temperature,
    lr: c.lr, weightDecay: c.weightDecay, warmupEpochs: c.warmupEpochs, seed: c.seed,
  };
  const legacy = { format: 'cifar10', depth: 18, stem: 'cifar', jitterStrength: 0.5, blurProb: 0 };
  const now = { format, depth: c.depth, stem: c.stem, jitterStrength: c.jitterStrength, blurProb: c.blurProb };
  for (const k of Object.keys(legacy) as (keyof typeof legacy)[]) if (now[k] !== legacy[k]) o[k] = now[k];
  return o;
}

export function validateConfig(c: TrainConfig): void {
  const posInt = (n: string, v: number) => {
    if (!(Number.isInteger(v) && v > 0)) throw new TrainingError(`${n} must be a positive integer, got ${v}`);
  };
  if (!Array.isArray(c.data) || c.data.length === 0) throw new TrainingError('data: at least one training file is required');
  if (!c.out) throw new TrainingError('out: an output directory is required');
  posInt('epochs', c.epochs);
  posInt('batchSize', c.batchSize);
  posInt('checkpointEvery', c.checkpointEvery);
  if (!(c.width > 0)) throw new TrainingError(`width must be > 0, got ${c.width}`);
  if (!(c.temperature > 0)) throw new TrainingError(`temperature must be > 0, got ${c.temperature}`);
  if (!(c.lr >= 0)) throw new TrainingError(`lr must be >= 0, got ${c.lr}`);
  if (!(c.weightDecay >= 0)) throw new TrainingError(`weightDecay must be >= 0, got ${c.weightDecay}`);
  if (!(c.warmupEpochs >= 0)) throw new TrainingError(`warmupEpochs must be >= 0, got ${c.warmupEpochs}`);
  if (typeof c.evaluate !== 'boolean') throw new TrainingError(`evaluate must be true or false, got ${String(c.evaluate)}`);
  if (!Number.isInteger(c.seed)) throw new TrainingError(`seed must be an integer, got ${c.seed}`);
  if (!DATA_FORMATS.includes(c.format)) throw new TrainingError(`format must be one of ${DATA_FORMATS.join(', ')}, got '${String(c.format)}'`);
  if (c.depth !== 18 && c.depth !== 34 && c.depth !== 50) throw new TrainingError(`depth must be 18, 34 or 50, got ${String(c.depth)}`);
  if (c.stem !== 'cifar' && c.stem !== 'imagenet') throw new TrainingError(`stem must be 'cifar' or 'imagenet', got '${String(c.stem)}'`);
  if (!(c.jitterStrength >= 0 && c.jitterStrength <= 2.5)) throw new TrainingError(`jitterStrength must be in [0, 2.5] (hue 0.2 s <= 0.5), got ${c.jitterStrength}`);
  if (!(c.blurProb >= 0 && c.blurProb <= 1)) throw new TrainingError(`blurProb must be in [0, 1], got ${c.blurProb}`);
}

/** Epoch records of an existing log.jsonl before `epochs` (the last record of each epoch wins). */
async function loggedEpochs(logPath: string, epochs: number, lrOf: (epoch0: number) => number): Promise<EpochSummary[]> {
  let text = '';
  try { text = await readFile(logPath, 'utf8'); } catch { return []; }
  const byEpoch = new Map<number, EpochSummary>();
  for (const line of text.split('\n')) {
    if (!line.includes('"epoch"')) continue;
    let r: Partial<EpochMetrics>;
    try { r = JSON.parse(line) as Partial<EpochMetrics>; } catch { continue; }
    if (r.type !== 'epoch' || typeof r.epoch !== 'number' || r.epoch >= epochs) continue;
    byEpoch.set(r.epoch, {
      epoch: r.epoch + 1, meanLoss: r.meanLoss ?? NaN, meanAccuracy: r.meanAccuracy ?? NaN, knnTop1: r.knnTop1 ?? null,
      lr: typeof r.lr === 'number' ? r.lr : lrOf(r.epoch),
    });
  }
  return [...byEpoch.keys()].sort((a, b) => a - b).map((k) => byEpoch.get(k)!);
}

/** kNN top-1 of the held-out split against the labelled train split, h from the encoder in eval mode. */
async function knnMonitor(encoder: ResNet, bank: ImageDataset, test: ImageDataset, backend: Backend, classes: number | null): Promise<number> {
  const numClasses = Math.max(classes ?? 0, numClassesOf(bank, test));
  const [h, q] = [await encodeImages(encoder, bank, backend), await encodeImages(encoder, test, backend)];
  return knnTop1(h, bank.labels!, q, test.labels!, encoder.features, { numClasses, k: 200, temperature: 0.1, backend });
}

export async function train(config: TrainConfig, hooks: TrainHooks = {}): Promise<TrainResult> {
  validateConfig(config);
  const splits = openSplits(config.data, config.testData, config.format); // before the backend: bad data fail fast
  hooks.onData?.(splits.description);
  const backend = hooks.backend ?? await init({ backend: config.backend, quiet: false });
  const trainSet = splits.pretrain;
  const bankSet = splits.labelledTrain, testSet = splits.test;
  const loader = new BatchLoader(trainSet, { batchSize: config.batchSize, seed: config.seed });
  const bpe = loader.batchesPerEpoch;
  const totalSteps = config.epochs * bpe;
  const sched: WarmupCosineOptions = {
    baseLr: config.lr, batchSize: config.batchSize, numExamples: bpe * config.batchSize,
    warmupEpochs: config.warmupEpochs, trainSteps: totalSteps,
  };

  const initRng = new Random(config.seed);
  const encoder = RESNET_BY_DEPTH[config.depth]({ stem: config.stem, width: config.width, rng: initRng, backend });
  const head = new ProjectionHead(encoder.features, { rng: initRng, backend });
  const model = new Sequential(encoder, head);
  model.train();
  const opt = new LARS(model, { lr: 0, momentum: 0.9, weightDecay: config.weightDecay });
  const rng = new Random(config.seed + 1);
  if (trainSet.height !== trainSet.width) throw new TrainingError(`images must be square for the augmentations, got ${trainSet.height}x${trainSet.width}`);
  const augCfg = resolveAugment({ size: trainSet.height, strength: config.jitterStrength, blurP: config.blurProb });
  const ckConfig = checkedConfig(config, splits.format);
  await mkdir(config.out, { recursive: true });
  // The whole run's settings (test split and format included, which the checkpoint's resume check
  // leaves out), so `npm run eval -- --run <out>` needs no other flags.
  await writeFileAtomic(join(config.out, 'config.json'), new TextEncoder().encode(JSON.stringify({ ...config, format: splits.format, resume: undefined }, null, 2) + '\n'));
  const logPath = join(config.out, 'log.jsonl');
  const log = (o: object) => appendFile(logPath, JSON.stringify(o) + '\n');
  const note = async (message: string) => { await log({ type: 'note', message }); hooks.onNote?.(message); };
  const monitor = bankSet !== null && testSet !== null;
  const numClasses = splits.classes?.length ?? null;

  let step = 0;
  let lastCheckpoint: string | null = null;
  try {
    if (config.resume) {
      const ck = await resumeFrom(config.out, { model, optimizer: opt, rng, loader, config: ckConfig });
      step = ck.step;
      lastCheckpoint = ck.path;
      await log({ type: 'resume', step, checkpoint: ck.path });
    }
    const lrOf = (epoch0: number) => warmupCosineLr((epoch0 + 1) * bpe - 1, sched);
    const history: EpochSummary[] = step > 0 ? await loggedEpochs(logPath, Math.floor(step / bpe), lrOf) : [];
    if (!monitor) {
      await note(`kNN monitor skipped: ${bankSet === null ? 'the training data have no labels' : 'no test split (--test-data)'}`);
    }
    const save = async (epoch: number) => {
      lastCheckpoint = await saveCheckpoint(config.out, { model, optimizer: opt, step, epoch, rng, loader, config: ckConfig });
      return lastCheckpoint;
    };
    const losses: number[] = [];
    let epochLoss = 0, epochAcc = 0, epochN = 0;
    const t0 = performance.now();
    const startStep = step;
    while (step < totalSteps) {
      const tStep = performance.now();
      const batch = loader.next();
      const views = augmentBatch(backend, { images: batch.images, n: batch.size, channels: trainSet.channels, height: trainSet.height, width: trainSet.width }, rng, augCfg);
      const { loss, accuracy } = tidy(() => ntXent(model.call(views), { temperature: config.temperature }));
      views.dispose();
      opt.zeroGrad();
      backward(loss);
      const lossV = await loss.item();
      const accV = await accuracy.item();
      loss.dispose(); accuracy.dispose();
      if (!Number.isFinite(lossV)) {
        opt.zeroGrad();
        throw new TrainingError(`non-finite loss ${lossV} at step ${step} (epoch ${batch.epoch}, batch ${batch.index + 1}/${bpe}); ` +
          (lastCheckpoint ? `the last good checkpoint is ${lastCheckpoint}` : 'no checkpoint was written yet'));
      }
      const scheduled = warmupCosineLr(step, sched);
      const lr = hooks.lrAt ? hooks.lrAt(step, scheduled) : scheduled;
      opt.lr = lr;
      opt.step();
      opt.zeroGrad();
      const now = performance.now();
      step++;
      losses.push(lossV);
      epochLoss += lossV; epochAcc += accV; epochN++;
      const perStep = (now - t0) / 1000 / (step - startStep);
      const m: StepMetrics = {
        type: 'step', step: step - 1, epoch: batch.epoch, batch: batch.index + 1, batchesPerEpoch: bpe, totalSteps,
        loss: lossV, accuracy: accV, lr, imagesPerSec: batch.size / ((now - tStep) / 1000), etaSec: perStep * (totalSteps - step),
      };
      await log(m);
      hooks.onStep?.(m);
      if (step % bpe === 0) {
        const epoch = step / bpe; // epochs completed
        const knnTop1 = monitor ? await knnMonitor(encoder, bankSet, testSet, backend, numClasses) : null;
        const ck = epoch % config.checkpointEvery === 0 || step === totalSteps ? await save(epoch) : null;
        const em: EpochMetrics = {
          type: 'epoch', epoch: epoch - 1, step, meanLoss: epochLoss / epochN, meanAccuracy: epochAcc / epochN, knnTop1, lr, checkpoint: ck,
        };
        epochLoss = epochAcc = epochN = 0;
        await log(em);
        hooks.onEpoch?.(em);
        history.push({ epoch, meanLoss: em.meanLoss, meanAccuracy: em.meanAccuracy, knnTop1, lr });
        await hooks.onEpochs?.(history);
        await writeTrainingPlot(join(config.out, 'plot.png'), history, {
          title: `SimCLR ${splits.format} ResNet-${config.depth} x${config.width} batch ${config.batchSize}`,
        });
      } else if (hooks.shouldStop?.()) {
        await save(Math.floor(step / bpe));
        await log({ type: 'interrupted', step, checkpoint: lastCheckpoint });
        return { steps: step, epochs: Math.floor(step / bpe), interrupted: true, lastCheckpoint, losses };
      }
      if (step % bpe === 0 && step < totalSteps && hooks.shouldStop?.()) {
        if (lastCheckpoint === null || !lastCheckpoint.endsWith(`checkpoint-${step}.safetensors`)) await save(step / bpe);
        await log({ type: 'interrupted', step, checkpoint: lastCheckpoint });
        return { steps: step, epochs: step / bpe, interrupted: true, lastCheckpoint, losses };
      }
    }
    if (lastCheckpoint === null || !lastCheckpoint.endsWith(`checkpoint-${step}.safetensors`)) await save(Math.floor(step / bpe));
    return { steps: step, epochs: Math.floor(step / bpe), interrupted: false, lastCheckpoint, losses };
  } finally {
    opt.dispose();
    model.dispose();
  }
}

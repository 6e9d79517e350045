/**
 * One SimCLR pre-training run in the page: the same model, optimizer, schedule, data order,
 * augmentations and step as simclr/train.ts (ResNet-18 with the CIFAR stem + ProjectionHead, both
 * initialized from Random(seed); LARS, momentum 0.9, at the warm-up + cosine lr; BatchLoader with
 * the seed; views from Random(seed + 1); NT-Xent), so the same seed and images give Node's losses.
 * State lives on the device; `checkpoint()` / `restore()` move it to and from bytes (safetensors:
 * model, `optimizer.*`, and the step, RNG and loader state in the metadata) for browser storage.
 */
import { Random, backward, ntXent, tidy, type Backend, type Tensor } from '../engine/index.js';
import { LARS, Sequential, decodeSafetensors, encodeSafetensors, entryToTensor, resnet18, warmupCosineLr, type ResNet, type SafetensorsInput, type WarmupCosineOptions } from '../nn/index.js';
import {
  BatchLoader, ProjectionHead, augmentBatch, encodeEncoder, encodeImages, encoderInputs, knnTop1, numClassesOf, resolveAugment,
  type AugmentConfig, type ImageDataset, type LoaderState,
} from '../simclr/browser.js';

export interface SessionConfig {
  batchSize: number;
  /** ResNet-18 width multiplier. */
  width: number;
  epochs: number;
  temperature: number;
  /** Base learning rate, scaled by batchSize / 256. */
  lr: number;
  weightDecay: number;
  warmupEpochs: number;
  seed: number;
  jitterStrength: number;
  blurProb: number;
}

export const SESSION_DEFAULTS: Omit<SessionConfig, 'batchSize' | 'width' | 'epochs'> = {
  temperature: 0.5, lr: 0.3, weightDecay: 1e-6, warmupEpochs: 10, seed: 0, jitterStrength: 0.5, blurProb: 0,
};

export interface PageData {
  /** Images to pre-train on. */
  train: ImageDataset;
  /** Held-out labelled images for the kNN monitor (with `train`'s labels as the bank), or null. */
  test: ImageDataset | null;
  /** Class names, when labelled. */
  classes: string[] | null;
  /** Where the images came from, for the page and the stored run. */
  source: string;
}

export interface StepRecord {
  step: number; epoch: number; loss: number; accuracy: number; lr: number; imagesPerSec: number; seconds: number;
}
export interface EpochRecord { epoch: number; step: number; meanLoss: number; meanAccuracy: number; knnTop1: number | null }

const CHECKPOINT_FORMAT = 'webgpu-simclr-page-checkpoint/1';
const OPT_PREFIX = 'optimizer.';

export class SimclrSession {
  readonly encoder: ResNet;
  readonly model: Sequential;
  readonly bpe: number;
  readonly totalSteps: number;
  step = 0;
  private readonly head: ProjectionHead;
  private readonly opt: LARS;
  private readonly rng: Random;
  private readonly loader: BatchLoader;
  private readonly augCfg: AugmentConfig;
  private readonly sched: WarmupCosineOptions;
  private epochLoss = 0;
  private epochAcc = 0;
  private epochN = 0;

  constructor(readonly backend: Backend, readonly data: PageData, readonly config: SessionConfig) {
    const ds = data.train;
    if (ds.height !== ds.width) throw new Error(`images must be square, got ${ds.height}x${ds.width}`);
    if (ds.n < config.batchSize) throw new Error(`${ds.n} images are fewer than one batch of ${config.batchSize}`);
    this.loader = new BatchLoader(ds, { batchSize: config.batchSize, seed: config.seed });
    this.bpe = this.loader.batchesPerEpoch;
    this.totalSteps = config.epochs * this.bpe;
    this.sched = {
      baseLr: config.lr, batchSize: config.batchSize, numExamples: this.bpe * config.batchSize,
      warmupEpochs: config.warmupEpochs, trainSteps: this.totalSteps,
    };
    const initRng = new Random(config.seed);
    this.encoder = resnet18({ stem: 'cifar', width: config.width, rng: initRng, backend });
    this.head = new ProjectionHead(this.encoder.features, { rng: initRng, backend });
    this.model = new Sequential(this.encoder, this.head);
    this.model.train();
    this.opt = new LARS(this.model, { lr: 0, momentum: 0.9, weightDecay: config.weightDecay });
    this.rng = new Random(config.seed + 1);
    this.augCfg = resolveAugment({ size: ds.height, strength: config.jitterStrength, blurP: config.blurProb });
  }

  get done(): boolean { return this.step >= this.totalSteps; }

  /**
   * One optimizer step. `onViews` receives the first views of the batch (pixels in [0, 1],
   * [2B, C, S, S] rows i and i + B are the two views of image i) when given.
   */
  async trainStep(onViews?: (views: Float32Array, n: number) => void): Promise<StepRecord> {
    const t0 = performance.now();
    const ds = this.data.train;
    const batch = this.loader.next();
    const views = augmentBatch(this.backend, { images: batch.images, n: batch.size, channels: ds.channels, height: ds.height, width: ds.width }, this.rng, this.augCfg);
    if (onViews) onViews((await views.data()) as Float32Array, batch.size);
    const { loss, accuracy } = tidy(() => ntXent(this.model.call(views), { temperature: this.config.temperature }));
    views.dispose();
    this.opt.zeroGrad();
    backward(loss);
    const lossV = await loss.item();
    const accV = await accuracy.item();
    loss.dispose(); accuracy.dispose();
    if (!Number.isFinite(lossV)) {
      this.opt.zeroGrad();
      throw new Error(`non-finite loss ${lossV} at step ${this.step}`);
    }
    const lr = warmupCosineLr(this.step, this.sched);
    this.opt.lr = lr;
    this.opt.step();
    this.opt.zeroGrad();
    this.step++;
    this.epochLoss += lossV; this.epochAcc += accV; this.epochN++;
    const seconds = (performance.now() - t0) / 1000;
    return { step: this.step - 1, epoch: batch.epoch, loss: lossV, accuracy: accV, lr, imagesPerSec: batch.size / seconds, seconds };
  }

  /** True right after the last step of an epoch. */
  get atEpochEnd(): boolean { return this.step > 0 && this.step % this.bpe === 0; }

  /** The epoch just finished: means of its steps and the kNN monitor (k = 200, T = 0.1, h in eval mode). */
  async finishEpoch(): Promise<EpochRecord> {
    const { train, test } = this.data;
    let knn: number | null = null;
    if (test && train.labels && test.labels) {
      const bank = await encodeImages(this.encoder, train, this.backend);
      const queries = await encodeImages(this.encoder, test, this.backend);
      knn = await knnTop1(bank, train.labels, queries, test.labels, this.encoder.features, {
        numClasses: numClassesOf(train, test), k: 200, temperature: 0.1, backend: this.backend,
      });
    }
    const r: EpochRecord = { epoch: this.step / this.bpe - 1, step: this.step, meanLoss: this.epochLoss / this.epochN, meanAccuracy: this.epochAcc / this.epochN, knnTop1: knn };
    this.epochLoss = this.epochAcc = this.epochN = 0;
    return r;
  }

  /** h of every image of `ds` (eval mode), rows of encoder.features values. */
  features(ds: ImageDataset): Promise<Float32Array> { return encodeImages(this.encoder, ds, this.backend); }

  /** The encoder alone as torchvision-named safetensors: the bytes `npm run eval -- --export` writes. */
  async encoderFile(): Promise<Uint8Array> { return encodeEncoder(await encoderInputs(this.encoder)); }

  /** Everything needed to continue exactly here, as safetensors bytes. */
  async checkpoint(): Promise<Uint8Array> {
    const inputs = new Map<string, SafetensorsInput>();
    const put = async (name: string, t: Tensor) => {
      inputs.set(name, { dtype: t.dtype === 'f32' ? 'F32' : 'I64', shape: [...t.shape], data: await t.data() });
    };
    for (const [name, t] of this.model.stateDict()) await put(name, t);
    for (const [name, t] of this.opt.stateDict()) await put(OPT_PREFIX + name, t);
    return encodeSafetensors(inputs, {
      format: CHECKPOINT_FORMAT, step: String(this.step), config: JSON.stringify(this.config),
      rng: JSON.stringify(this.rng.getState().map((v) => (Number.isNaN(v) ? null : v))),
      loader: JSON.stringify(this.loader.getState()),
      epoch_sums: JSON.stringify([this.epochLoss, this.epochAcc, this.epochN]),
    });
  }

  /** Continues from checkpoint() bytes of a run with the same config and data. */
  restore(bytes: Uint8Array): void {
    const dict = decodeSafetensors(bytes, 'stored checkpoint');
    const md = dict.metadata;
    if (md.format !== CHECKPOINT_FORMAT) throw new Error(`stored checkpoint has format ${JSON.stringify(md.format)}, expected ${CHECKPOINT_FORMAT}`);
    if (md.config !== JSON.stringify(this.config)) throw new Error(`stored checkpoint is for another config (${md.config})`);
    const model = new Map([...dict].filter(([k]) => !k.startsWith(OPT_PREFIX)));
    const optState = new Map<string, Tensor>();
    try {
      for (const [k, e] of dict) if (k.startsWith(OPT_PREFIX)) optState.set(k.slice(OPT_PREFIX.length), entryToTensor(e, { backend: this.backend }));
      this.model.loadStateDict(model);
      this.opt.loadStateDict(optState);
    } finally {
      for (const t of optState.values()) t.dispose();
    }
    this.rng.setState((JSON.parse(md.rng!) as (number | null)[]).map((v) => v ?? NaN));
    this.loader.setState(JSON.parse(md.loader!) as LoaderState);
    [this.epochLoss, this.epochAcc, this.epochN] = JSON.parse(md.epoch_sums!) as number[];
    this.step = Number(md.step);
  }

  dispose(): void {
    this.opt.dispose();
    this.model.dispose();
  }
}

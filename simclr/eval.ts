/**
 * Evaluation of a (pre-trained) encoder on a labelled train / test pair, as in the SimCLR paper:
 *
 * - kNN: weighted kNN (knn.ts) of test h against train h, cosine similarity.
 * - Linear evaluation: the encoder frozen in eval mode (no BN statistic changes, no gradients); a
 *   linear layer on h trained with Nesterov SGD (momentum 0.9), lr = baseLr x B / 256 with a cosine
 *   decay per step, no weight decay, softmax cross-entropy. 'features' mode encodes every image
 *   once (the fast option); 'augment' mode encodes random crop + flip views every step.
 * - Fine-tuning on a class-balanced, seeded labelled fraction: encoder + a new linear layer, all
 *   trained (BN in train mode), crop + flip views, Nesterov SGD lr 0.05 x B / 256 (B counts both
 *   views, 2 x batch), cosine, no weight decay (paper appendix B.5), on a copy of the encoder so the
 *   caller's stays untouched.
 *
 * Inputs to the linear layer are standardized with the train set's per-feature mean and std. That
 * is a fixed affine map (the classifier family is unchanged) and lets one learning rate serve raw
 * pixels, random-init and trained encoders alike, whose feature scales differ by orders of magnitude.
 * Pixels enter every model as value / 255, as in pre-training.
 */
import { backward } from '../engine/autograd.js';
import type { Backend } from '../engine/backend.js';
import { ArgumentError } from '../engine/errors.js';
import { Random } from '../engine/random.js';
import { noGrad, tidy, type Tensor } from '../engine/tensor.js';
import { crossEntropy, div, sub, tensor } from '../engine/ops/index.js';
import { Linear } from '../nn/layers.js';
import { SGD } from '../nn/optim.js';
import type { Encoder } from '../nn/encoder.js';
import { augmentBatch, resolveAugment, type AugmentConfig } from './augment.js';
import { imageSize, type ImageDataset } from './data/image-set.js';
import { knnEvaluate } from './knn.js';

const OP = 'eval';

/** Number of classes of a labelled pair: 1 + the largest label (at least 2). */
export function numClassesOf(...sets: ImageDataset[]): number {
  let max = 1;
  for (const ds of sets) {
    if (!ds.labels) throw new ArgumentError(OP, 'evaluation needs labelled data sets');
    for (const l of ds.labels) if (l > max) max = l;
  }
  return max + 1;
}

function pixels(ds: ImageDataset, start: number, n: number): Float32Array {
  const per = imageSize(ds);
  const px = new Float32Array(n * per);
  const src = ds.images.subarray(start * per, (start + n) * per);
  for (let j = 0; j < px.length; j++) px[j] = src[j] / 255;
  return px;
}

/** Raw pixels / 255 as features [n, C*H*W] (the raw-pixel baseline). */
export function pixelFeatures(ds: ImageDataset): Float32Array { return pixels(ds, 0, ds.n); }

/**
 * h [n, encoder.features] of every image, the encoder in eval mode without gradients, `chunk`
 * images at a time; the encoder's train/eval mode is restored afterwards.
 */
export async function encodeImages(encoder: Encoder, ds: ImageDataset, backend: Backend, chunk = 256): Promise<Float32Array> {
  const wasTraining = encoder.training;
  encoder.eval();
  try {
    const out = new Float32Array(ds.n * encoder.features);
    for (let i = 0; i < ds.n; i += chunk) {
      const n = Math.min(chunk, ds.n - i);
      const x = pixels(ds, i, n);
      const h = noGrad(() => tidy(() => encoder.call(tensor(x, [n, ds.channels, ds.height, ds.width], { backend }))));
      out.set(await h.data() as Float32Array, i * encoder.features);
      h.dispose();
    }
    return out;
  } finally {
    if (wasTraining) encoder.train();
  }
}

export interface KnnEvalOptions { k?: number; temperature?: number; numClasses: number; backend: Backend }

/** kNN top-1 of test features against train features (rows of `dim` values). */
export async function knnTop1(train: Float32Array, trainLabels: Int32Array, test: Float32Array, testLabels: Int32Array,
  dim: number, opts: KnnEvalOptions): Promise<number> {
  const bank = tensor(train, [trainLabels.length, dim], { backend: opts.backend });
  const queries = tensor(test, [testLabels.length, dim], { backend: opts.backend });
  try {
    const r = await knnEvaluate(bank, trainLabels, queries, testLabels, { numClasses: opts.numClasses, k: opts.k ?? 200, temperature: opts.temperature ?? 0.1 });
    return r.top1;
  } finally {
    bank.dispose(); queries.dispose();
  }
}

/** Per-feature mean and std (std floored at 1e-6) over rows of `dim` values. */
export function featureStats(x: Float32Array, dim: number): { mean: Float32Array; std: Float32Array } {
  const n = x.length / dim;
  const mean = new Float64Array(dim), sq = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) { const v = x[i * dim + j]; mean[j] += v; sq[j] += v * v; }
  const m = new Float32Array(dim), s = new Float32Array(dim);
  for (let j = 0; j < dim; j++) {
    m[j] = mean[j] / n;
    s[j] = Math.max(Math.sqrt(Math.max(sq[j] / n - m[j] * m[j], 0)), 1e-6);
  }
  return { mean: m, std: s };
}

export interface LinearEvalOptions {
  epochs: number;
  batchSize: number;
  /** lr = baseLr x batchSize / 256 (default 0.1, the paper's linear-evaluation rate). */
  baseLr?: number;
  seed?: number;
  backend: Backend;
  numClasses: number;
  /** Called after every epoch with the mean training loss. */
  onEpoch?(epoch: number, meanLoss: number): void;
}

/** Cosine decay from `peak` to 0 over `total` steps (no warm-up). */
const cosineLr = (peak: number, step: number, total: number) => peak * 0.5 * (1 + Math.cos(Math.PI * Math.min(step, total) / total));

function checkTrainOptions(o: { epochs: number; batchSize: number; baseLr?: number }): void {
  if (!(Number.isInteger(o.epochs) && o.epochs > 0)) throw new ArgumentError(OP, `epochs must be a positive integer, got ${o.epochs}`);
  if (!(Number.isInteger(o.batchSize) && o.batchSize > 0)) throw new ArgumentError(OP, `batchSize must be a positive integer, got ${o.batchSize}`);
  if (o.baseLr !== undefined && !(o.baseLr > 0)) throw new ArgumentError(OP, `baseLr must be > 0, got ${o.baseLr}`);
}

function shuffled(n: number, rng: Random): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) { const j = rng.int(i + 1); const t = p[i]; p[i] = p[j]; p[j] = t; }
  return p;
}

/** argmax per row of logits [n, c] (host). */
function argmaxRows(logits: Float32Array, c: number): Int32Array {
  const n = logits.length / c, out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (logits[i * c + j] > logits[i * c + best]) best = j;
    out[i] = best;
  }
  return out;
}

const accuracy = (pred: Int32Array, labels: Int32Array) => {
  let hit = 0;
  for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) hit++;
  return labels.length ? hit / labels.length : 0;
};

/** One step of a classifier on a batch: cross-entropy, backward, the optimizer step; returns the loss tensor (caller reads/disposes). */
function classifierStep(model: { call(x: Tensor): Tensor }, opt: SGD, x: Tensor, labels: Tensor): Tensor {
  opt.zeroGrad();
  const loss = tidy(() => crossEntropy(model.call(x), labels));
  backward(loss);
  opt.step();
  opt.zeroGrad();
  return loss;
}

async function predict(model: { call(x: Tensor): Tensor }, n: number, numClasses: number, batch: (start: number, count: number) => Tensor, chunk = 256): Promise<Int32Array> {
  const pred = new Int32Array(n);
  for (let i = 0; i < n; i += chunk) {
    const m = Math.min(chunk, n - i);
    const logits = noGrad(() => tidy(() => model.call(batch(i, m))));
    pred.set(argmaxRows(await logits.data() as Float32Array, numClasses), i);
    logits.dispose();
  }
  return pred;
}

export interface LinearEvalResult { top1: number; trainTop1: number; epochs: number; steps: number }

/**
 * Linear classifier on precomputed features (rows of `dim`), standardized with the train statistics.
 * Returns the test and train top-1.
 */
export async function linearEvalFeatures(train: Float32Array, trainLabels: Int32Array, test: Float32Array, testLabels: Int32Array,
  dim: number, opts: LinearEvalOptions): Promise<LinearEvalResult> {
  checkTrainOptions(opts);
  const { backend, numClasses, batchSize } = opts;
  const { mean, std } = featureStats(train, dim);
  const standardize = (x: Float32Array) => {
    const y = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) { const j = i % dim; y[i] = (x[i] - mean[j]) / std[j]; }
    return y;
  };
  const xs = standardize(train), xt = standardize(test);
  const n = trainLabels.length;
  const rng = new Random(opts.seed ?? 0);
  const linear = new Linear(dim, numClasses, { rng, backend });
  const opt = new SGD(linear.parameters(), { lr: 0, momentum: 0.9, nesterov: true });
  const peak = (opts.baseLr ?? 0.1) * batchSize / 256;
  const stepsPerEpoch = Math.ceil(n / batchSize);
  const total = opts.epochs * stepsPerEpoch;
  const rows = (src: Float32Array, idx: ArrayLike<number>, start: number, count: number) => {
    const x = new Float32Array(count * dim);
    for (let r = 0; r < count; r++) x.set(src.subarray(idx[start + r] * dim, (idx[start + r] + 1) * dim), r * dim);
    return x;
  };
  try {
    let step = 0;
    for (let e = 0; e < opts.epochs; e++) {
      const perm = shuffled(n, rng);
      const losses: Tensor[] = [];
      for (let i = 0; i < n; i += batchSize) {
        const m = Math.min(batchSize, n - i);
        const x = tensor(rows(xs, perm, i, m), [m, dim], { backend });
        const y = tensor(Array.from(perm.subarray(i, i + m), (k) => trainLabels[k]), [m], { backend, dtype: 'i32' });
        opt.lr = cosineLr(peak, step++, total);
        losses.push(classifierStep(linear, opt, x, y));
        x.dispose(); y.dispose();
      }
      let sum = 0;
      for (const l of losses) { sum += await l.item(); l.dispose(); }
      opts.onEpoch?.(e + 1, sum / losses.length);
    }
    const ident = Int32Array.from({ length: Math.max(n, testLabels.length) }, (_, i) => i);
    const predOn = (src: Float32Array, count: number) => predict(linear, count, numClasses, (s, c) => tensor(rows(src, ident, s, c), [c, dim], { backend }));
    const top1 = accuracy(await predOn(xt, testLabels.length), testLabels);
    const trainTop1 = accuracy(await predOn(xs, n), trainLabels);
    return { top1, trainTop1, epochs: opts.epochs, steps: total };
  } finally {
    opt.dispose();
    linear.dispose();
  }
}

/** Random resized crop + horizontal flip only (the linear-evaluation and fine-tuning views). */
export function cropFlipAugment(size: number): AugmentConfig {
  return resolveAugment({ size, jitterP: 0, grayP: 0, blurP: 0 });
}

/** Images of `ds` at the given indices, as a new data set (labels kept). */
export function subsetDataset(ds: ImageDataset, indices: ArrayLike<number>): ImageDataset {
  const per = imageSize(ds);
  const images = new Uint8Array(indices.length * per);
  const labels = ds.labels ? new Int32Array(indices.length) : null;
  for (let r = 0; r < indices.length; r++) {
    const k = indices[r];
    if (!(Number.isInteger(k) && k >= 0 && k < ds.n)) throw new ArgumentError(OP, `subset index ${k} out of range [0, ${ds.n})`);
    images.set(ds.images.subarray(k * per, (k + 1) * per), r * per);
    if (labels) labels[r] = ds.labels![k];
  }
  return { ...ds, images, labels, n: indices.length };
}

/**
 * A class-balanced, seeded fraction of a labelled set: from each class, round(fraction x its count)
 * images (at least one) chosen uniformly at random; indices returned in ascending order.
 */
export function labelledFraction(ds: ImageDataset, fraction: number, seed: number): Int32Array {
  if (!ds.labels) throw new ArgumentError(OP, 'a labelled fraction needs labels');
  if (!(fraction > 0 && fraction <= 1)) throw new ArgumentError(OP, `fraction must be in (0, 1], got ${fraction}`);
  const byClass = new Map<number, number[]>();
  ds.labels.forEach((l, i) => { let a = byClass.get(l); if (!a) byClass.set(l, (a = [])); a.push(i); });
  const rng = new Random(seed);
  const picked: number[] = [];
  for (const cls of [...byClass.keys()].sort((a, b) => a - b)) {
    const idx = byClass.get(cls)!;
    const take = Math.max(1, Math.round(fraction * idx.length));
    const perm = shuffled(idx.length, rng);
    for (let i = 0; i < take; i++) picked.push(idx[perm[i]]);
  }
  return Int32Array.from(picked.sort((a, b) => a - b));
}

export interface TrainOnImagesOptions extends LinearEvalOptions {
  /** 'linear': the encoder is frozen (eval mode, no gradients); 'finetune': encoder and layer train. */
  mode: 'linear' | 'finetune';
}

/**
 * A linear layer on the encoder trained from crop + flip views of the images (each step: `batchSize`
 * images, both of augmentBatch's views, labels repeated). In 'linear' mode the encoder is frozen and
 * in eval mode and its features are standardized with the un-augmented train statistics; in
 * 'finetune' mode the encoder is trained too (the caller passes a copy it may change). Returns the
 * test top-1 with the encoder in eval mode.
 */
export async function trainOnImages(encoder: Encoder, train: ImageDataset, test: ImageDataset, opts: TrainOnImagesOptions): Promise<LinearEvalResult> {
  checkTrainOptions(opts);
  if (!train.labels || !test.labels) throw new ArgumentError(OP, 'training a classifier needs labelled train and test sets');
  const { backend, numClasses, batchSize } = opts;
  const dim = encoder.features;
  const rng = new Random(opts.seed ?? 0);
  const linear = new Linear(dim, numClasses, { rng, backend });
  const frozen = opts.mode === 'linear';
  let mean: Tensor | null = null, std: Tensor | null = null;
  if (frozen) {
    const s = featureStats(await encodeImages(encoder, train, backend), dim);
    mean = tensor(s.mean, [1, dim], { backend });
    std = tensor(s.std, [1, dim], { backend });
  }
  const features = (x: Tensor) => frozen ? div(sub(noGrad(() => encoder.call(x)), mean!), std!) : encoder.call(x);
  const model = { call: (x: Tensor) => linear.call(features(x)) };
  const params = frozen ? linear.parameters() : [...encoder.parameters(), ...linear.parameters()];
  const opt = new SGD(params, { lr: 0, momentum: 0.9, nesterov: true });
  const aug = cropFlipAugment(train.height);
  const views = 2 * batchSize;
  const peak = (opts.baseLr ?? (frozen ? 0.1 : 0.05)) * views / 256;
  const n = train.n, per = imageSize(train);
  const stepsPerEpoch = Math.ceil(n / batchSize);
  const total = opts.epochs * stepsPerEpoch;
  const wasTraining = encoder.training;
  try {
    let step = 0;
    for (let e = 0; e < opts.epochs; e++) {
      if (frozen) encoder.eval(); else encoder.train();
      const perm = shuffled(n, rng);
      const losses: Tensor[] = [];
      for (let i = 0; i < n; i += batchSize) {
        const m = Math.min(batchSize, n - i);
        const images = new Uint8Array(m * per);
        const labels = new Int32Array(2 * m);
        for (let r = 0; r < m; r++) {
          images.set(train.images.subarray(perm[i + r] * per, (perm[i + r] + 1) * per), r * per);
          labels[r] = labels[m + r] = train.labels[perm[i + r]];
        }
        const x = augmentBatch(backend, { images, n: m, channels: train.channels, height: train.height, width: train.width }, rng, aug);
        const y = tensor(labels, [2 * m], { backend, dtype: 'i32' });
        opt.lr = cosineLr(peak, step++, total);
        losses.push(classifierStep(model, opt, x, y));
        x.dispose(); y.dispose();
      }
      let sum = 0;
      for (const l of losses) { sum += await l.item(); l.dispose(); }
      opts.onEpoch?.(e + 1, sum / losses.length);
    }
    encoder.eval();
    const shape = (c: number) => [c, test.channels, test.height, test.width];
    const top1 = accuracy(await predict(model, test.n, numClasses, (s, c) => tensor(pixels(test, s, c), shape(c), { backend })), test.labels);
    const trainTop1 = accuracy(await predict(model, train.n, numClasses, (s, c) => tensor(pixels(train, s, c), shape(c), { backend })), train.labels);
    return { top1, trainTop1, epochs: opts.epochs, steps: total };
  } finally {
    if (wasTraining) encoder.train(); else encoder.eval();
    opt.dispose();
    linear.dispose();
    mean?.dispose(); std?.dispose();
  }
}

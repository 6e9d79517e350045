/**
 * MoCo v2 (He et al. 2020, "Momentum Contrast for Unsupervised Visual Representation Learning";
 * Chen et al. 2020, "Improved Baselines with Momentum Contrastive Learning"), as the official
 * facebookresearch/moco code and its CIFAR-10 demo do it, in the framework's five parts:
 *
 *  1. Augmentation: both views from one recipe: random resized crop (0.2-1), flip, color jitter
 *     (0.4, 0.4, 0.4, 0.1) with p 0.8, grayscale p 0.2, Gaussian blur p 0.5 (off at 32 px).
 *  2. Encoder: a query encoder f_q (ResNet without fc) and a key encoder f_k of the same shape
 *     that is never trained by gradients: after every step f_k <- m f_k + (1 - m) f_q
 *     (m = 0.999; 0.99 in CIFAR recipes), starting as a copy of f_q.
 *  3. Representation extraction: q = normalize(g_q(f_q(view 1))) and, without gradients,
 *     k = normalize(g_k(f_k(view 2))), with the v2 head g: Linear-ReLU-Linear to 128.
 *  4. Similarity: dot products of the normalized q against its key k+ and against a queue of K
 *     keys from earlier batches (K = 4096 for CIFAR, 65,536 for ImageNet), over temperature 0.2.
 *  5. Loss: InfoNCE, cross-entropy with k+ as the target among 1 + K (engine/ops/infonce.ts,
 *     fused and streamed: the [B, 1 + K] logits are never stored). After the step the batch's keys
 *     enter the queue (a ring buffer on the device, oldest out).
 *  With `symmetric` (MoCo v2+ in solo-learn) both views are queries and both keys enter one queue
 *  (solo-learn keeps one queue per view); the loss is the mean over both directions.
 *  Shuffle-BN: on several GPUs MoCo shuffles the keys across devices so batch statistics cannot
 *  leak which key belongs to which query. On one device the accepted substitute (the official
 *  CIFAR-10 demo) is split batch norm in both encoders (BN statistics over `bnSplits` groups of the
 *  batch) plus a random permutation of the key batch before f_k, undone after it; a key then sits
 *  in another BN group than its query.
 *  Optimizer: SGD momentum 0.9, lr 0.03 x B/256 with a cosine decay, weight decay 1e-4.
 *  Queue pointer: each step enqueues the same number of keys, so the write position is
 *  (step x keys per step) mod K, derived from the checkpoint's step on resume; the queue itself
 *  is checkpointed as 'queue' and the key network as 'target.*'.
 */
import type { Backend } from '../../engine/backend.js';
import { ArgumentError } from '../../engine/errors.js';
import type { Random } from '../../engine/random.js';
import { noGrad, tidy, type Tensor } from '../../engine/tensor.js';
import { concat, gather, infoNce, l2Normalize, randn, slice, tensor } from '../../engine/ops/index.js';
import { Sequential } from '../../nn/layers.js';
import { MovingAverage } from '../../nn/ema.js';
import type { TrainConfig } from '../config.js';
import { ProjectionHead } from '../head.js';
import { MethodState, buildEncoder, resnetEncoder, trainableOf, type Method, type StepInfo } from './method.js';

/** The v2 head: Linear - ReLU - Linear (with biases, PyTorch's init), no batch norm. */
function mocoHead(c: TrainConfig, features: number, rng: Random, backend: Backend): ProjectionHead {
  return new ProjectionHead(features, {
    numLayers: c.headLayers, hiddenDims: c.headHidden ?? features, outDim: c.headOut, batchNorm: false, lastBias: true, initStd: null, rng, backend,
  });
}

/** A random permutation of 0..n-1 (Fisher-Yates on the run's stream) and its inverse, as i32 index tensors. */
function shuffle(n: number, at: StepInfo, backend: Backend): [Tensor, Tensor] {
  const perm = at.permutation?.(n) ?? Int32Array.from({ length: n }, (_, i) => i);
  if (!at.permutation) for (let i = n - 1; i > 0; i--) { const j = at.rng.int(i + 1); [perm[i], perm[j]] = [perm[j], perm[i]]; }
  const inv = new Int32Array(n);
  perm.forEach((p, i) => { inv[p] = i; });
  return [tensor(perm, [n], { dtype: 'i32', backend }), tensor(inv, [n], { dtype: 'i32', backend })];
}

/** queue [K, d] with rows ptr.. (wrapping) replaced by keys [n, d], n <= K: a device copy. */
export function ringWrite(queue: Tensor, keys: Tensor, ptr: number): Tensor {
  const [k, d] = queue.shape, n = keys.shape[0];
  if (n > k) throw new ArgumentError('MoCo', `a step enqueues ${n} keys but the queue holds ${k}; use --queue-size >= ${n}`);
  return tidy(() => {
    const rows = (t: Tensor, from: number, count: number) => slice(t, [from, 0], [count, d]);
    const head = Math.min(n, k - ptr); // keys that fit before the end
    const parts: Tensor[] = [];
    if (head < n) parts.push(rows(keys, head, n - head)); // the rest wraps to the front
    const frontKept = head < n ? n - head : 0;
    if (ptr > frontKept) parts.push(rows(queue, frontKept, ptr - frontKept));
    parts.push(rows(keys, 0, head));
    if (ptr + head < k) parts.push(rows(queue, ptr + head, k - ptr - head));
    return parts.length === 1 ? parts[0] : concat(parts, 0);
  });
}

export const moco: Method = {
  name: 'moco',
  title: 'MoCo v2',
  summary: 'MoCo v2: query encoder + EMA key encoder, InfoNCE against a queue of keys, split-BN + key shuffle, SGD',
  defaults: {
    optimizer: 'sgd', lr: 0.03, weightDecay: 1e-4, momentum: 0.9, warmupEpochs: 0, temperature: 0.2,
    cropScale: [0.2, 1], flipProb: 0.5, jitterStrength: 0.5, jitter: [0.4, 0.4, 0.4, 0.1], jitterProb: 0.8, grayProb: 0.2, blurProb: 0.5, solarizeProb: 0,
    headLayers: 2, headHidden: null, headOut: 128,
    queueSize: 4096, keyMomentum: 0.999, symmetric: false, bnSplits: 8,
  },
  encoder: resnetEncoder,
  build({ config: c, rng, backend }) {
    const encoder = buildEncoder(c, rng, backend, c.bnSplits);
    const head = mocoHead(c, encoder.features, rng, backend);
    const keyEncoder = buildEncoder(c, rng, backend, c.bnSplits);
    const keyHead = mocoHead(c, keyEncoder.features, rng, backend);
    const target = new MethodState({ 0: keyEncoder, 1: keyHead });
    // MoCo starts the queue from random unit vectors: torch.randn(dim, K) normalized per key.
    const queue = noGrad(() => tidy(() => l2Normalize(randn([c.queueSize, c.headOut], { rng, backend }))));
    const model = new MethodState({ 0: encoder, 1: head, target }, { queue });
    const ema = new MovingAverage(target, new Sequential(encoder, head));
    ema.copy();
    const keysPerStep = (b: number) => (c.symmetric ? 2 * b : b);
    let pending: Tensor | null = null;

    return {
      model, encoder, trainable: trainableOf(model, ['target']),
      loss(views, at) {
        const b = views.shape[0] / 2;
        if (b % c.bnSplits !== 0) throw new ArgumentError('MoCo', `batch ${b} must divide into --bn-splits ${c.bnSplits} groups`);
        if (keysPerStep(b) > c.queueSize) throw new ArgumentError('MoCo', `a step enqueues ${keysPerStep(b)} keys but --queue-size is ${c.queueSize}`);
        const rest = views.shape.slice(1);
        const first = slice(views, [0, 0, 0, 0], [b, ...rest]), second = slice(views, [b, 0, 0, 0], [b, ...rest]);
        // Each view has its own forward pass (its own BN statistics), as the reference code does.
        // Query i's key is the other view of image i. Intermediates are freed by the caller's tidy.
        const query = (v: Tensor) => head.call(encoder.call(v));
        const key = (v: Tensor) => noGrad(() => {
          if (c.bnSplits === 1) return l2Normalize(keyHead.call(keyEncoder.call(v)));
          const [perm, inv] = shuffle(b, at, backend);
          return l2Normalize(gather(keyHead.call(keyEncoder.call(gather(v, perm, 0))), inv, 0));
        });
        const q = c.symmetric ? concat([query(first), query(second)], 0) : query(first);
        const k = c.symmetric ? concat([key(second), key(first)], 0) : key(second);
        const out = infoNce(q, k, model.buffer('queue'), c.temperature);
        pending?.dispose();
        pending = k.keep();
        return out;
      },
      afterStep(at) {
        ema.update(c.keyMomentum);
        if (!pending) return;
        const n = pending.shape[0];
        const queue = model.buffer('queue');
        const next = ringWrite(queue, pending, (at.step * n) % c.queueSize);
        queue.assign(next);
        next.dispose();
        pending.dispose();
        pending = null;
      },
      dispose() { pending?.dispose(); pending = null; },
    };
  },
};

/**
 * SimCLR (Chen et al. 2020, "A Simple Framework for Contrastive Learning of Visual
 * Representations"; v2: "Big Self-Supervised Models are Strong Semi-Supervised Learners"), as the
 * official google-research/simclr code does it, in the framework's five parts:
 *
 *  1. Augmentation: both views from one recipe: random resized crop (0.08-1), flip, color jitter
 *     with strength s (0.8 s brightness/contrast/saturation, 0.2 s hue; s 0.5 for CIFAR) with
 *     p 0.8, grayscale p 0.2, Gaussian blur (p 0.5 on ImageNet-sized images, off for CIFAR).
 *  2. Encoder: ResNet (CIFAR or ImageNet stem, width multiplier) without fc: h = f(x).
 *  3. Representation extraction: the pooled h, then the projection head g (SimCLR v2: 3 layers,
 *     Linear-BN-ReLU twice, then Linear-BN without beta to 128; v1: 2 layers) gives z = g(h).
 *  4. Similarity: cosine similarity of z (dot products of L2-normalized rows) over temperature.
 *  5. Loss: NT-Xent over the 2B views: each view's positive is the other view of its image, the
 *     other 2B - 2 views are its negatives (engine/ops/ntxent.ts, fused and streamed).
 *  Optimizer: LARS (BN parameters and biases excluded), lr 0.3 x B/256 with 10 warm-up epochs and
 *  a cosine decay, weight decay 1e-6; no target network, no queue.
 */
import { ntXent } from '../../engine/ops/index.js';
import { ProjectionHead } from '../head.js';
import { MethodState, buildEncoder, resnetEncoder, trainableOf, type Method } from './method.js';

export const simclr: Method = {
  name: 'simclr',
  title: 'SimCLR',
  summary: 'SimCLR: ResNet + projection head, NT-Xent over both views of the batch, LARS',
  defaults: {
    optimizer: 'lars', lr: 0.3, weightDecay: 1e-6, momentum: 0.9, warmupEpochs: 10, temperature: 0.5,
    cropScale: [0.08, 1], flipProb: 0.5, jitterStrength: 0.5, jitter: null, jitterProb: 0.8, grayProb: 0.2, blurProb: 0, solarizeProb: 0,
    headLayers: 3, headHidden: null, headOut: 128,
  },
  encoder: resnetEncoder,
  build({ config: c, rng, backend }) {
    const encoder = buildEncoder(c, rng, backend);
    const head = new ProjectionHead(encoder.features, { numLayers: c.headLayers, hiddenDims: c.headHidden ?? encoder.features, outDim: c.headOut, rng, backend });
    const model = new MethodState({ 0: encoder, 1: head });
    return {
      model, encoder, trainable: trainableOf(model),
      loss: (views) => ntXent(head.call(encoder.call(views)), c.temperature),
    };
  },
};

/**
 * AMDIM (Bachman, Hjelm & Buchwalter 2019, "Learning Representations by Maximizing Mutual
 * Information Across Views"), as the framework of Falcon & Cho standardizes it (pl_bolts AMDIM with
 * FeatureMapContrastiveTask('01, 02, 11')), in the framework's five parts:
 *
 *  1. Augmentation: both views from one recipe: flip, random translation with reflection padding
 *     (4 px, p 0.8), color jitter (0.4, 0.4, 0.4, 0.2) with p 0.8, grayscale p 0.25; no resized
 *     crop. (The reference flips the image once for both views; here each view flips on its own.)
 *  2. Encoder: the AMDIM encoder (nn/amdim-encoder.ts): a conv stack with maps at several scales,
 *     global map r1 (1x1) and 1x1 "fake RKHS" embeddings of the 5x5 and 7x7 maps (r5, r7), all of
 *     width n_rkhs. Sizes: ndf, n_rkhs, depth (reference CIFAR-10: 320, 1280, 10; scale them down on
 *     small machines, the structure stays).
 *  3. Representation extraction: multiscale global-to-local comparisons between the views: r1 of
 *     one view against every location of the other view's r5 (1-5) and r7 (1-7), and a random
 *     location of one view's r5 against every location of the other's r5 (5-5); each both ways.
 *  4. Similarity: dot product scaled by 1/sqrt(n_rkhs), soft-clipped by tclip tanh(s / tclip)
 *     (tclip 20).
 *  5. Loss: NCE over the batch: each (image, target location) pair is a positive, every location of
 *     the other images a negative (engine/ops/nce.ts featureMapNce, fused and streamed: the
 *     [B, B * L] scores are never stored); plus the score regularizer 0.05 mean(s^2). The total is
 *     the sum over the three comparisons of the direction-averaged NCE and regularizer.
 *  Optimizer: Adam lr 2e-4, betas (0.8, 0.999), eps 1e-7, weight decay 1e-5 (the reference's),
 *  here scaled by B/256 and decayed by the shared cosine schedule (the reference keeps it constant).
 *  Representation for evaluation: r1 (the global embedding, n_rkhs values), pooled over its locations
 *  when the input is larger than the encoder's native size.
 */
import type { Backend } from '../../engine/backend.js';
import { slice } from '../../engine/ops/index.js';
import type { Random } from '../../engine/random.js';
import type { Tensor } from '../../engine/tensor.js';
import { AmdimEncoder } from '../../nn/amdim-encoder.js';
import type { TrainConfig } from '../config.js';
import { compareMaps, totalOf } from './feature-maps.js';
import { MethodState, trainableOf, type EncoderShape, type Method } from './method.js';

/** The AMDIM encoder of a config, built for the images' size (the 64 px variant from 64 px up). */
export function amdimEncoder(c: TrainConfig, shape: EncoderShape, rng: Random, backend: Backend): AmdimEncoder {
  return new AmdimEncoder({ encoderSize: shape.size >= 64 ? 64 : 32, ndf: c.ndf, nRkhs: c.rkhs, depth: c.amdimDepth, inChannels: shape.channels, rng, backend });
}

/** The two halves of a batch of views [2B, ...]: view 1 and view 2 of every image. */
export function viewHalves(views: Tensor): [Tensor, Tensor] {
  const b = views.shape[0] / 2, rest = views.shape.slice(1);
  return [slice(views, [0, 0, 0, 0], [b, ...rest]), slice(views, [b, 0, 0, 0], [b, ...rest])];
}

export const amdim: Method = {
  name: 'amdim',
  title: 'AMDIM',
  summary: 'AMDIM: multiscale global-to-local NCE (1-5, 1-7, 5-5) between two views, AMDIM encoder, tanh-clipped dot products, Adam',
  defaults: {
    optimizer: 'adam', lr: 2e-4, adamBetas: [0.8, 0.999], adamEps: 1e-7, weightDecay: 1e-5, warmupEpochs: 0,
    cropScale: [1, 1], flipProb: 0.5, jitter: [0.4, 0.4, 0.4, 0.2], jitterProb: 0.8, grayProb: 0.25, blurProb: 0, solarizeProb: 0,
    translate: 4, translateProb: 0.8,
    ndf: 320, rkhs: 1280, amdimDepth: 10, tclip: 20,
  },
  encoder: amdimEncoder,
  build({ config: c, rng, backend, channels, size }) {
    const encoder = amdimEncoder(c, { channels, size }, rng, backend);
    const model = new MethodState({ 0: encoder });
    return {
      model, encoder, trainable: trainableOf(model),
      loss(views, at) {
        const [v1, v2] = viewHalves(views);
        // each view has its own forward pass (its own BN statistics), as the reference's
        const m1 = encoder.maps(v1), m2 = encoder.maps(v2);
        const compare = (a1: Tensor, b2: Tensor, a2: Tensor, b1: Tensor) => compareMaps(a1, b2, a2, b1, c.tclip, at, backend);
        return totalOf([
          compare(m1.r1, m2.r5, m2.r1, m1.r5), // 1-5
          compare(m1.r1, m2.r7, m2.r1, m1.r7), // 1-7
          compare(m1.r5, m2.r5, m2.r5, m1.r5), // 5-5
        ]);
      },
    };
  },
};

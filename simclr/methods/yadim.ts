/**
 * YADIM ("Yet Another DIM"), the framework's own design (Falcon & Cho 2020, "A Framework for
 * Contrastive Self-Supervised Learning and Designing a New Approach"), in its five parts:
 *
 *  1. Augmentation: the union of AMDIM's and CPC's pipelines: random resized crop (scale 0.3-1, CPC's
 *     STL-10/ImageNet crop), flip, random translation with reflection padding (4 px, p 0.8), color
 *     jitter (0.4, 0.4, 0.4, 0.2) with p 0.8, grayscale p 0.25.
 *  2. Encoder: the AMDIM encoder (`--encoder amdim`, the paper's choice; --ndf, --rkhs,
 *     --amdim-depth) or a ResNet (`--encoder resnet`; --depth, --stem, --width): the framework's
 *     claim is that the method is robust to this choice, so both are offered on equal terms.
 *  3. Representation extraction: the final feature map of each view only (the paper's
 *     simplification of AMDIM's multiscale comparisons): a random location of one view's final map
 *     against every location of the other view's (the AMDIM encoder's final map r1 is 1x1, so that is
 *     its global vector; a CIFAR-stem ResNet's layer4 map is 4x4 at 32 px), both ways.
 *  4. Similarity: dot product scaled by 1/sqrt(d), soft-clipped (tclip 20), as AMDIM.
 *  5. Loss: NCE over the batch with the score regularizer 0.05 mean(s^2) (engine/ops/nce.ts
 *     featureMapNce), averaged over the two directions.
 *  Optimizer: AMDIM's: Adam lr 2e-4 (x B/256, cosine), betas (0.8, 0.999), eps 1e-7, wd 1e-5.
 *  Representation for evaluation: the encoder's: r1 for the AMDIM encoder, the pooled h for a ResNet.
 */
import type { Backend } from '../../engine/backend.js';
import type { Random } from '../../engine/random.js';
import type { Tensor } from '../../engine/tensor.js';
import type { Encoder } from '../../nn/encoder.js';
import { AmdimEncoder } from '../../nn/amdim-encoder.js';
import type { ResNet } from '../../nn/resnet.js';
import type { TrainConfig } from '../config.js';
import { amdimEncoder, viewHalves } from './amdim.js';
import { compareMaps, totalOf } from './feature-maps.js';
import { MethodState, buildEncoder, trainableOf, type EncoderShape, type Method } from './method.js';

function yadimEncoder(c: TrainConfig, shape: EncoderShape, rng: Random, backend: Backend): Encoder {
  return c.encoder === 'amdim' ? amdimEncoder(c, shape, rng, backend) : buildEncoder(c, rng, backend);
}

/** The encoder's last feature map [B, d, h, w]. */
function finalMap(encoder: Encoder, x: Tensor): Tensor {
  return encoder instanceof AmdimEncoder ? encoder.maps(x).r1 : (encoder as ResNet).featureMap(x);
}

export const yadim: Method = {
  name: 'yadim',
  title: 'YADIM',
  summary: 'YADIM: NCE between the final feature maps of two views (union of AMDIM and CPC augmentations), AMDIM encoder or ResNet, Adam',
  defaults: {
    optimizer: 'adam', lr: 2e-4, adamBetas: [0.8, 0.999], adamEps: 1e-7, weightDecay: 1e-5, warmupEpochs: 0,
    cropScale: [0.3, 1], flipProb: 0.5, jitter: [0.4, 0.4, 0.4, 0.2], jitterProb: 0.8, grayProb: 0.25, blurProb: 0, solarizeProb: 0,
    translate: 4, translateProb: 0.8,
    encoder: 'amdim', ndf: 320, rkhs: 1280, amdimDepth: 10, tclip: 20,
  },
  encoder: yadimEncoder,
  build({ config: c, rng, backend, channels, size }) {
    const encoder = yadimEncoder(c, { channels, size }, rng, backend);
    const model = new MethodState({ 0: encoder });
    return {
      model, encoder, trainable: trainableOf(model),
      loss(views, at) {
        const [v1, v2] = viewHalves(views);
        const f1 = finalMap(encoder, v1), f2 = finalMap(encoder, v2);
        return totalOf([compareMaps(f1, f2, f2, f1, c.tclip, at, backend)]);
      },
    };
  },
};

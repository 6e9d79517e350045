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
 *     simplification of AMDIM's multiscale comparisons), one location of one view's map against
 *     every location of the other view's, both ways. The AMDIM encoder's final map is r1: 1x1, its
 *     global vector, the output of a batch norm (signed, centred over the batch). A
 *     ResNet's is put on the same terms: layer4's map average-pooled to 1x1 (the h it is evaluated
 *     by) and embedded to n_rkhs (--rkhs) by AMDIM's 1x1 fake-RKHS block (conv -> ReLU -> conv plus
 *     a near-identity shortcut, then batch norm; the method's head, not part of the encoder). Taken
 *     raw, layer4's map did not learn (demo data, batch 64, 5 epochs: NCE accuracy at chance, kNN
 *     21-24 % throughout; partial CIFAR-10: kNN 24.1 -> 23.4 %; see the commit): its post-ReLU non-negative vectors make every score large
 *     and positive, so the score regularizer drives them all down instead of the NCE separating
 *     them, and a random location of its 4x4 map against all 16 of the other view's (after resized
 *     crops) is a far weaker positive than the global vector.
 *  4. Similarity: dot product scaled by 1/sqrt(d), soft-clipped (tclip 20), as AMDIM.
 *  5. Loss: NCE over the batch with the score regularizer 0.05 mean(s^2) (engine/ops/nce.ts
 *     featureMapNce), averaged over the two directions.
 *  Optimizer: AMDIM's: Adam lr 2e-4 (x B/256, cosine), betas (0.8, 0.999), eps 1e-7, wd 1e-5.
 *  Representation for evaluation: the encoder's: r1 for the AMDIM encoder, the pooled h for a ResNet
 *  (without the embedding, as SimCLR's projection head is left out).
 */
import type { Backend } from '../../engine/backend.js';
import type { Random } from '../../engine/random.js';
import { mean, reshape } from '../../engine/ops/index.js';
import type { Tensor } from '../../engine/tensor.js';
import type { Encoder } from '../../nn/encoder.js';
import { AmdimEncoder, FakeRkhsConvNet } from '../../nn/amdim-encoder.js';
import type { ResNet } from '../../nn/resnet.js';
import type { TrainConfig } from '../config.js';
import { amdimEncoder, viewHalves } from './amdim.js';
import { compareMaps, totalOf } from './feature-maps.js';
import { MethodState, buildEncoder, trainableOf, type EncoderShape, type Method } from './method.js';

function yadimEncoder(c: TrainConfig, shape: EncoderShape, rng: Random, backend: Backend): Encoder {
  return c.encoder === 'amdim' ? amdimEncoder(c, shape, rng, backend) : buildEncoder(c, rng, backend);
}

/** The map YADIM compares [B, d, 1, 1]: the AMDIM encoder's r1, or a ResNet's pooled layer4 map through `embed`. */
function finalMap(encoder: Encoder, embed: FakeRkhsConvNet | null, x: Tensor): Tensor {
  if (encoder instanceof AmdimEncoder) return encoder.maps(x).r1;
  const map = (encoder as ResNet).featureMap(x);
  const [b, d] = map.shape;
  return embed!.forward(reshape(mean(map, [2, 3]), [b, d, 1, 1]));
}

export const yadim: Method = {
  name: 'yadim',
  title: 'YADIM',
  summary: 'YADIM: NCE between the final feature maps of two views (union of AMDIM and CPC augmentations), AMDIM encoder or ResNet (pooled, fake-RKHS embedding), Adam',
  defaults: {
    optimizer: 'adam', lr: 2e-4, adamBetas: [0.8, 0.999], adamEps: 1e-7, weightDecay: 1e-5, warmupEpochs: 0,
    cropScale: [0.3, 1], flipProb: 0.5, jitter: [0.4, 0.4, 0.4, 0.2], jitterProb: 0.8, grayProb: 0.25, blurProb: 0, solarizeProb: 0,
    translate: 4, translateProb: 0.8,
    encoder: 'amdim', ndf: 320, rkhs: 1280, amdimDepth: 10, tclip: 20,
  },
  encoder: yadimEncoder,
  build({ config: c, rng, backend, channels, size }) {
    const encoder = yadimEncoder(c, { channels, size }, rng, backend);
    const embed = encoder instanceof AmdimEncoder ? null : new FakeRkhsConvNet(encoder.features, c.rkhs, { rng, backend });
    const model = new MethodState(embed ? { 0: encoder, embed } : { 0: encoder });
    return {
      model, encoder, trainable: trainableOf(model),
      loss(views, at) {
        const [v1, v2] = viewHalves(views);
        const f1 = finalMap(encoder, embed, v1), f2 = finalMap(encoder, embed, v2);
        return totalOf([compareMaps(f1, f2, f2, f1, c.tclip, at, backend)]);
      },
    };
  },
};

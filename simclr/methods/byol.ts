/**
 * BYOL (Grill et al. 2020, "Bootstrap Your Own Latent"), as the paper and solo-learn's
 * implementation do it, in the framework's five parts:
 *
 *  1. Augmentation: two asymmetric views: random resized crop (0.08-1), flip, color jitter
 *     (0.4, 0.4, 0.2, 0.1) with p 0.8, grayscale p 0.2, then Gaussian blur with p 1.0 on the
 *     first view and 0.1 on the second, and solarization with p 0 and 0.2 (CIFAR recipes drop the
 *     blur at 32 px).
 *  2. Encoder: an online encoder f (ResNet without fc), and a target encoder of the same shape that
 *     is an exponential moving average of it, never trained by gradients.
 *  3. Representation extraction: online: projection z = g(f(x)) (Linear-BN-ReLU-Linear, 4096
 *     hidden, 256 out) and prediction p = q(z) (the same shape); target: z' = g'(f'(x)), no
 *     predictor, no gradients.
 *  4. Similarity: cosine similarity between the online prediction of one view and the target
 *     projection of the other.
 *  5. Loss: 2 - 2 cos(p, z') (the normalized squared distance), symmetrized: the prediction of
 *     view 1 regresses the target of view 2 and the other way round, and the two are summed (as
 *     the paper's L + L~, range 0..8). No negatives at all.
 *  After every step the target moves toward the online weights: target <- tau target + (1 - tau)
 *  online, with tau = 1 - (1 - tau_base)(cos(pi k / K) + 1) / 2 at step k (0-based) of K, rising from
 *  tau_base (0.996; 0.99 in CIFAR recipes) to 1.
 *  Optimizer: LARS with BN parameters and biases excluded from weight decay and trust scaling,
 *  lr 0.2 x B/256, 10 warm-up epochs then a cosine decay, weight decay 1.5e-6.
 *  Logged accuracy: the fraction of predictions whose most similar target projection among the
 *  other view's B is their own image's (BYOL has no contrastive accuracy; this is its retrieval
 *  analogue).
 */
import type { Backend } from '../../engine/backend.js';
import type { Random } from '../../engine/random.js';
import { noGrad, tidy, type Tensor } from '../../engine/tensor.js';
import { affine, byolLoss, concat, greaterEqual, l2Normalize, matmul, max, mean, mul, slice, sum, transpose } from '../../engine/ops/index.js';
import { Sequential } from '../../nn/layers.js';
import { MovingAverage } from '../../nn/ema.js';
import { ProjectionHead } from '../head.js';
import { MethodState, buildEncoder, resnetEncoder, trainableOf, type Method } from './method.js';

/** BYOL's MLP: Linear - BN - ReLU - Linear (PyTorch's init). */
function mlp(inDim: number, hidden: number, out: number, rng: Random, backend: Backend): ProjectionHead {
  return new ProjectionHead(inDim, { numLayers: 2, hiddenDims: hidden, outDim: out, batchNorm: 'hidden', initStd: null, rng, backend });
}

/** BYOL's target momentum at step k of K. */
export function byolTau(tauBase: number, step: number, totalSteps: number): number {
  return 1 - (1 - tauBase) * (Math.cos((Math.PI * step) / totalSteps) + 1) / 2;
}

export const byol: Method = {
  name: 'byol',
  title: 'BYOL',
  summary: 'BYOL: online encoder + projector + predictor regress an EMA target of the other view, no negatives, LARS',
  defaults: {
    optimizer: 'lars', lr: 0.2, weightDecay: 1.5e-6, momentum: 0.9, warmupEpochs: 10,
    cropScale: [0.08, 1], flipProb: 0.5, jitterStrength: 0.5, jitter: [0.4, 0.4, 0.2, 0.1], jitterProb: 0.8, grayProb: 0.2,
    blurProb: [1, 0.1], solarizeProb: [0, 0.2],
    headLayers: 2, headHidden: 4096, headOut: 256, predHidden: 4096, tauBase: 0.996,
  },
  encoder: resnetEncoder,
  build({ config: c, rng, backend, totalSteps }) {
    const encoder = buildEncoder(c, rng, backend);
    const hidden = c.headHidden ?? encoder.features;
    const projector = mlp(encoder.features, hidden, c.headOut, rng, backend);
    const predictor = mlp(c.headOut, c.predHidden, c.headOut, rng, backend);
    const targetEncoder = buildEncoder(c, rng, backend);
    const targetProjector = mlp(targetEncoder.features, hidden, c.headOut, rng, backend);
    const target = new MethodState({ 0: targetEncoder, 1: targetProjector });
    const model = new MethodState({ 0: encoder, 1: projector, 2: predictor, target });
    const ema = new MovingAverage(target, new Sequential(encoder, projector));
    ema.copy();
    const tau = (step: number) => byolTau(c.tauBase, step, totalSteps);

    return {
      model, encoder, trainable: trainableOf(model, ['target']),
      loss(views) {
        const b = views.shape[0] / 2;
        const rest = views.shape.slice(1);
        const v1 = slice(views, [0, 0, 0, 0], [b, ...rest]), v2 = slice(views, [b, 0, 0, 0], [b, ...rest]);
        // Each view has its own forward pass (its own BN statistics), as the reference code does.
        const online = (v: Tensor) => predictor.call(projector.call(encoder.call(v)));
        const targetOf = (v: Tensor) => noGrad(() => targetProjector.call(targetEncoder.call(v)));
        const p = concat([online(v1), online(v2)], 0);
        // Row i of the targets is the other view of row i's image.
        const zSwapped = concat([targetOf(v2), targetOf(v1)], 0);
        // mean over 2B rows times 2 = L(p1, z2') + L(p2, z1'), each a mean over B
        const loss = mul(byolLoss(p, zSwapped), 2);
        // Candidates are the other view's B targets only: a prediction's own-view target is its own
        // image too and wins for nearly every row, which held the metric at chance.
        const accuracy = noGrad(() => tidy(() => {
          const pn = l2Normalize(p), zn = l2Normalize(zSwapped), d = pn.shape[1];
          const hits = [0, b].map((r) => {
            const ph = slice(pn, [r, 0], [b, d]), zh = slice(zn, [r, 0], [b, d]);
            const own = sum(mul(ph, zh), 1);
            // own similarity is on the diagonal of sims; the slack absorbs the two sums' rounding
            return greaterEqual(affine(own, 1, 1e-5), max(matmul(ph, transpose(zh)), 1));
          });
          return mean(concat(hits, 0));
        }));
        return { loss, accuracy };
      },
      afterStep(at) { ema.update(tau(at.step)); },
      stepValues: (at) => ({ tau: tau(at.step) }),
    };
  },
};

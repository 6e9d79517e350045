/**
 * CPC v2 (Henaff et al. 2020, "Data-Efficient Image Recognition with Contrastive Predictive
 * Coding"), as its appendix's pseudo-code and the framework's standardized implementation do it, in
 * the framework's five parts:
 *
 *  1. Augmentation: each image is cut into overlapping patches (CIFAR: 8x8 with stride 4, a 7x7
 *     grid; STL-10: 16x16 with stride 8) and every patch is augmented on its own (CPC v2's per-patch
 *     augmentation): flip, random translation with reflection padding (2 px, p 0.8), color jitter
 *     (0.4, 0.4, 0.4, 0.2) with p 0.8, grayscale p 0.25. One view per image; the patches are cut on
 *     the host and augmented by the shared kernels (augmentBatch with one view per patch).
 *  2. Encoder: a ResNet (--depth, --stem, --width) with layer norm in place of batch norm, as CPC v2
 *     recommends, so patches cannot find each other through batch statistics; it encodes every
 *     patch on its own into z [B, F, rows, cols] (the grid of patch embeddings).
 *  3. Representation extraction: a context network over the grid, a row-causal (masked,
 *     PixelCNN-style) convolution stack (nn/cpc-context.ts), so the context at row i sees rows <= i;
 *     targets t = 1x1 conv of z; predictions of the rows k = 1..K below, p_k = 0.1 x W_k(context)
 *     with one 1x1 conv W_k per offset (the 0.1 is the pseudo-code's embedding scale). Target and
 *     prediction width: --head-out (64 as the pseudo-code).
 *  4. Similarity: dot product of a prediction with a target.
 *  5. Loss: InfoNCE per offset k: the prediction at (image, row i, column j) must pick the target
 *     at (image, i + k, j) among every patch target of the batch (engine/ops/nce.ts cpcInfoNce,
 *     fused and streamed: the [B (rows - k) cols, B rows cols] scores are never stored); summed over
 *     the offsets.
 *  Optimizer: Adam lr 1e-4 (the framework's CIFAR runs used 4e-5) x B/256 with the shared cosine
 *  schedule, betas (0.8, 0.999), weight decay 1e-5.
 *  Representation for evaluation: the mean over the grid of the encoder's patch embeddings z (not the
 *  context: the encoder alone is what is evaluated and exported), of the unaugmented image's patches.
 */
import type { Backend } from '../../engine/backend.js';
import { ArgumentError } from '../../engine/errors.js';
import { add, affine, cpcInfoNce, permute, reshape, slice, tensor } from '../../engine/ops/index.js';
import type { Random } from '../../engine/random.js';
import { noGrad, type Tensor } from '../../engine/tensor.js';
import { CpcContext } from '../../nn/cpc-context.js';
import { Conv2d, Sequential } from '../../nn/layers.js';
import { PatchEncoder } from '../../nn/patch-encoder.js';
import { augmentBatch, type ImageBatch } from '../augment.js';
import type { TrainConfig } from '../config.js';
import { mapLocations } from './feature-maps.js';
import { MethodState, buildEncoder, trainableOf, viewRecipes, type EncoderShape, type Method } from './method.js';

/** The pseudo-code's emb_scale on the predictions. */
const EMBED_SCALE = 0.1;

function cpcEncoder(c: TrainConfig, _shape: EncoderShape, rng: Random, backend: Backend): PatchEncoder {
  return new PatchEncoder(buildEncoder(c, rng, backend, 1, 'layer'), c.patchSize, c.patchStride);
}

/**
 * The patches of a uint8 batch, in unfoldPatches' order (patch (n, gy, gx) at (n gh + gy) gw + gx),
 * as a batch of n gh gw images of size x size.
 */
export function patchBatch(b: ImageBatch, size: number, stride: number): ImageBatch {
  const gh = Math.floor((b.height - size) / stride) + 1, gw = Math.floor((b.width - size) / stride) + 1;
  if (size > b.height || size > b.width) throw new ArgumentError('CPC', `patch size ${size} exceeds the images ${b.height}x${b.width}`);
  const c = b.channels, per = c * size * size;
  const out = new Uint8Array(b.n * gh * gw * per);
  let o = 0;
  for (let n = 0; n < b.n; n++) for (let gy = 0; gy < gh; gy++) for (let gx = 0; gx < gw; gx++) {
    for (let ch = 0; ch < c; ch++) for (let y = 0; y < size; y++) {
      const from = ((n * c + ch) * b.height + gy * stride + y) * b.width + gx * stride;
      out.set(b.images.subarray(from, from + size), o);
      o += size;
    }
  }
  return { images: out, n: b.n * gh * gw, channels: c, height: size, width: size };
}

/** Row-major labels of the targets k rows below every prediction of a [B, rows, cols] grid. */
export function cpcLabels(b: number, rows: number, cols: number, k: number): Int32Array {
  const out = new Int32Array(b * (rows - k) * cols);
  let i = 0;
  for (let n = 0; n < b; n++) for (let r = 0; r < rows - k; r++) for (let j = 0; j < cols; j++) out[i++] = (n * rows + r + k) * cols + j;
  return out;
}

export const cpc: Method = {
  name: 'cpc',
  title: 'CPC v2',
  summary: 'CPC v2: patches encoded one by one (layer-norm ResNet), masked context network, InfoNCE of predicted rows below against all patches, Adam',
  defaults: {
    optimizer: 'adam', lr: 1e-4, adamBetas: [0.8, 0.999], adamEps: 1e-8, weightDecay: 1e-5, warmupEpochs: 0,
    cropScale: [1, 1], flipProb: 0.5, jitter: [0.4, 0.4, 0.4, 0.2], jitterProb: 0.8, grayProb: 0.25, blurProb: 0, solarizeProb: 0,
    translate: 2, translateProb: 0.8,
    headOut: 64, patchSize: 8, patchStride: 4, predictSteps: 3, contextBlocks: 5,
  },
  encoder: cpcEncoder,
  build({ config: c, rng, backend, channels, size }) {
    const encoder = cpcEncoder(c, { channels, size }, rng, backend);
    const [rows, cols] = encoder.grid(size, size);
    if (c.predictSteps >= rows) throw new ArgumentError('CPC', `--predict-steps ${c.predictSteps} needs more than ${c.predictSteps} grid rows, the ${size} px images give ${rows} (patch ${c.patchSize}, stride ${c.patchStride})`);
    const f = encoder.features;
    const context = new CpcContext(f, { blocks: c.contextBlocks, hidden: f, rng, backend });
    const conv1x1 = () => new Conv2d(f, c.headOut, 1, { bias: true, init: 'pytorch_default', rng, backend });
    const target = conv1x1();
    const predict = new Sequential(...Array.from({ length: c.predictSteps }, conv1x1));
    const model = new MethodState({ 0: encoder, context, target, predict });
    const recipe = viewRecipes(c, c.patchSize)[0];
    const labels = new Map<string, Tensor>();
    const labelsFor = (b: number, k: number) => {
      const key = `${b}:${k}`;
      let t = labels.get(key);
      if (!t) labels.set(key, t = tensor(cpcLabels(b, rows, cols, k), [b * (rows - k) * cols], { dtype: 'i32', backend }).keep());
      return t;
    };

    return {
      model, encoder, trainable: trainableOf(model),
      views: (batch, viewRng) => augmentBatch(backend, patchBatch(batch, c.patchSize, c.patchStride), viewRng, recipe, 1),
      loss(patches) {
        const b = patches.shape[0] / (rows * cols);
        // z: the grid of patch embeddings [B, F, rows, cols]
        const z = permute(reshape(encoder.embed(patches), [b, rows, cols, f]), [0, 3, 1, 2]);
        const ctx = context.call(z);
        const targets = mapLocations(target.call(z));
        const parts = predict.children().map((conv, i) => {
          const k = i + 1;
          const p = slice(conv.call(ctx), [0, 0, 0, 0], [b, c.headOut, rows - k, cols]);
          return cpcInfoNce(affine(mapLocations(p), EMBED_SCALE, 0), targets, labelsFor(b, k));
        });
        const loss = parts.slice(1).reduce((s, r) => add(s, r.loss), parts[0].loss);
        const accuracy = noGrad(() => affine(parts.slice(1).reduce((s, r) => add(s, r.accuracy), parts[0].accuracy), 1 / parts.length, 0));
        return { loss, accuracy };
      },
      dispose() { for (const t of labels.values()) t.dispose(); labels.clear(); },
    };
  },
};

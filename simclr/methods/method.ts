/**
 * The method contract. Falcon & Cho describe every contrastive self-supervised method as a choice
 * of five parts: (1) the data augmentation pipeline, (2) the encoder, (3) the representation
 * extraction, (4) the similarity measure and (5) the loss. A method here is one file in
 * simclr/methods/ that declares those parts and its training state; everything else (data, views,
 * the step loop, logging, the kNN monitor, checkpoints, resume, evaluation, export) is the shared
 * machinery of simclr/trainer.ts, written once.
 *
 * What a method file declares:
 *  - `defaults`: its recipe as configuration values over the common defaults: the augmentation of
 *    each view (1), head widths, optimizer, learning rate, weight decay, warm-up, its own options.
 *  - `encoder(config, shape)`: (2) the encoder alone, an Encoder (nn/encoder.ts: a Module whose
 *    forward maps images to the representation for evaluation [N, features]): a ResNet's pooled h,
 *    the AMDIM encoder's pooled global map, CPC's mean patch embedding. Evaluation rebuilds it from
 *    a run's config.json and loads the checkpoint's '0.*' into it, for every method alike.
 *  - `build(setup)`: its modules and state, returned as a MethodRun:
 *      model      one Module holding everything a checkpoint keeps; child '0' is always the encoder
 *                 (2), so evaluation and export read '0.*' from any method's checkpoint;
 *      trainable  what the optimizer trains (target networks and queues are not in it);
 *      views()    optional (1): a method that cuts its own inputs from the images (CPC's patches);
 *      loss()     (3)-(5): from the batch of views, the scalar loss and a monitoring accuracy;
 *      afterStep  hooks after the optimizer step: the EMA of a target network, a queue update.
 *
 * Views: unless the method draws its own, `loss` receives [2B, C, S, S] where rows i and B + i are
 * the two views of image i (the first B drawn with the first view's recipe, the rest with the
 * second's).
 */
import type { Backend } from '../../engine/backend.js';
import { EngineError } from '../../engine/errors.js';
import type { Random } from '../../engine/random.js';
import type { Tensor } from '../../engine/tensor.js';
import type { Encoder } from '../../nn/encoder.js';
import { Module, type ParameterInfo } from '../../nn/module.js';
import { AmdimEncoder } from '../../nn/amdim-encoder.js';
import { PatchEncoder } from '../../nn/patch-encoder.js';
import { Bottleneck, RESNET_BY_DEPTH, ResNet, type ResNetNorm } from '../../nn/resnet.js';
import { resolveAugment, type AugmentConfig, type ImageBatch } from '../augment.js';
import { perView, type MethodName, type TrainConfig } from '../config.js';

/** What `build` gets. */
export interface MethodSetup {
  /** The complete, validated configuration (common keys and this method's). */
  config: TrainConfig;
  /** The initialization stream (seeded by config.seed): every weight is drawn from it. */
  rng: Random;
  backend: Backend;
  /** Image channels and side of the views. */
  channels: number;
  size: number;
  totalSteps: number;
}

/** The step a hook or loss runs at. */
export interface StepInfo {
  /** 0-based optimizer step. */
  step: number;
  totalSteps: number;
  /** The run's augmentation stream (checkpointed): for any per-step randomness of a method. */
  rng: Random;
  /** @internal Test hook: the permutations a method would draw from rng (MoCo's key shuffle), in call order. */
  permutation?(n: number): Int32Array;
  /** @internal Test hook: the source location per image a method would draw from rng (AMDIM, YADIM), in call order. */
  locations?(images: number, perImage: number): Int32Array;
}

export interface MethodLoss {
  /** Scalar loss with gradients. */
  loss: Tensor;
  /** Scalar in [0, 1] without gradients: the fraction of anchors that pick their positive (logged as accuracy). */
  accuracy: Tensor;
}

export interface MethodRun {
  /** Everything a checkpoint keeps; child '0' is the encoder. */
  readonly model: Module;
  /** The encoder (child '0' of model): its forward gives the representation for evaluation. */
  readonly encoder: Encoder;
  /** What the optimizer trains, with roles (LARS excludes BN parameters and biases by role). */
  readonly trainable: readonly ParameterInfo[];
  /**
   * (1) When a method cuts its own inputs from the images (CPC: patches, each augmented on its own):
   * the loss's input for a batch of images, drawn from rng (the run's checkpointed stream). Without
   * it the trainer draws the two views with the configured recipes.
   */
  views?(batch: ImageBatch, rng: Random, backend: Backend): Tensor;
  /** (3)-(5): the loss of one batch of views [2B, C, S, S] (image i at rows i and B + i), or of the method's own views. */
  loss(views: Tensor, at: StepInfo): MethodLoss;
  /** After the optimizer step (EMA updates, queue updates); reads nothing back. */
  afterStep?(at: StepInfo): void;
  /** Scheduled values worth logging with the step (e.g. BYOL's tau). */
  stepValues?(at: StepInfo): Record<string, number>;
  /** Releases what the run holds beyond `model` (pending keys and the like). */
  dispose?(): void;
}

export interface Method {
  readonly name: MethodName;
  /** For titles and tables: 'SimCLR', 'MoCo v2', 'BYOL'. */
  readonly title: string;
  /** One line for --help. */
  readonly summary: string;
  /** The method's recipe over the common defaults (config.ts COMMON_DEFAULTS). */
  readonly defaults: Partial<TrainConfig>;
  /** (2) The encoder of a run with this (complete) config, for images of the given channels and side, freshly initialized. */
  encoder(config: TrainConfig, shape: EncoderShape, rng: Random, backend: Backend): Encoder;
  build(setup: MethodSetup): MethodRun;
}

/** The images an encoder is built for. */
export interface EncoderShape { channels: number; size: number }

/**
 * (1) The two views' recipes from the configuration: crop scale, flip, color jitter (explicit, or
 * SimCLR's strength s), grayscale, blur and solarization probabilities, per view where they differ.
 */
export function viewRecipes(c: TrainConfig, size: number): [AugmentConfig, AugmentConfig] {
  const [b, ct, s, h] = c.jitter ?? [0.8 * c.jitterStrength, 0.8 * c.jitterStrength, 0.8 * c.jitterStrength, 0.2 * c.jitterStrength];
  const view = (v: 0 | 1) => resolveAugment({
    size, scale: c.cropScale, flipP: c.flipProb, brightness: b, contrast: ct, saturation: s, hue: h,
    jitterP: perView(c.jitterProb, v), grayP: perView(c.grayProb, v), blurP: perView(c.blurProb, v), solarizeP: perView(c.solarizeProb, v),
    translate: c.translate, translateP: perView(c.translateProb, v),
  });
  return [view(0), view(1)];
}

/** (2) A ResNet of the configured depth, stem and width, without fc (batch norm unless `norm` says 'layer'). */
export function buildEncoder(c: Pick<TrainConfig, 'depth' | 'stem' | 'width'>, rng: Random, backend: Backend, bnSplits = 1, norm: ResNetNorm = 'batch'): ResNet {
  return RESNET_BY_DEPTH[c.depth]({ stem: c.stem, width: c.width, rng, backend, bnSplits, norm });
}

/** A short name of an encoder for titles and logs: 'ResNet-18 x0.125 (cifar stem)', 'AMDIM encoder ndf 32 n_rkhs 256 depth 3'. */
export function describeEncoder(e: Encoder): string {
  const resnet = (r: ResNet) => {
    const blocks = [r.layer1, r.layer2, r.layer3, r.layer4].reduce((n, l) => n + l.children().length, 0);
    const depth = r.layer1.children()[0] instanceof Bottleneck ? 50 : blocks === 8 ? 18 : 34;
    return `ResNet-${depth ?? '?'} x${r.widths[0] / 64} (${r.stem} stem${r.norm === 'layer' ? ', layer norm' : ''})`;
  };
  if (e instanceof ResNet) return resnet(e);
  if (e instanceof AmdimEncoder) return `AMDIM encoder (${e.encoderSize} px) ndf ${e.ndf} n_rkhs ${e.features} depth ${e.depth}`;
  if (e instanceof PatchEncoder && e.network instanceof ResNet) return `${resnet(e.network)} on ${e.patchSize}x${e.patchSize} patches, stride ${e.patchStride}`;
  return `${e.constructor.name} (${e.features} features)`;
}

/** Method.encoder of the methods whose encoder is a plain ResNet (SimCLR, MoCo, BYOL). */
export const resnetEncoder = (c: TrainConfig, _shape: EncoderShape, rng: Random, backend: Backend): Encoder => buildEncoder(c, rng, backend);

/**
 * A method's checkpointed state: named child modules ('0' the encoder, '1' a head, 'target' a
 * moving-average network, ...) and buffers (a queue), so a checkpoint names them '0.conv1.weight',
 * 'target.1.0.weight', 'queue'. It is a container, not a network: calling it is an error.
 */
export class MethodState extends Module {
  constructor(children: Readonly<Record<string, Module>>, buffers: Readonly<Record<string, Tensor>> = {}) {
    super();
    for (const [name, m] of Object.entries(children)) this.registerModule(name, m);
    for (const [name, t] of Object.entries(buffers)) this.registerBuffer(name, t);
  }

  forward(): Tensor { throw new EngineError('MethodState', 'a method\'s state is a container; call its parts'); }

  /** Replaces a buffer's value in place (Tensor.assign keeps the handle the state dict holds). */
  buffer(name: string): Tensor {
    const t = this.namedBuffers().find(([n]) => n === name)?.[1];
    if (!t) throw new EngineError('MethodState', `no buffer '${name}'`);
    return t;
  }
}

/** Parameters of `model` with roles and names, except those under the given child names (targets). */
export function trainableOf(model: Module, exclude: readonly string[] = []): ParameterInfo[] {
  return model.parameterInfos().filter((p) => !exclude.some((e) => p.name.startsWith(`${e}.`)));
}

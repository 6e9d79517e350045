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
 *  - `build(setup)`: its modules and state, returned as a MethodRun:
 *      model      one Module holding everything a checkpoint keeps; child '0' is always the encoder
 *                 (2), so evaluation and export read '0.*' from any method's checkpoint;
 *      trainable  what the optimizer trains (target networks and queues are not in it);
 *      loss()     (3)-(5): from the batch of views, the scalar loss and a monitoring accuracy;
 *      afterStep  hooks after the optimizer step: the EMA of a target network, a queue update.
 *  - Representation for evaluation: the encoder's pooled output h (ResNet.representation), the
 *    same for every method in this file's family; a method that needs another says so in `build`.
 *
 * Views: `loss` receives [2B, C, S, S] where rows i and B + i are the two views of image i (the
 * first B drawn with the first view's recipe, the rest with the second's).
 */
import type { Backend } from '../../engine/backend.js';
import { EngineError } from '../../engine/errors.js';
import type { Random } from '../../engine/random.js';
import type { Tensor } from '../../engine/tensor.js';
import { Module, type ParameterInfo } from '../../nn/module.js';
import { RESNET_BY_DEPTH, type ResNet } from '../../nn/resnet.js';
import { resolveAugment, type AugmentConfig } from '../augment.js';
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
  /** The encoder (child '0' of model): its pooled output h is the representation for evaluation. */
  readonly encoder: ResNet;
  /** What the optimizer trains, with roles (LARS excludes BN parameters and biases by role). */
  readonly trainable: readonly ParameterInfo[];
  /** (3)-(5): the loss of one batch of views [2B, C, S, S] (image i at rows i and B + i). */
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
  build(setup: MethodSetup): MethodRun;
}

/**
 * (1) The two views' recipes from the configuration: crop scale, flip, color jitter (explicit, or
 * SimCLR's strength s), grayscale, blur and solarization probabilities, per view where they differ.
 */
export function viewRecipes(c: TrainConfig, size: number): [AugmentConfig, AugmentConfig] {
  const [b, ct, s, h] = c.jitter ?? [0.8 * c.jitterStrength, 0.8 * c.jitterStrength, 0.8 * c.jitterStrength, 0.2 * c.jitterStrength];
  const view = (v: 0 | 1) => resolveAugment({
    size, scale: c.cropScale, flipP: c.flipProb, brightness: b, contrast: ct, saturation: s, hue: h,
    jitterP: perView(c.jitterProb, v), grayP: perView(c.grayProb, v), blurP: perView(c.blurProb, v), solarizeP: perView(c.solarizeProb, v),
  });
  return [view(0), view(1)];
}

/** (2) The encoder every method in this family uses: a ResNet of the configured depth, stem and width, without fc. */
export function buildEncoder(c: Pick<TrainConfig, 'depth' | 'stem' | 'width'>, rng: Random, backend: Backend, bnSplits = 1): ResNet {
  return RESNET_BY_DEPTH[c.depth]({ stem: c.stem, width: c.width, rng, backend, bnSplits });
}

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

/**
 * ResNet-18/34/50 with torchvision's module tree, so state dicts carry torchvision's names exactly
 * (conv1.weight, bn1.running_mean, layer2.0.downsample.0.weight, fc.bias, ...). Version 1.5: in a
 * Bottleneck the stride sits on the 3x3 conv. Initialization as torchvision: convs Kaiming normal
 * (fan_out, relu), BN gamma 1 and beta 0, fc PyTorch's Linear default; zeroInitResidual zeroes
 * the last BN gamma of each block.
 *
 * Options beyond torchvision: a 'cifar' stem (3x3 stride-1 conv, no max-pool; what SimCLR uses
 * for images of 32 px and below), a width multiplier on the base widths 64/128/256/512, layer norm
 * in place of batch norm (`norm: 'layer'`, CPC v2's choice: GroupNorm(1, C) under the same names
 * bn1.weight / bn1.bias, without running statistics; torchvision builds the same network with
 * norm_layer=lambda c: nn.GroupNorm(1, c)), and no classifier (numClasses undefined), in which case
 * forward returns the pooled representation h [N, features]; `featureMap` gives layer4's output.
 */
import type { Backend } from '../engine/backend.js';
import { ArgumentError, ShapeError, fmtShape } from '../engine/errors.js';
import type { Random } from '../engine/random.js';
import type { Tensor } from '../engine/tensor.js';
import { zerosLike } from '../engine/ops/index.js';
import { Module } from './module.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Flatten, LayerNorm2d, Linear, MaxPool2d, ReLU, Sequential } from './layers.js';

export type ResNetStem = 'imagenet' | 'cifar';
export type ResNetNorm = 'batch' | 'layer';
/** A normalization layer of the network: batch norm, or layer norm with `norm: 'layer'`. */
type Norm = BatchNorm2d | LayerNorm2d;

export interface ResNetOptions {
  /** 'imagenet' (default): 7x7/2 conv, BN, ReLU, 3x3/2 max-pool. 'cifar': 3x3/1 conv, BN, ReLU. */
  stem?: ResNetStem;
  /** Multiplies the base widths 64, 128, 256, 512 (each at least 1 channel). Default 1. */
  width?: number;
  /** Zero the last BN gamma of every residual block, so each block starts as the identity. */
  zeroInitResidual?: boolean;
  /** Adds the classifier fc: features -> numClasses. Without it forward returns h [N, features]. */
  numClasses?: number;
  /** Input channels (default 3). */
  inChannels?: number;
  /** Batch-norm splits of every BN layer in training (BatchNormOptions.splits; default 1). */
  bnSplits?: number;
  /** 'batch' (default) or 'layer': per-sample layer norm with a per-channel affine (LayerNorm2d). */
  norm?: ResNetNorm;
  rng?: Random;
  backend?: Backend;
}

interface Ctx { rng?: Random; backend?: Backend; bnSplits?: number; norm?: ResNetNorm }

const bn = (channels: number, ctx: Ctx): Norm => (ctx.norm === 'layer'
  ? new LayerNorm2d(channels, { backend: ctx.backend })
  : new BatchNorm2d(channels, { backend: ctx.backend, splits: ctx.bnSplits }));

function conv3x3(inp: number, out: number, stride: number, ctx: Ctx): Conv2d {
  return new Conv2d(inp, out, 3, { stride, padding: 1, bias: false, ...ctx });
}
function conv1x1(inp: number, out: number, stride: number, ctx: Ctx): Conv2d {
  return new Conv2d(inp, out, 1, { stride, bias: false, ...ctx });
}

/** Two 3x3 convs (ResNet-18/34). */
export class BasicBlock extends Module {
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: Norm;
  readonly relu: ReLU;
  readonly conv2: Conv2d;
  readonly bn2: Norm;
  readonly downsample: Sequential | null;

  constructor(inplanes: number, planes: number, stride: number, downsample: Sequential | null, ctx: Ctx) {
    super();
    this.conv1 = this.registerModule('conv1', conv3x3(inplanes, planes, stride, ctx));
    this.bn1 = this.registerModule('bn1', bn(planes, ctx));
    this.relu = this.registerModule('relu', new ReLU());
    this.conv2 = this.registerModule('conv2', conv3x3(planes, planes, 1, ctx));
    this.bn2 = this.registerModule('bn2', bn(planes, ctx));
    this.downsample = downsample ? this.registerModule('downsample', downsample) : null;
  }

  /** The BN whose gamma zeroInitResidual zeroes. */
  get lastBn(): Norm { return this.bn2; }

  forward(x: Tensor): Tensor {
    // BN + ReLU, and BN + residual add + ReLU, each run as one kernel
    const out = this.bn1.forwardRelu(this.conv1.forward(x));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return this.bn2.forwardAddRelu(this.conv2.forward(out), identity);
  }
}

/** 1x1 reduce, 3x3 (carrying the stride, v1.5), 1x1 expand by 4 (ResNet-50). */
export class Bottleneck extends Module {
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: Norm;
  readonly conv2: Conv2d;
  readonly bn2: Norm;
  readonly conv3: Conv2d;
  readonly bn3: Norm;
  readonly relu: ReLU;
  readonly downsample: Sequential | null;

  constructor(inplanes: number, planes: number, stride: number, downsample: Sequential | null, ctx: Ctx) {
    super();
    const width = planes; // groups 1, base width 64
    this.conv1 = this.registerModule('conv1', conv1x1(inplanes, width, 1, ctx));
    this.bn1 = this.registerModule('bn1', bn(width, ctx));
    this.conv2 = this.registerModule('conv2', conv3x3(width, width, stride, ctx));
    this.bn2 = this.registerModule('bn2', bn(width, ctx));
    this.conv3 = this.registerModule('conv3', conv1x1(width, planes * Bottleneck.expansion, 1, ctx));
    this.bn3 = this.registerModule('bn3', bn(planes * Bottleneck.expansion, ctx));
    this.relu = this.registerModule('relu', new ReLU());
    this.downsample = downsample ? this.registerModule('downsample', downsample) : null;
  }

  get lastBn(): Norm { return this.bn3; }

  forward(x: Tensor): Tensor {
    let out = this.bn1.forwardRelu(this.conv1.forward(x));
    out = this.bn2.forwardRelu(this.conv2.forward(out));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return this.bn3.forwardAddRelu(this.conv3.forward(out), identity);
  }
}

type BlockClass = typeof BasicBlock | typeof Bottleneck;

export class ResNet extends Module {
  readonly conv1: Conv2d;
  readonly bn1: Norm;
  readonly relu: ReLU;
  readonly maxpool: MaxPool2d | null;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly layer4: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly flatten: Flatten;
  readonly fc: Linear | null;
  /** Dimension of the pooled representation h (512 * expansion * width for the full widths). */
  readonly features: number;
  readonly stem: ResNetStem;
  readonly widths: readonly number[];
  readonly inChannels: number;
  readonly norm: ResNetNorm;

  constructor(block: BlockClass, layers: readonly [number, number, number, number], opts: ResNetOptions = {}) {
    super();
    const width = opts.width ?? 1;
    if (!(typeof width === 'number' && Number.isFinite(width) && width > 0)) throw new ArgumentError('ResNet', `width must be a positive number, got ${width}`);
    const stem = opts.stem ?? 'imagenet';
    if (stem !== 'imagenet' && stem !== 'cifar') throw new ArgumentError('ResNet', `stem must be 'imagenet' or 'cifar', got '${String(stem)}'`);
    const inChannels = opts.inChannels ?? 3;
    if (!(Number.isInteger(inChannels) && inChannels > 0)) throw new ArgumentError('ResNet', `inChannels must be a positive integer, got ${inChannels}`);
    if (opts.numClasses !== undefined && !(Number.isInteger(opts.numClasses) && opts.numClasses > 0)) {
      throw new ArgumentError('ResNet', `numClasses must be a positive integer, got ${opts.numClasses}`);
    }
    this.stem = stem;
    this.inChannels = inChannels;
    const norm = opts.norm ?? 'batch';
    if (norm !== 'batch' && norm !== 'layer') throw new ArgumentError('ResNet', `norm must be 'batch' or 'layer', got '${String(norm)}'`);
    this.norm = norm;
    const ctx: Ctx = { rng: opts.rng, backend: opts.backend, bnSplits: opts.bnSplits, norm };
    this.widths = [64, 128, 256, 512].map((b) => Math.max(1, Math.round(b * width)));
    let inplanes = this.widths[0];

    this.conv1 = this.registerModule('conv1', stem === 'imagenet'
      ? new Conv2d(inChannels, inplanes, 7, { stride: 2, padding: 3, bias: false, ...ctx })
      : new Conv2d(inChannels, inplanes, 3, { stride: 1, padding: 1, bias: false, ...ctx }));
    this.bn1 = this.registerModule('bn1', bn(inplanes, ctx));
    this.relu = this.registerModule('relu', new ReLU());
    this.maxpool = stem === 'imagenet' ? this.registerModule('maxpool', new MaxPool2d(3, { stride: 2, padding: 1 })) : null;

    const makeLayer = (planes: number, blocks: number, stride: number): Sequential => {
      let downsample: Sequential | null = null;
      if (stride !== 1 || inplanes !== planes * block.expansion) {
        downsample = new Sequential(conv1x1(inplanes, planes * block.expansion, stride, ctx), bn(planes * block.expansion, ctx));
      }
      const list: Module[] = [new block(inplanes, planes, stride, downsample, ctx)];
      inplanes = planes * block.expansion;
      for (let i = 1; i < blocks; i++) list.push(new block(inplanes, planes, 1, null, ctx));
      return new Sequential(...list);
    };
    this.layer1 = this.registerModule('layer1', makeLayer(this.widths[0], layers[0], 1));
    this.layer2 = this.registerModule('layer2', makeLayer(this.widths[1], layers[1], 2));
    this.layer3 = this.registerModule('layer3', makeLayer(this.widths[2], layers[2], 2));
    this.layer4 = this.registerModule('layer4', makeLayer(this.widths[3], layers[3], 2));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.flatten = new Flatten(1); // torchvision calls torch.flatten; not a child
    this.features = inplanes;
    this.fc = opts.numClasses !== undefined ? this.registerModule('fc', new Linear(this.features, opts.numClasses, ctx)) : null;

    if (opts.zeroInitResidual) {
      for (const layer of [this.layer1, this.layer2, this.layer3, this.layer4]) {
        for (const b of layer.children()) {
          const gamma = (b as BasicBlock | Bottleneck).lastBn.weight!;
          const z = zerosLike(gamma);
          gamma.assign(z);
          z.dispose();
        }
      }
    }
  }

  /** layer4's output [N, features, H', W'] (the map h pools). */
  featureMap(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.inChannels) {
      throw new ShapeError('ResNet', `expected input [N,${this.inChannels},H,W], got ${fmtShape(x.shape)}`);
    }
    let y = this.bn1.forwardRelu(this.conv1.forward(x)); // this.relu stays a child (torchvision's tree)
    if (this.maxpool) y = this.maxpool.forward(y);
    return this.layer4.forward(this.layer3.forward(this.layer2.forward(this.layer1.forward(y))));
  }

  /** h [N, features] (the input of fc). */
  representation(x: Tensor): Tensor {
    return this.flatten.forward(this.avgpool.forward(this.featureMap(x)));
  }

  /** Logits [N, numClasses] with fc, else h [N, features]. */
  forward(x: Tensor): Tensor {
    const h = this.representation(x);
    return this.fc ? this.fc.forward(h) : h;
  }
}

export const resnet18 = (opts: ResNetOptions = {}) => new ResNet(BasicBlock, [2, 2, 2, 2], opts);
export const resnet34 = (opts: ResNetOptions = {}) => new ResNet(BasicBlock, [3, 4, 6, 3], opts);
export const resnet50 = (opts: ResNetOptions = {}) => new ResNet(Bottleneck, [3, 4, 6, 3], opts);

/** The constructors by depth, for configs that name the depth as a number. */
export const RESNET_BY_DEPTH = { 18: resnet18, 34: resnet34, 50: resnet50 } as const;

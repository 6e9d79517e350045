/**
 * The AMDIM encoder (Bachman, Hjelm & Buchwalter 2019, "Learning Representations by Maximizing
 * Mutual Information Across Views"), as the framework's standardized implementation builds it
 * (pl_bolts AMDIMEncoder, default use_bn = False): a convolutional stack with feature maps at
 * several scales and 1x1 "fake RKHS" embeddings of two of them, so AMDIM can compare a global
 * vector with every location of local maps.
 *
 *   layer_list (for 32 px inputs; the 64 px variant has three strided blocks and no 1x1 block)
 *     0  stem: 3x3 conv (bias) + ReLU                                 30x30, ndf
 *     1  ConvResNxN 1x1                                               30x30, ndf
 *     2  ConvResBlock 4x4 / 2, then depth - 1 ConvResNxN 1x1          14x14, 2 ndf
 *     3  ConvResBlock 2x2 / 2                                           7x7, 4 ndf
 *     4  (MaybeBatchNorm2d, off by default: identity)                  7x7  -> r7
 *     5  ConvResBlock 3x3 / 1                                           5x5  -> r5
 *     6  ConvResBlock 3x3 / 1                                           3x3
 *     7  ConvResNxN 3x3 to n_rkhs                                       1x1
 *     8  BatchNorm2d(n_rkhs)                                            1x1  -> r1
 *   rkhs_block_5, rkhs_block_7: 1x1 residual embeddings of r5 and r7 to n_rkhs, each ending in BN.
 *
 * ConvResNxN: conv(width, stride) -> ReLU -> 1x1 conv (zero-initialized, so each block starts as its
 * shortcut) plus a shortcut: average pooling of the same window when the width stays (zero channels
 * appended when it grows), a conv of the same window when it shrinks. `maps(x)` returns r1, r5 and
 * r7 (embedded); `forward(x)` is the representation for evaluation: r1 averaged over its locations
 * (a vector of n_rkhs; r1 is 1x1 at the native size). The reference's MaybeBatchNorm2d modules that
 * are switched off are left out, so their unused parameters are not in the state dict.
 */
import type { Backend } from '../engine/backend.js';
import { ArgumentError, ShapeError, fmtShape } from '../engine/errors.js';
import type { Random } from '../engine/random.js';
import { noGrad, tidy, type Tensor } from '../engine/tensor.js';
import { add, avgPool2d, mean, mul, pad, relu, tensor, zerosLike } from '../engine/ops/index.js';
import { uniform } from './init.js';
import { BatchNorm2d, Conv2d, Identity, Sequential } from './layers.js';
import { Module } from './module.js';

interface Ctx { rng?: Random; backend?: Backend }

function zeroWeight(conv: Conv2d): void {
  noGrad(() => tidy(() => { conv.weight.assign(zerosLike(conv.weight)); }));
}

/** The reference's Conv3x3 with use_bn = False: a conv with bias, then ReLU. */
class StemConv extends Module {
  readonly conv: Conv2d;
  constructor(inC: number, outC: number, kernel: number, ctx: Ctx) {
    super();
    this.conv = this.registerModule('conv', new Conv2d(inC, outC, kernel, { bias: true, init: 'pytorch_default', ...ctx }));
  }
  forward(x: Tensor): Tensor { return relu(this.conv.forward(x)); }
}

/** Residual block: conv(width, stride) -> ReLU -> 1x1 conv, plus the pooled (or convolved) input. */
export class ConvResNxN extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly conv3: Conv2d | null;

  constructor(readonly nIn: number, readonly nOut: number, readonly width: number, readonly stride: number, ctx: Ctx) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(nIn, nOut, width, { stride, bias: false, init: 'pytorch_default', ...ctx }));
    this.conv2 = this.registerModule('conv2', new Conv2d(nOut, nOut, 1, { bias: false, init: 'pytorch_default', ...ctx }));
    zeroWeight(this.conv2);
    this.conv3 = nOut < nIn ? this.registerModule('conv3', new Conv2d(nIn, nOut, width, { stride, bias: true, init: 'pytorch_default', ...ctx })) : null;
  }

  forward(x: Tensor): Tensor {
    const h = this.conv2.forward(relu(this.conv1.forward(x)));
    if (this.conv3) return add(h, this.conv3.forward(x));
    const pooled = this.width === 1 && this.stride === 1 ? x : avgPool2d(x, { kernel: this.width, stride: this.stride });
    return add(h, this.nOut > this.nIn ? pad(pooled, [[0, 0], [0, this.nOut - this.nIn], [0, 0], [0, 0]]) : pooled);
  }
}

/** One ConvResNxN of the given window, then depth - 1 of width 1. */
class ConvResBlock extends Module {
  readonly layer_list: Sequential;
  constructor(nIn: number, nOut: number, width: number, stride: number, depth: number, ctx: Ctx) {
    super();
    const blocks: Module[] = [new ConvResNxN(nIn, nOut, width, stride, ctx)];
    for (let i = 1; i < depth; i++) blocks.push(new ConvResNxN(nOut, nOut, 1, 1, ctx));
    this.layer_list = this.registerModule('layer_list', new Sequential(...blocks));
  }
  forward(x: Tensor): Tensor { return this.layer_list.forward(x); }
}

/** The 1x1 "fake RKHS" embedding: BN(1x1 -> ReLU -> 1x1 (zero-init) + 1x1 shortcut (near identity)). */
export class FakeRkhsConvNet extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly shortcut: Conv2d;
  readonly bn_out: BatchNorm2d;

  constructor(nIn: number, nOut: number, ctx: Ctx) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(nIn, nOut, 1, { bias: false, init: 'pytorch_default', ...ctx }));
    this.conv2 = this.registerModule('conv2', new Conv2d(nOut, nOut, 1, { bias: false, init: 'pytorch_default', ...ctx }));
    zeroWeight(this.conv2);
    this.shortcut = this.registerModule('shortcut', new Conv2d(nIn, nOut, 1, { bias: true, init: 'pytorch_default', ...ctx }));
    if (nOut >= nIn) {
      // as the reference: U(-0.01, 0.01) with ones on the diagonal, so the shortcut starts near the identity
      const eye = new Float32Array(nOut * nIn);
      for (let i = 0; i < nIn; i++) eye[i * nIn + i] = 1;
      noGrad(() => tidy(() => {
        const e = tensor(eye, [nOut, nIn, 1, 1], { backend: ctx.backend });
        const w = uniform([nOut, nIn, 1, 1], -0.01, 0.01, ctx);
        this.shortcut.weight.assign(add(mul(w, add(mul(e, -1), 1)), e));
      }));
    }
    this.bn_out = this.registerModule('bn_out', new BatchNorm2d(nOut, { backend: ctx.backend }));
  }

  forward(x: Tensor): Tensor {
    return this.bn_out.forward(add(this.conv2.forward(relu(this.conv1.forward(x))), this.shortcut.forward(x)));
  }
}

export interface AmdimEncoderOptions {
  /** Input side the architecture is built for: 32 (CIFAR) or 64 (STL-10 crops). */
  encoderSize: 32 | 64;
  /** ndf: the base width of the conv stack. */
  ndf: number;
  /** n_rkhs: the width of the embeddings and of the representation. */
  nRkhs: number;
  /** Blocks per ConvResBlock (the reference's n_depth / conv_block_depth). */
  depth: number;
  inChannels?: number;
  rng?: Random;
  backend?: Backend;
}

/** Where the maps are tapped in layer_list (the same indices for both sizes). */
const R7 = 4, R5 = 5;

export interface AmdimMaps { r1: Tensor; r5: Tensor; r7: Tensor }

export class AmdimEncoder extends Module {
  readonly layer_list: Sequential;
  readonly rkhs_block_5: FakeRkhsConvNet;
  readonly rkhs_block_7: FakeRkhsConvNet;
  /** Width of the representation (n_rkhs). */
  readonly features: number;
  readonly encoderSize: 32 | 64;
  readonly ndf: number;
  readonly depth: number;

  constructor(o: AmdimEncoderOptions) {
    super();
    const { ndf, nRkhs: rkhs, depth } = o;
    for (const [k, v] of [['ndf', ndf], ['nRkhs', rkhs], ['depth', depth]] as const) {
      if (!(Number.isInteger(v) && v > 0)) throw new ArgumentError('AmdimEncoder', `${k} must be a positive integer, got ${v}`);
    }
    if (o.encoderSize !== 32 && o.encoderSize !== 64) throw new ArgumentError('AmdimEncoder', `encoderSize must be 32 or 64, got ${String(o.encoderSize)}`);
    const ctx: Ctx = { rng: o.rng, backend: o.backend };
    const c = o.inChannels ?? 3;
    const w = o.encoderSize === 32 ? [1, 2, 4] : [2, 4, 8]; // widths after the strided blocks, in ndf
    const layers: Module[] = o.encoderSize === 32
      ? [new StemConv(c, ndf, 3, ctx), new ConvResNxN(ndf, ndf, 1, 1, ctx), new ConvResBlock(ndf, 2 * ndf, 4, 2, depth, ctx), new ConvResBlock(2 * ndf, 4 * ndf, 2, 2, depth, ctx)]
      : [new StemConv(c, ndf, 3, ctx), new ConvResBlock(ndf, 2 * ndf, 4, 2, depth, ctx), new ConvResBlock(2 * ndf, 4 * ndf, 4, 2, depth, ctx), new ConvResBlock(4 * ndf, 8 * ndf, 2, 2, depth, ctx)];
    const top = w[2] * ndf;
    layers.push(
      new Identity(),
      new ConvResBlock(top, top, 3, 1, depth, ctx),
      new ConvResBlock(top, top, 3, 1, depth, ctx),
      new ConvResNxN(top, rkhs, 3, 1, ctx),
      new BatchNorm2d(rkhs, { backend: ctx.backend }),
    );
    this.layer_list = this.registerModule('layer_list', new Sequential(...layers));
    this.rkhs_block_5 = this.registerModule('rkhs_block_5', new FakeRkhsConvNet(top, rkhs, ctx));
    this.rkhs_block_7 = this.registerModule('rkhs_block_7', new FakeRkhsConvNet(top, rkhs, ctx));
    this.features = rkhs;
    this.encoderSize = o.encoderSize;
    this.ndf = ndf;
    this.depth = depth;
  }

  private run(x: Tensor, upTo: number): Tensor[] {
    if (x.rank !== 4 || x.shape[2] < this.encoderSize || x.shape[3] < this.encoderSize) {
      throw new ShapeError('AmdimEncoder', `expected images [N, C, >= ${this.encoderSize}, >= ${this.encoderSize}] for the ${this.encoderSize} px encoder, got ${fmtShape(x.shape)}`);
    }
    const acts: Tensor[] = [];
    let y = x;
    const layers = this.layer_list.children();
    for (let i = 0; i <= upTo; i++) { y = layers[i].forward(y); acts.push(y); }
    return acts;
  }

  /** r1 [N, n_rkhs, 1, 1] (global), and the embedded local maps r5 [N, n_rkhs, 5, 5] and r7 [N, n_rkhs, 7, 7] (at the native size). */
  maps(x: Tensor): AmdimMaps {
    const acts = this.run(x, 8);
    return { r1: acts[8], r5: this.rkhs_block_5.forward(acts[R5]), r7: this.rkhs_block_7.forward(acts[R7]) };
  }

  /** The representation: r1 averaged over its locations, [N, n_rkhs]. */
  forward(x: Tensor): Tensor {
    const r1 = this.run(x, 8)[8];
    return mean(r1, [2, 3]);
  }
}

/**
 * Layers with PyTorch's names, layouts and semantics (Linear weight [out, in], Conv2d weight
 * [out, in, kh, kw], BatchNorm buffers running_mean / running_var / num_batches_tracked), so state
 * dicts carry torchvision's keys. Every layer with weights takes an optional seeded `rng` and a
 * `backend`.
 */
import type { Backend } from '../engine/backend.js';
import { ArgumentError, ShapeError, fmtShape } from '../engine/errors.js';
import type { Random } from '../engine/random.js';
import { noGrad, tidy, type Tensor } from '../engine/tensor.js';
import {
  add, addRelu, affine, batchNorm, broadcastTo, cast, conv2d, flatten, full, globalAvgPool2d, layerNorm, matmul, maxPool2d, mean, mul, relu, reshape,
} from '../engine/ops/index.js';
import { Module } from './module.js';
import { defaultBound, kaimingNormal, uniform, constant } from './init.js';

export interface LayerOptions { rng?: Random; backend?: Backend }

function positiveInt(op: string, what: string, v: number): void {
  if (!(Number.isInteger(v) && v > 0)) throw new ArgumentError(op, `${what} must be a positive integer, got ${v}`);
}

type Pair = number | readonly [number, number];

function pair(op: string, what: string, v: Pair, min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!(Array.isArray(v) ? v.length === 2 : typeof v === 'number') || !p.every((x) => Number.isInteger(x) && x >= min)) {
    throw new ArgumentError(op, `${what} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return p;
}

// ---- Linear ------------------------------------------------------------------------------------

export interface LinearOptions extends LayerOptions { bias?: boolean }

/** y = x W^T + b. Initialized as PyTorch does: W, b ~ U(-1/sqrt(in), 1/sqrt(in)). */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions = {}) {
    super();
    if (!(Number.isInteger(inFeatures) && inFeatures > 0 && Number.isInteger(outFeatures) && outFeatures > 0)) {
      throw new ArgumentError('Linear', `feature counts must be positive integers, got ${inFeatures} -> ${outFeatures}`);
    }
    const bound = 1 / Math.sqrt(inFeatures);
    const init = { rng: opts.rng, backend: opts.backend };
    this.weight = this.registerParameter('weight', uniform([outFeatures, inFeatures], -bound, bound, init), 'weight');
    this.bias = opts.bias === false ? null : this.registerParameter('bias', uniform([outFeatures], -bound, bound, init), 'bias');
  }

  forward(x: Tensor): Tensor {
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.inFeatures) {
      throw new ArgumentError('Linear', `expected input [..., ${this.inFeatures}], got ${fmtShape(x.shape)}`);
    }
    const y = matmul(x, this.weight, { transB: true });
    return this.bias ? add(y, this.bias) : y;
  }
}

// ---- Conv2d ------------------------------------------------------------------------------------

export interface Conv2dOptions extends LayerOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  /** Default true, as PyTorch; torchvision's ResNet convs pass false. */
  bias?: boolean;
  /**
   * Weight initialization: 'kaiming_normal_fan_out' (default; torchvision's ResNet init,
   * N(0, 2 / (out * kh * kw))) or 'pytorch_default' (U(-1/sqrt(fan_in), 1/sqrt(fan_in))).
   * The bias, when there is one, is U(-1/sqrt(fan_in), 1/sqrt(fan_in)) either way.
   */
  init?: 'kaiming_normal_fan_out' | 'pytorch_default';
}

/** 2-D convolution over [N, C, H, W] with weight [out, in, kh, kw] (no groups). */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, opts: Conv2dOptions = {}) {
    super();
    positiveInt('Conv2d', 'inChannels', inChannels);
    positiveInt('Conv2d', 'outChannels', outChannels);
    this.kernelSize = pair('Conv2d', 'kernelSize', kernelSize, 1);
    this.stride = pair('Conv2d', 'stride', opts.stride ?? 1, 1);
    this.padding = pair('Conv2d', 'padding', opts.padding ?? 0, 0);
    this.dilation = pair('Conv2d', 'dilation', opts.dilation ?? 1, 1);
    const shape = [outChannels, inChannels, ...this.kernelSize];
    const init = { rng: opts.rng, backend: opts.backend };
    const bound = defaultBound(shape);
    const mode = opts.init ?? 'kaiming_normal_fan_out';
    let w: Tensor;
    if (mode === 'kaiming_normal_fan_out') w = kaimingNormal(shape, { ...init, mode: 'fan_out', nonlinearity: 'relu' });
    else if (mode === 'pytorch_default') w = uniform(shape, -bound, bound, init);
    else throw new ArgumentError('Conv2d', `unknown init '${String(mode)}'`);
    this.weight = this.registerParameter('weight', w, 'weight');
    this.bias = opts.bias === false ? null : this.registerParameter('bias', uniform([outChannels], -bound, bound, init), 'bias');
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.inChannels) {
      throw new ShapeError('Conv2d', `expected input [N,${this.inChannels},H,W], got ${fmtShape(x.shape)}`);
    }
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation });
  }
}

// ---- BatchNorm ---------------------------------------------------------------------------------

export interface BatchNormOptions {
  /** Weight of the new batch statistic in the running averages (default 0.1, as PyTorch). */
  momentum?: number;
  eps?: number;
  /** Learnable gamma ('weight') and beta ('bias'); default true. */
  affine?: boolean;
  /** Keep running_mean / running_var / num_batches_tracked; default true. */
  trackRunningStats?: boolean;
  /**
   * Split batch norm (default 1: plain): in training, the batch is normalized in `splits` groups of
   * N / splits samples (sample n in group n mod splits), each with its own statistics, and the
   * running averages take the mean of the groups' updates. This is the single-device stand-in for
   * MoCo's shuffle-BN (the official MoCo CIFAR-10 demo's SplitBatchNorm); eval mode and the state
   * dict are those of plain batch norm.
   */
  splits?: number;
  backend?: Backend;
}

/**
 * Batch normalization over the channel axis 1. Training mode normalizes with the batch statistics
 * and updates the running averages in place (unbiased variance, as PyTorch); eval mode uses the
 * running statistics. gamma starts at 1 and beta at 0; both have role 'bn'.
 */
abstract class BatchNormBase extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  readonly numBatchesTracked: Tensor | null;
  readonly momentum: number;
  readonly eps: number;
  readonly splits: number;
  /** Training batches seen since num_batches_tracked was last written (it is written lazily). */
  private pendingBatches = 0;

  constructor(private readonly opName: string, readonly numFeatures: number, opts: BatchNormOptions = {}) {
    super();
    positiveInt(opName, 'numFeatures', numFeatures);
    this.splits = opts.splits ?? 1;
    positiveInt(opName, 'splits', this.splits);
    this.momentum = opts.momentum ?? 0.1;
    this.eps = opts.eps ?? 1e-5;
    if (!(this.momentum >= 0 && this.momentum <= 1)) throw new ArgumentError(opName, `momentum must be in [0, 1], got ${this.momentum}`);
    if (!(this.eps > 0)) throw new ArgumentError(opName, `eps must be > 0, got ${this.eps}`);
    const init = { backend: opts.backend };
    const affineOn = opts.affine ?? true;
    this.weight = affineOn ? this.registerParameter('weight', constant([numFeatures], 1, init), 'bn') : null;
    this.bias = affineOn ? this.registerParameter('bias', constant([numFeatures], 0, init), 'bn') : null;
    if (opts.trackRunningStats ?? true) {
      this.runningMean = this.registerBuffer('running_mean', constant([numFeatures], 0, init));
      this.runningVar = this.registerBuffer('running_var', constant([numFeatures], 1, init));
      this.numBatchesTracked = this.registerBuffer('num_batches_tracked', full([], 0, { dtype: 'i32', backend: opts.backend }));
    } else {
      this.runningMean = this.runningVar = this.numBatchesTracked = null;
    }
  }

  protected abstract checkInput(x: Tensor): void;

  forward(x: Tensor): Tensor { return this.normalize(x, false); }

  /** relu(forward(x)), fused into the batch-norm kernels in training mode (one pass forward and backward). */
  forwardRelu(x: Tensor): Tensor { return this.normalize(x, true); }

  /**
   * relu(forward(x) + residual), a residual block's end, fused into the batch-norm kernel in training
   * mode (one pass forward; the normalized tensor is never written).
   */
  forwardAddRelu(x: Tensor, residual: Tensor): Tensor { return this.normalize(x, true, residual); }

  private normalize(x: Tensor, fuseRelu: boolean, residual?: Tensor): Tensor {
    this.checkInput(x);
    if (x.shape[1] !== this.numFeatures) {
      throw new ShapeError(this.opName, `expected ${this.numFeatures} channels on axis 1, got ${fmtShape(x.shape)}`);
    }
    const useBatchStats = this.training || this.runningMean === null;
    // [N, C, L] (BatchNorm1d) runs as [N, C, L, 1].
    const x4 = x.rank === 3 ? reshape(x, [...x.shape, 1]) : x;
    if (useBatchStats && this.splits > 1) {
      // num_batches_tracked is not counted here, as in the reference SplitBatchNorm (F.batch_norm directly)
      const y = reshape(this.splitForward(x4.rank === 2 ? reshape(x4, [...x4.shape, 1, 1]) : x4), x.shape);
      if (residual) return addRelu(y, residual);
      return fuseRelu ? relu(y) : y;
    }
    const y = batchNorm(x4, this.weight, this.bias, {
      training: useBatchStats,
      runningMean: this.runningMean ?? undefined,
      runningVar: this.runningVar ?? undefined,
      momentum: this.momentum,
      eps: this.eps,
      relu: fuseRelu,
      residual: residual && x4 !== x ? reshape(residual, x4.shape) : residual,
    });
    if (this.training && this.numBatchesTracked) this.pendingBatches++;
    return x.rank === 3 ? reshape(y, x.shape) : y;
  }

  /**
   * Split batch norm in training: x [N, C, H, W] viewed as [N / S, S * C, H, W] puts sample n's
   * channel c at channel (n mod S) * C + c, so one batch-norm call normalizes every group apart;
   * gamma, beta and the running statistics are tiled S times going in and averaged coming out.
   */
  private splitForward(x: Tensor): Tensor {
    const [n, c, h, w] = x.shape;
    const s = this.splits;
    if (n % s !== 0) throw new ShapeError(this.opName, `batch ${n} does not divide into ${s} batch-norm splits`);
    const tile = (t: Tensor | null) => (t ? reshape(broadcastTo(reshape(t, [1, c]), [s, c]), [s * c]) : null);
    const rm = this.runningMean ? noGrad(() => tile(this.runningMean)) : null;
    const rv = this.runningVar ? noGrad(() => tile(this.runningVar)) : null;
    const y = tidy(() => batchNorm(reshape(x, [n / s, s * c, h, w]), tile(this.weight), tile(this.bias), {
      training: true, runningMean: rm ?? undefined, runningVar: rv ?? undefined, momentum: this.momentum, eps: this.eps,
    }));
    noGrad(() => tidy(() => {
      if (rm) this.runningMean!.assign(mean(reshape(rm, [s, c]), 0));
      if (rv) this.runningVar!.assign(mean(reshape(rv, [s, c]), 0));
    }));
    rm?.dispose(); rv?.dispose();
    return y;
  }

  /** Writes the batch count into num_batches_tracked (through f32: exact up to 2^24 batches). */
  protected override syncState(): void {
    const t = this.numBatchesTracked;
    if (!t || this.pendingBatches === 0 || t.isDisposed) return;
    const n = this.pendingBatches;
    this.pendingBatches = 0;
    noGrad(() => tidy(() => { t.assign(cast(affine(cast(t, 'f32'), 1, n), 'i32')); }));
  }
}

/** BatchNorm over [N, C] or [N, C, L] (PyTorch's BatchNorm1d). */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) { super('BatchNorm1d', numFeatures, opts); }
  protected checkInput(x: Tensor): void {
    if (x.rank !== 2 && x.rank !== 3) throw new ShapeError('BatchNorm1d', `expected input [N,${this.numFeatures}] or [N,${this.numFeatures},L], got ${fmtShape(x.shape)}`);
  }
}

/** BatchNorm over [N, C, H, W]. */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) { super('BatchNorm2d', numFeatures, opts); }
  protected checkInput(x: Tensor): void {
    if (x.rank !== 4) throw new ShapeError('BatchNorm2d', `expected input [N,${this.numFeatures},H,W], got ${fmtShape(x.shape)}`);
  }
}

// ---- LayerNorm2d -------------------------------------------------------------------------------

export interface LayerNorm2dOptions { eps?: number; backend?: Backend }

/**
 * Layer normalization of each sample over all its channels and positions (engine/ops/layernorm.ts),
 * then a per-channel gamma ('weight', 1) and beta ('bias', 0), both role 'bn': PyTorch's
 * GroupNorm(1, C). CPC v2 uses it in place of batch norm; it has no running statistics, so train and
 * eval mode compute the same thing and one sample never sees another.
 */
export class LayerNorm2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly eps: number;

  constructor(readonly numFeatures: number, opts: LayerNorm2dOptions = {}) {
    super();
    positiveInt('LayerNorm2d', 'numFeatures', numFeatures);
    this.eps = opts.eps ?? 1e-5;
    if (!(this.eps > 0)) throw new ArgumentError('LayerNorm2d', `eps must be > 0, got ${this.eps}`);
    this.weight = this.registerParameter('weight', constant([numFeatures], 1, { backend: opts.backend }), 'bn');
    this.bias = this.registerParameter('bias', constant([numFeatures], 0, { backend: opts.backend }), 'bn');
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.numFeatures) {
      throw new ShapeError('LayerNorm2d', `expected input [N,${this.numFeatures},H,W], got ${fmtShape(x.shape)}`);
    }
    const c = [1, this.numFeatures, 1, 1];
    return add(mul(layerNorm(x, this.eps), reshape(this.weight, c)), reshape(this.bias, c));
  }

  /** relu(forward(x)): the same call as batch norm's fused BN + ReLU, so ResNet blocks take either. */
  forwardRelu(x: Tensor): Tensor { return relu(this.forward(x)); }

  /** relu(forward(x) + residual), as batch norm's fused form. */
  forwardAddRelu(x: Tensor, residual: Tensor): Tensor { return addRelu(this.forward(x), residual); }
}

// ---- parameter-free layers ---------------------------------------------------------------------

export class ReLU extends Module {
  forward(x: Tensor): Tensor { return relu(x); }
}

export class Identity extends Module {
  forward(x: Tensor): Tensor { return x; }
}

export interface MaxPool2dOptions { stride?: Pair; padding?: Pair }

/** Max pooling; the stride defaults to the kernel size, as in PyTorch. */
export class MaxPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  constructor(kernelSize: Pair, opts: MaxPool2dOptions = {}) {
    super();
    this.kernelSize = pair('MaxPool2d', 'kernelSize', kernelSize, 1);
    this.stride = pair('MaxPool2d', 'stride', opts.stride ?? this.kernelSize, 1);
    this.padding = pair('MaxPool2d', 'padding', opts.padding ?? 0, 0);
    if (this.padding[0] * 2 > this.kernelSize[0] || this.padding[1] * 2 > this.kernelSize[1]) {
      throw new ArgumentError('MaxPool2d', `padding ${fmtShape(this.padding)} must be at most half the kernel ${fmtShape(this.kernelSize)}`);
    }
  }
  forward(x: Tensor): Tensor {
    if (x.rank !== 4) throw new ShapeError('MaxPool2d', `expected input [N,C,H,W], got ${fmtShape(x.shape)}`);
    return maxPool2d(x, { kernel: this.kernelSize, stride: this.stride, padding: this.padding });
  }
}

/** Adaptive average pooling; only output size 1 (global average pooling) is supported. */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair = 1) {
    super();
    const ok = typeof outputSize === 'number' ? outputSize === 1 : Array.isArray(outputSize) && outputSize.length === 2 && outputSize[0] === 1 && outputSize[1] === 1;
    if (!ok) throw new ArgumentError('AdaptiveAvgPool2d', `only output size 1 (global average pooling) is supported, got ${JSON.stringify(outputSize)}`);
  }
  forward(x: Tensor): Tensor {
    if (x.rank !== 4) throw new ShapeError('AdaptiveAvgPool2d', `expected input [N,C,H,W], got ${fmtShape(x.shape)}`);
    return globalAvgPool2d(x);
  }
}

/** Merges axes startDim..endDim (default 1..-1): [N, C, 1, 1] -> [N, C]. */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) { super(); }
  forward(x: Tensor): Tensor { return flatten(x, this.startDim, this.endDim); }
}

/** Runs children in order; children are named "0", "1", ... as in PyTorch. */
export class Sequential extends Module {
  private readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }
  get length(): number { return this.layers.length; }
  /** The i-th layer (negative counts from the end). */
  at(i: number): Module {
    const m = this.layers[i < 0 ? this.layers.length + i : i];
    if (!m) throw new ArgumentError('Sequential', `index ${i} out of range for ${this.layers.length} layers`);
    return m;
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.layers) y = m.forward(y);
    return y;
  }
}

/**
 * SimCLR's projection head g(h) (google-research/simclr, tf2/model.py ProjectionHead with
 * proj_head_mode 'nonlinear'): `numLayers` dense layers, each followed by batch norm; every layer
 * but the last ends with a ReLU. As in the official LinearLayer, a dense layer followed by BN has
 * no bias (BN's beta takes its place), and the last BN has no beta (center=False), so the output
 * has no learnable shift. Dense kernels start from N(0, 0.01^2) (the official initializer).
 *
 *   SimCLR v1: numLayers 2: Linear(d, d) - BN - ReLU - Linear(d, 128) [- BN without beta]
 *   SimCLR v2: numLayers 3 (default): [Linear - BN - ReLU] x 2 - Linear(d, 128) - BN without beta
 *
 * With `batchNorm: false` the dense layers carry biases instead, except the last one (the
 * official use_bias=False for the final layer). The other methods' MLPs are the same class:
 *   MoCo v2 head: numLayers 2, batchNorm false, lastBias true: Linear - ReLU - Linear (biases);
 *   BYOL projector and predictor: numLayers 2, batchNorm 'hidden': Linear - BN - ReLU - Linear
 *   (the last with a bias, no BN after it). `hiddens(h)` returns every layer's output too, for
 * fine-tuning from a middle layer (the official ft_proj_selector).
 */
import type { Backend } from '../engine/backend.js';
import { ArgumentError, ShapeError, fmtShape } from '../engine/errors.js';
import type { Random } from '../engine/random.js';
import { noGrad, tidy, type Tensor } from '../engine/tensor.js';
import { affine, batchNorm, cast, full } from '../engine/ops/index.js';
import { Module } from '../nn/module.js';
import { BatchNorm1d, Linear, ReLU } from '../nn/layers.js';
import { constant, normal } from '../nn/init.js';

export interface BatchNormNoBetaOptions { momentum?: number; eps?: number; backend?: Backend }

/**
 * BatchNorm over [N, C] with a learnable gamma ('weight', role 'bn') and no beta: the official
 * BN with center=False. Running statistics and num_batches_tracked as BatchNorm1d (PyTorch
 * semantics), so state dicts read like torch's BatchNorm1d with the bias entry left out.
 */
export class BatchNorm1dNoBeta extends Module {
  readonly weight: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly numBatchesTracked: Tensor;
  readonly momentum: number;
  readonly eps: number;
  private pendingBatches = 0;

  constructor(readonly numFeatures: number, opts: BatchNormNoBetaOptions = {}) {
    super();
    if (!(Number.isInteger(numFeatures) && numFeatures > 0)) throw new ArgumentError('BatchNorm1dNoBeta', `numFeatures must be a positive integer, got ${numFeatures}`);
    this.momentum = opts.momentum ?? 0.1;
    this.eps = opts.eps ?? 1e-5;
    if (!(this.momentum >= 0 && this.momentum <= 1)) throw new ArgumentError('BatchNorm1dNoBeta', `momentum must be in [0, 1], got ${this.momentum}`);
    if (!(this.eps > 0)) throw new ArgumentError('BatchNorm1dNoBeta', `eps must be > 0, got ${this.eps}`);
    const init = { backend: opts.backend };
    this.weight = this.registerParameter('weight', constant([numFeatures], 1, init), 'bn');
    this.runningMean = this.registerBuffer('running_mean', constant([numFeatures], 0, init));
    this.runningVar = this.registerBuffer('running_var', constant([numFeatures], 1, init));
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', full([], 0, { dtype: 'i32', backend: opts.backend }));
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.numFeatures) {
      throw new ShapeError('BatchNorm1dNoBeta', `expected input [N,${this.numFeatures}], got ${fmtShape(x.shape)}`);
    }
    const y = batchNorm(x, this.weight, null, {
      training: this.training, runningMean: this.runningMean, runningVar: this.runningVar, momentum: this.momentum, eps: this.eps,
    });
    if (this.training) this.pendingBatches++;
    return y;
  }

  protected override syncState(): void {
    const t = this.numBatchesTracked;
    if (this.pendingBatches === 0 || t.isDisposed) return;
    const n = this.pendingBatches;
    this.pendingBatches = 0;
    noGrad(() => tidy(() => { t.assign(cast(affine(cast(t, 'f32'), 1, n), 'i32')); }));
  }
}

export interface ProjectionHeadOptions {
  /** Dense layers; default 3 (SimCLR v2); 2 is SimCLR v1. */
  numLayers?: number;
  /** Width of the hidden layers (one number for all, or one per hidden layer); default inDim. */
  hiddenDims?: number | readonly number[];
  /** Output width; default 128. */
  outDim?: number;
  /** Batch norm after every dense layer (true, default), after the hidden ones only ('hidden'), or none (false). */
  batchNorm?: boolean | 'hidden';
  /** A bias on the last dense layer (default: true with batchNorm 'hidden', else false, as the official SimCLR). */
  lastBias?: boolean;
  /** Standard deviation of the dense kernels' normal init (default 0.01, the official SimCLR one; null: PyTorch's Linear default). */
  initStd?: number | null;
  bnMomentum?: number;
  bnEps?: number;
  rng?: Random;
  backend?: Backend;
}

/** The projection head: z = g(h). Children are named '0', '1', ... in layer order. */
export class ProjectionHead extends Module {
  readonly numLayers: number;
  readonly dims: readonly number[];
  readonly batchNorm: boolean | 'hidden';
  /** One group per dense layer: [linear, bn?, relu?]. */
  private readonly groups: Module[][] = [];

  constructor(readonly inDim: number, opts: ProjectionHeadOptions = {}) {
    super();
    const pos = (what: string, v: number) => {
      if (!(Number.isInteger(v) && v > 0)) throw new ArgumentError('ProjectionHead', `${what} must be a positive integer, got ${v}`);
    };
    pos('inDim', inDim);
    this.numLayers = opts.numLayers ?? 3;
    pos('numLayers', this.numLayers);
    const outDim = opts.outDim ?? 128;
    pos('outDim', outDim);
    const hidden = opts.hiddenDims ?? inDim;
    const nHidden = this.numLayers - 1;
    const hs = typeof hidden === 'number' ? Array<number>(nHidden).fill(hidden) : [...hidden];
    if (hs.length !== nHidden) throw new ArgumentError('ProjectionHead', `hiddenDims needs ${nHidden} widths for ${this.numLayers} layers, got ${hs.length}`);
    hs.forEach((h, i) => pos(`hiddenDims[${i}]`, h));
    this.dims = [inDim, ...hs, outDim];
    this.batchNorm = opts.batchNorm ?? true;
    if (this.batchNorm !== true && this.batchNorm !== false && this.batchNorm !== 'hidden') {
      throw new ArgumentError('ProjectionHead', `batchNorm must be true, false or 'hidden', got ${String(this.batchNorm)}`);
    }
    const lastBias = opts.lastBias ?? this.batchNorm === 'hidden';
    // null keeps Linear's PyTorch default (what the MoCo and BYOL reference code use)
    const std = opts.initStd === undefined ? 0.01 : opts.initStd;
    if (std !== null && !(std >= 0)) throw new ArgumentError('ProjectionHead', `initStd must be >= 0 or null, got ${std}`);
    const { rng, backend } = opts;
    let idx = 0;
    for (let j = 0; j < this.numLayers; j++) {
      const last = j === this.numLayers - 1;
      const [din, dout] = [this.dims[j], this.dims[j + 1]];
      const bnAfter = this.batchNorm === true || (this.batchNorm === 'hidden' && !last);
      const linear = new Linear(din, dout, { rng, backend, bias: last ? lastBias : !bnAfter });
      if (std !== null) noGrad(() => tidy(() => { linear.weight.assign(normal([dout, din], 0, std, { rng, backend })); }));
      const group: Module[] = [this.registerModule(String(idx++), linear)];
      if (bnAfter) {
        const bnOpts = { momentum: opts.bnMomentum, eps: opts.bnEps, backend };
        group.push(this.registerModule(String(idx++), last ? new BatchNorm1dNoBeta(dout, bnOpts) : new BatchNorm1d(dout, bnOpts)));
      }
      if (!last) group.push(this.registerModule(String(idx++), new ReLU()));
      this.groups.push(group);
    }
  }

  forward(h: Tensor): Tensor {
    const out = this.hiddens(h);
    return out[out.length - 1];
  }

  /** [h, output of layer 1, ..., z]: every dense layer's output after its BN and ReLU. */
  hiddens(h: Tensor): Tensor[] {
    if (h.rank !== 2 || h.shape[1] !== this.inDim) throw new ShapeError('ProjectionHead', `expected h [N,${this.inDim}], got ${fmtShape(h.shape)}`);
    const out = [h];
    for (const group of this.groups) {
      let y = out[out.length - 1];
      for (const m of group) y = m.call(y);
      out.push(y);
    }
    return out;
  }
}

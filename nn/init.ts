/**
 * Weight initialization with PyTorch's formulas (torch.nn.init), drawn from a seeded Random on the
 * host: the same seed gives the same weights on every backend. Each function returns a new f32
 * tensor of `shape`.
 */
import type { Backend } from '../engine/backend.js';
import { ArgumentError, fmtShape } from '../engine/errors.js';
import type { Random } from '../engine/random.js';
import type { Tensor } from '../engine/tensor.js';
import { full, rand, randn } from '../engine/ops/index.js';

export interface InitOptions { rng?: Random; backend?: Backend }

export type Nonlinearity = 'linear' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu';
export type FanMode = 'fan_in' | 'fan_out';

/**
 * fan_in and fan_out as PyTorch computes them: for a weight [out, in, ...kernel], fan_in is
 * in * prod(kernel) and fan_out is out * prod(kernel). Needs rank >= 2.
 */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new ArgumentError('init', `fan in and fan out need a weight of rank >= 2, got ${fmtShape(shape)}`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/** The recommended gain for a nonlinearity (torch.nn.init.calculate_gain). */
export function calculateGain(nonlinearity: Nonlinearity, negativeSlope = 0.01): number {
  switch (nonlinearity) {
    case 'linear': case 'conv2d': case 'sigmoid': return 1;
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': return Math.sqrt(2 / (1 + negativeSlope * negativeSlope));
    default: throw new ArgumentError('init', `unknown nonlinearity '${String(nonlinearity)}'`);
  }
}

export interface KaimingOptions extends InitOptions {
  /** 'fan_in' (default, preserves forward variance) or 'fan_out' (backward; torchvision's ResNet). */
  mode?: FanMode;
  /** Default 'relu'. */
  nonlinearity?: Nonlinearity;
  /** Negative slope for 'leaky_relu'. */
  a?: number;
}

function kaimingStd(shape: readonly number[], opts: KaimingOptions): number {
  const { fanIn, fanOut } = fans(shape);
  const fan = (opts.mode ?? 'fan_in') === 'fan_in' ? fanIn : fanOut;
  if (opts.mode !== undefined && opts.mode !== 'fan_in' && opts.mode !== 'fan_out') {
    throw new ArgumentError('init', `mode must be 'fan_in' or 'fan_out', got '${String(opts.mode)}'`);
  }
  if (fan === 0) throw new ArgumentError('init', `zero fan for weight ${fmtShape(shape)}`);
  return calculateGain(opts.nonlinearity ?? 'relu', opts.a ?? 0) / Math.sqrt(fan);
}

/** N(0, std^2) with std = gain / sqrt(fan) (torch.nn.init.kaiming_normal_). */
export function kaimingNormal(shape: readonly number[], opts: KaimingOptions = {}): Tensor {
  return randn(shape, { std: kaimingStd(shape, opts), rng: opts.rng, backend: opts.backend });
}

/** U(-b, b) with b = gain * sqrt(3 / fan) (torch.nn.init.kaiming_uniform_). */
export function kaimingUniform(shape: readonly number[], opts: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(shape, opts);
  return uniform(shape, -bound, bound, opts);
}

/** U(low, high). */
export function uniform(shape: readonly number[], low: number, high: number, opts: InitOptions = {}): Tensor {
  return rand(shape, { low, high, rng: opts.rng, backend: opts.backend });
}

/** N(mean, std^2). */
export function normal(shape: readonly number[], mean: number, std: number, opts: InitOptions = {}): Tensor {
  return randn(shape, { mean, std, rng: opts.rng, backend: opts.backend });
}

/** A constant tensor (BN gamma 1, beta 0). */
export function constant(shape: readonly number[], value: number, opts: InitOptions = {}): Tensor {
  return full(shape, value, { backend: opts.backend });
}

/**
 * PyTorch's default for Linear and Conv2d (kaiming_uniform_ with a = sqrt(5) for the weight, which
 * is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias).
 */
export function defaultBound(weightShape: readonly number[]): number {
  const { fanIn } = fans(weightShape);
  return fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
}

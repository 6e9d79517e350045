/**
 * Softmax family: primitive logSoftmax (shaders/log_softmax.wgsl, one invocation per row with an
 * online max and sum of exp), primitive oneHot (shaders/one_hot.wgsl, not differentiable), and
 * composites softmax, logsumexp and crossEntropy.
 */
import { ArgumentError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import { normAxes, normAxis, reducedShape, sizeOf } from '../shape.js';
import { Tensor, noGrad, tidy } from '../tensor.js';
import { grid, u32 } from '../webgpu/backend.js';
import { add, exp, log, mul, neg, sub } from './elementwise.js';
import { reshape } from './movement.js';
import { max, mean, sum } from './reduce.js';
import { defineComposite, defineOp, requireF32, runOp } from './registry.js';

export interface AxisAttrs { readonly axis: number }

/** x as [outer, R, inner] around `axis`. */
function around(shape: readonly number[], axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis], sizeOf(shape.slice(axis + 1))];
}

export const LogSoftmaxOp = defineOp<AxisAttrs>({
  name: 'logSoftmax',
  shape([x]) { requireF32('logSoftmax', x); return { shape: x.shape, dtype: 'f32' }; },
  cpu(_b, [x], { axis }) {
    const [outer, r, inner] = around(x.shape, axis);
    const out = new Float64Array(x.data.length);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * r * inner + i;
        let m = -Infinity, s = 0;
        for (let k = 0; k < r; k++) m = Math.max(m, x.data[base + k * inner]);
        for (let k = 0; k < r; k++) s += Math.exp(x.data[base + k * inner] - m);
        const lse = m + Math.log(s);
        for (let k = 0; k < r; k++) out[base + k * inner] = x.data[base + k * inner] - lse;
      }
    }
    return out;
  },
  webgpu(gpu, [x], { axis }) {
    const [outer, r, inner] = around(x.shape, axis);
    const out = gpu.alloc(x.size);
    const n = r === 0 ? 0 : outer * inner;
    gpu.run({ shader: 'log_softmax', inputs: [x.storage], outputs: [out], params: [u32(n), u32(r), u32(inner)], workgroups: grid(Math.ceil(n / 256)) });
    return out;
  },
  // d/dx: g - softmax(x) * sum(g) along the axis.
  backward(g, ctx) {
    const { axis } = ctx.attrs;
    return [tidy(() => sub(g, mul(exp(ctx.output!), sum(g, axis, true))))];
  },
  saves: { output: true },
});

/** log(softmax(x)) along `axis`, computed stably in one kernel. */
export const logSoftmax = (x: Tensor, axis = -1) => runOp(LogSoftmaxOp, [x], { axis: normAxis('logSoftmax', axis, x.rank) });

/** exp(logSoftmax(x)) along `axis`. */
export const softmax = defineComposite('softmax', true, (x: Tensor, axis = -1): Tensor => tidy(() => exp(logSoftmax(x, axis))));

/** log(sum(exp(x))) over `axes` (default: all), stable: the max is subtracted first (and detached). */
export const logsumexp = defineComposite('logsumexp', true, (x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor => {
  const ax = normAxes('logsumexp', axes, x.rank);
  return tidy(() => {
    const m = noGrad(() => max(x, ax, true));
    const r = add(log(sum(exp(sub(x, m)), ax, true)), m);
    return keepDims ? r : reshape(r, reducedShape(x.shape, ax, false));
  });
});

export interface OneHotAttrs { readonly numClasses: number }

/**
 * f32 one-hot rows [...labels.shape, numClasses] from i32 labels. Labels outside [0, numClasses)
 * give an all-zero row, on every backend.
 */
export const OneHotOp = defineOp<OneHotAttrs>({
  name: 'oneHot',
  shape([l], { numClasses }) {
    if (l.dtype !== 'i32') throw new DTypeError('oneHot', `labels must be i32, got ${fmtShape(l.shape)} ${l.dtype}`, l.dtype);
    return { shape: [...l.shape, numClasses], dtype: 'f32' };
  },
  cpu(_b, [l], { numClasses: c }) {
    const out = new Float64Array(l.data.length * c);
    l.data.forEach((v, j) => { if (v >= 0 && v < c) out[j * c + v] = 1; });
    return out;
  },
  webgpu(gpu, [l], { numClasses: c }) {
    const n = l.size * c;
    const out = gpu.alloc(n);
    gpu.run({ shader: 'one_hot', inputs: [l.storage], outputs: [out], params: [u32(n), u32(c)], workgroups: grid(Math.ceil(n / 256)) });
    return out;
  },
});

export function oneHot(labels: Tensor, numClasses: number): Tensor {
  if (!Number.isInteger(numClasses) || numClasses < 0) throw new ArgumentError('oneHot', `numClasses must be a non-negative integer, got ${numClasses}`);
  return runOp(OneHotOp, [labels], { numClasses });
}

export interface CrossEntropyOptions { reduction?: 'mean' | 'sum' | 'none' }

/**
 * Softmax cross-entropy of logits [N,C] against i32 class labels [N]: -logSoftmax(logits)[n, label].
 * A label outside [0, C) selects nothing (its one-hot row is zero): that sample's loss and gradient
 * are 0, and 'mean' still divides by N. reduction: 'mean' (default) and 'sum' give a scalar, 'none' [N].
 */
export const crossEntropy = defineComposite('crossEntropy', true, (logits: Tensor, labels: Tensor, opts: CrossEntropyOptions = {}): Tensor => {
  if (logits.rank !== 2 || logits.dtype !== 'f32') {
    throw new ShapeError('crossEntropy', `logits must be f32 of shape [N,C], got ${fmtShape(logits.shape)} ${logits.dtype}`);
  }
  const [n, c] = logits.shape;
  if (labels.dtype !== 'i32' || labels.rank !== 1 || labels.shape[0] !== n) {
    throw new ShapeError('crossEntropy', `labels must be i32 of shape [${n}] for logits ${fmtShape(logits.shape)}, got ${fmtShape(labels.shape)} ${labels.dtype}`);
  }
  const reduction = opts.reduction ?? 'mean';
  if (!['mean', 'sum', 'none'].includes(reduction)) throw new ArgumentError('crossEntropy', `reduction must be 'mean', 'sum' or 'none', got ${String(reduction)}`);
  return tidy(() => {
    const losses = neg(sum(mul(logSoftmax(logits, 1), oneHot(labels, c)), 1));
    return reduction === 'none' ? losses : reduction === 'sum' ? sum(losses) : mean(losses);
  });
});

/**
 * Batch normalization over [N,C] and [N,C,H,W] (statistics per channel over N, H and W).
 *
 * - `batchNormTrain` (primitive): normalizes with the batch mean and biased variance, times gamma plus
 *   beta (both optional), optionally plus a residual input and then a ReLU, in the same pass.
 *   Auxiliary outputs [C]: mean, inverse std 1/sqrt(var + eps), biased var; with `momentum`, the
 *   running mean and variance (two more inputs) updated as PyTorch does, two more outputs, computed
 *   in the merge pass. WebGPU: three dispatches. batch_norm_stats.wgsl splits each channel's M = N*H*W values into
 *   chunks (so 64 channels of 32768 values still give ~8192 invocations) and computes each chunk's
 *   mean and sum of squared deviations in one pass, from sums shifted by the chunk's first value;
 *   batch_norm_merge.wgsl merges the chunks per channel (Chan et al.), never forming
 *   E[x^2] - E[x]^2; batch_norm_apply.wgsl normalizes.
 * - `batchNormBackward` (primitive, not differentiable; only batchNormTrain's backward rule uses it):
 *   from x, g, mean and invstd, one chunked reduction pass for sum(g) and sum(g * xhat) per channel
 *   (+ a tiny merge pass), which are dbeta and dgamma, then one elementwise pass for dx.
 * - `batchNorm` (composite): the API. Training mode runs batchNormTrain and updates the running
 *   buffers in place (PyTorch semantics: unbiased variance, momentum weight on the batch statistic);
 *   evaluation mode runs `batchNormApply` with the running statistics.
 * - `batchNormApply` (primitive): y = (x - mean[c]) * invstd[c] * gamma[c] + beta[c] for given
 *   statistics, one pass (batch_norm_apply.wgsl, the kernel batchNormTrain normalizes with); its
 *   backward is composed of other ops (dx is batchNormApply of g with mean 0, one pass).
 */
import { ArgumentError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import { sizeOf } from '../shape.js';
import { Tensor, noGrad, tidy } from '../tensor.js';
import { f32, grid, u32, type GpuStorage, type WebGpuBackend } from '../webgpu/backend.js';
import { affine, mul, neg, reluBackward, rsqrt } from './elementwise.js';
import { ones, zeros } from './creation.js';
import { sum } from './reduce.js';
import { defineComposite, defineOp, runOp, runOpAux, type TensorMeta } from './registry.js';

export interface BatchNormTrainAttrs {
  readonly eps: number;
  readonly hasGamma: boolean;
  readonly hasBeta: boolean;
  /** Output max(y, 0): batch norm and the ReLU after it in one pass (and one backward). */
  readonly relu?: boolean;
  /**
   * A last input r of x's shape is added before the ReLU: a ResNet block's bn2(conv2) + shortcut and
   * ReLU in one pass (the normalized tensor never written).
   */
  readonly residual?: boolean;
  /**
   * The running statistics' update: the last two inputs are the running mean and variance [C],
   * and two more auxiliary outputs are (1 - momentum) * running + momentum * the batch statistic
   * (the variance unbiased, M / (M - 1)).
   */
  readonly momentum?: number;
}

export interface BatchNormBackwardAttrs {
  readonly hasGamma: boolean;
  /**
   * The forward was fused with a ReLU: g is masked first by (x - mean) * invstd * gamma + beta > 0,
   * the forward's pre-ReLU value recomputed from x (beta, when hasBeta, is the last input).
   */
  readonly relu?: boolean;
  readonly hasBeta?: boolean;
}

/** Split a channel's reduction when it is longer than this and channels alone give < TARGET invocations. */
const SPLIT_MIN_M = 1024, TARGET_INVOCATIONS = 8192, MIN_CHUNK = 128;
/**
 * Values per invocation of the elementwise passes (along a row of S = H*W). On lavapipe 32 beats 8
 * (which spends a channel lookup and an index split on two vec4s), 16 and 64: A/B on
 * [512, 16|32|128, *, *] with ReLU, forward 15-20 % and backward 10-15 % faster than 8.
 */
const PART = 32;

/** x as [N, C, S] (S = H*W, or 1 for [N,C]). */
function dims(shape: readonly number[]): [number, number, number] {
  return [shape[0], shape[1], sizeOf(shape.slice(2))];
}

function checkX(op: string, x: TensorMeta): void {
  if (x.shape.length !== 2 && x.shape.length !== 4) {
    throw new ShapeError(op, `expected x of shape [N,C] or [N,C,H,W], got ${fmtShape(x.shape)}`);
  }
  if (x.dtype !== 'f32') throw new DTypeError(op, `expected f32 x, got ${x.dtype} ${fmtShape(x.shape)}`, x.dtype);
}

/** A tensor that must be f32 of x's shape (the residual, the output gradient). */
function checkLikeX(op: string, what: string, t: TensorMeta, x: TensorMeta): void {
  if (t.shape.length !== x.shape.length || t.shape.some((d, i) => d !== x.shape[i]) || t.dtype !== 'f32') {
    throw new ShapeError(op, `${what} must be f32 of x's shape ${fmtShape(x.shape)}, got ${fmtShape(t.shape)} ${t.dtype}`);
  }
}

function checkChannelParam(op: string, what: string, p: TensorMeta, x: TensorMeta): void {
  const c = x.shape[1];
  if (p.shape.length !== 1 || p.shape[0] !== c) {
    throw new ShapeError(op, `${what} must have shape [${c}] for x ${fmtShape(x.shape)}, got ${fmtShape(p.shape)}`);
  }
  if (p.dtype !== 'f32') throw new DTypeError(op, `${what} must be f32, got ${p.dtype} ${fmtShape(p.shape)}`, p.dtype);
}

/**
 * Chunks per channel (K), chunk length and entry point for a per-channel reduction of m = N*S values
 * over c channels: with S a multiple of 4 the chunks are too, and the `main4` entries read vec4s.
 */
function chunking(m: number, c: number, s: number): { k: number; chunk: number; entry: 'main' | 'main4' } {
  let k = 1;
  if (m > SPLIT_MIN_M && c < TARGET_INVOCATIONS) k = Math.min(Math.ceil(m / MIN_CHUNK), Math.ceil(TARGET_INVOCATIONS / c));
  const vec4 = s % 4 === 0;
  const chunk = vec4 ? Math.max(4, Math.ceil(m / k / 4) * 4) : Math.max(1, Math.ceil(m / k));
  return { k: Math.max(1, Math.ceil(m / chunk)), chunk, entry: vec4 ? 'main4' : 'main' };
}

/** Per-channel walk over x [N, C, S]: fn(channel, flat index). */
function forChannel(n: number, c: number, s: number, ch: number, fn: (i: number) => void): void {
  for (let i = 0; i < n; i++) {
    const base = (i * c + ch) * s;
    for (let j = 0; j < s; j++) fn(base + j);
  }
}

// ---- batchNormTrain ------------------------------------------------------------------------------

/** Where batchNormTrain's residual input sits: after x, gamma and beta (the running statistics follow it). */
function residualAt(a: BatchNormTrainAttrs): number { return 1 + (a.hasGamma ? 1 : 0) + (a.hasBeta ? 1 : 0); }

export const BatchNormTrainOp = defineOp<BatchNormTrainAttrs>({
  name: 'batchNormTrain',
  shape(inputs, a) {
    const [x] = inputs;
    checkX('batchNormTrain', x);
    const r = residualAt(a);
    const want = r + (a.residual ? 1 : 0) + (a.momentum !== undefined ? 2 : 0);
    if (inputs.length !== want) throw new ArgumentError('batchNormTrain', `expected ${want} inputs, got ${inputs.length}`);
    if (a.hasGamma) checkChannelParam('batchNormTrain', 'gamma', inputs[1], x);
    if (a.hasBeta) checkChannelParam('batchNormTrain', 'beta', inputs[a.hasGamma ? 2 : 1], x);
    if (a.residual) checkLikeX('batchNormTrain', 'the residual', inputs[r], x);
    if (a.momentum !== undefined) {
      if (!(a.momentum >= 0 && a.momentum <= 1)) throw new ArgumentError('batchNormTrain', `momentum must be in [0, 1], got ${a.momentum}`);
      checkChannelParam('batchNormTrain', 'runningMean', inputs[want - 2], x);
      checkChannelParam('batchNormTrain', 'runningVar', inputs[want - 1], x);
    }
    const [n, , s] = dims(x.shape);
    if (n * s === 0) throw new ShapeError('batchNormTrain', `cannot take batch statistics of an empty batch ${fmtShape(x.shape)}`);
    return { shape: x.shape, dtype: 'f32' };
  },
  aux([x], a) {
    const c: TensorMeta = { shape: [x.shape[1]], dtype: 'f32' };
    return a.momentum !== undefined ? [c, c, c, c, c] : [c, c, c];
  },
  cpu(_b, inputs, a) {
    const x = inputs[0];
    const gamma = a.hasGamma ? inputs[1].data : null;
    const beta = a.hasBeta ? inputs[a.hasGamma ? 2 : 1].data : null;
    const r = a.residual ? inputs[residualAt(a)].data : null;
    const [n, c, s] = dims(x.shape);
    const m = n * s;
    const y = new Float64Array(x.data.length);
    const mean = new Float64Array(c), invstd = new Float64Array(c), vars = new Float64Array(c);
    for (let ch = 0; ch < c; ch++) {
      let sum = 0;
      forChannel(n, c, s, ch, (i) => { sum += x.data[i]; });
      const mu = sum / m;
      let m2 = 0;
      forChannel(n, c, s, ch, (i) => { m2 += (x.data[i] - mu) ** 2; });
      const v = m2 / m;
      const is = 1 / Math.sqrt(v + a.eps);
      const sc = is * (gamma ? gamma[ch] : 1), sh = beta ? beta[ch] : 0;
      forChannel(n, c, s, ch, (i) => {
        y[i] = (x.data[i] - mu) * sc + sh + (r ? r[i] : 0);
        if (a.relu) y[i] = Math.max(y[i], 0);
      });
      mean[ch] = mu; invstd[ch] = is; vars[ch] = v;
    }
    if (a.momentum === undefined) return { out: y, aux: [mean, invstd, vars] };
    // as emaUpdate's reference computes it
    const keep = Math.fround(1 - a.momentum), unbias = Math.fround(m / (m - 1));
    const [rm, rv] = inputs.slice(-2).map((t) => t.data);
    const rmNext = rm.map((v, ch) => keep * v + (1 - keep) * mean[ch]);
    const rvNext = rv.map((v, ch) => keep * v + (1 - keep) * vars[ch] * unbias);
    return { out: y, aux: [mean, invstd, vars, rmNext, rvNext] };
  },
  webgpu(gpu, inputs, a) {
    const x = inputs[0];
    const [n, c, s] = dims(x.shape);
    const m = n * s;
    const { k, chunk, entry } = chunking(m, c, s);
    const part = gpu.alloc(2 * c * k);
    gpu.run({
      shader: 'batch_norm_stats', entry, inputs: [x.storage], outputs: [part],
      params: [u32(c * k), u32(c), u32(s), u32(k), u32(chunk), u32(m), u32(0)], workgroups: grid(Math.ceil((c * k) / 256)),
    });
    const mean = gpu.alloc(c), invstd = gpu.alloc(c), vars = gpu.alloc(c);
    const running = a.momentum === undefined ? null : [gpu.alloc(c), gpu.alloc(c)];
    gpu.run({
      shader: 'batch_norm_merge', entry: running ? 'running' : 'main',
      inputs: [part, ...(running ? inputs.slice(-2).map((t) => t.storage) : [])], outputs: [mean, invstd, vars, ...(running ?? [])],
      params: [u32(c), u32(k), u32(chunk), u32(m), f32(a.eps), f32(1 - (a.momentum ?? 0)), f32(m / (m - 1)), u32(0)],
      workgroups: [Math.ceil(c / 64)],
    });
    gpu.release(part);
    const gamma = a.hasGamma ? inputs[1].storage : x.storage;
    const beta = a.hasBeta ? inputs[a.hasGamma ? 2 : 1].storage : x.storage;
    const y = gpu.alloc(x.size);
    const r = a.residual ? inputs[residualAt(a)].storage : null;
    applyGpu(gpu, x.storage, mean, invstd, gamma, beta, r, y, n, c, s, a.hasGamma, a.hasBeta, a.relu ?? false);
    return { out: y, aux: [mean, invstd, vars, ...(running ?? [])] };
  },
  backward(g, ctx) {
    const { hasGamma, hasBeta, residual } = ctx.attrs;
    const relu = ctx.attrs.relu ?? false;
    const x = ctx.inputs[0]!;
    const gamma = hasGamma ? ctx.inputs[1]! : null;
    const [mean, invstd] = ctx.aux;
    // With a residual the ReLU's mask needs r, so it comes from the output and the masked gradient
    // is also r's; without, batch norm's backward recomputes the mask from x and beta (one tensor
    // fewer to read than the output).
    const gm = residual && relu ? reluBackward(g, ctx.output!) : g;
    const fusedRelu = relu && !residual;
    const beta = fusedRelu && hasBeta ? ctx.inputs[hasGamma ? 2 : 1]! : null;
    const inputs = [x, gm, mean, invstd, ...(gamma ? [gamma] : []), ...(beta ? [beta] : [])];
    const { out: dx, aux: [dgamma, dbeta] } = runOpAux(BatchNormBackwardOp, inputs, { hasGamma, relu: fusedRelu, hasBeta: beta !== null });
    const grads: (Tensor | null)[] = [dx];
    if (hasGamma) grads.push(dgamma); else dgamma.dispose();
    if (hasBeta) grads.push(dbeta); else dbeta.dispose();
    if (residual) grads.push(gm);
    if (ctx.attrs.momentum !== undefined) grads.push(null, null);
    return grads;
  },
  // x, gamma and beta (the fused ReLU's mask is recomputed from them; [C] each), mean, invstd; the
  // output for the mask of the residual form
  saves: (a) => ({ inputs: [0, 1, 2], aux: true, output: a.residual === true && a.relu === true }),
});

function applyGpu(gpu: WebGpuBackend, x: GpuStorage, mean: GpuStorage, invstd: GpuStorage, gamma: GpuStorage, beta: GpuStorage,
  r: GpuStorage | null, y: GpuStorage, n: number, c: number, s: number, hasGamma: boolean, hasBeta: boolean, relu: boolean): void {
  const parts = Math.ceil(s / PART);
  const items = n * c * parts;
  gpu.run({
    shader: 'batch_norm_apply', entry: s % 4 === 0 ? 'main4' : 'main',
    constants: { HAS_GAMMA: hasGamma ? 1 : 0, HAS_BETA: hasBeta ? 1 : 0, RELU: +relu, RESIDUAL: +(r !== null) },
    inputs: [x, mean, invstd, gamma, beta, r ?? x], outputs: [y],
    params: [u32(items), u32(c), u32(s), u32(parts), u32(PART), u32(0), u32(0), u32(0)], workgroups: grid(Math.ceil(items / 256)),
  });
}

// ---- batchNormBackward ---------------------------------------------------------------------------

/**
 * Training-mode batch norm gradients. Inputs x, g [N,C(,H,W)], mean, invstd [C], then gamma [C] when
 * hasGamma and beta [C] when relu and hasBeta. Output dx; auxiliary outputs dgamma = sum(g * xhat)
 * and dbeta = sum(g) per channel (of g masked by the ReLU with relu).
 */
export const BatchNormBackwardOp = defineOp<BatchNormBackwardAttrs>({
  name: 'batchNormBackward',
  shape(inputs, a) {
    const [x, g, mean, invstd] = inputs;
    checkX('batchNormBackward', x);
    if (a.hasBeta && !a.relu) throw new ArgumentError('batchNormBackward', 'beta is an input only with the fused ReLU (relu: true)');
    const want = 4 + (a.hasGamma ? 1 : 0) + (a.hasBeta ? 1 : 0);
    if (inputs.length !== want) throw new ArgumentError('batchNormBackward', `expected ${want} inputs, got ${inputs.length}`);
    if (a.hasBeta) checkChannelParam('batchNormBackward', 'beta', inputs[want - 1], x);
    checkLikeX('batchNormBackward', 'g', g, x);
    checkChannelParam('batchNormBackward', 'mean', mean, x);
    checkChannelParam('batchNormBackward', 'invstd', invstd, x);
    if (a.hasGamma) checkChannelParam('batchNormBackward', 'gamma', inputs[4], x);
    const [n, , s] = dims(x.shape);
    if (n * s === 0) throw new ShapeError('batchNormBackward', `empty batch ${fmtShape(x.shape)}`);
    return { shape: x.shape, dtype: 'f32' };
  },
  aux([x]) {
    const c = x.shape[1];
    return [{ shape: [c], dtype: 'f32' }, { shape: [c], dtype: 'f32' }];
  },
  cpu(_b, inputs, a) {
    const [x, g0, mean, invstd] = inputs;
    const gamma = a.hasGamma ? inputs[4].data : null;
    const beta = a.hasBeta ? inputs[inputs.length - 1].data : null;
    const [n, c, s] = dims(x.shape);
    // the fused ReLU's mask: the forward's pre-ReLU value, computed as batchNormTrain's cpu does
    const g = a.relu ? { data: g0.data.map((v, i) => {
      const ch = Math.floor(i / s) % c;
      const pre = (x.data[i] - mean.data[ch]) * (invstd.data[ch] * (gamma ? gamma[ch] : 1)) + (beta ? beta[ch] : 0);
      return pre > 0 ? v : 0;
    }) } : g0;
    const m = n * s;
    const dx = new Float64Array(x.data.length);
    const dgamma = new Float64Array(c), dbeta = new Float64Array(c);
    for (let ch = 0; ch < c; ch++) {
      const mu = mean.data[ch], is = invstd.data[ch];
      let sg = 0, sgx = 0;
      forChannel(n, c, s, ch, (i) => { sg += g.data[i]; sgx += g.data[i] * (x.data[i] - mu) * is; });
      const sc = is * (gamma ? gamma[ch] : 1);
      forChannel(n, c, s, ch, (i) => { dx[i] = sc * (g.data[i] - sg / m - (x.data[i] - mu) * is * (sgx / m)); });
      dgamma[ch] = sgx; dbeta[ch] = sg;
    }
    return { out: dx, aux: [dgamma, dbeta] };
  },
  webgpu(gpu, inputs, a) {
    const [x, g, mean, invstd] = inputs;
    const gamma = a.hasGamma ? inputs[4].storage : null;
    const beta = a.hasBeta ? inputs[inputs.length - 1].storage : null;
    const relu = +(a.relu ?? false);
    const flags = { HAS_GAMMA: gamma ? 1 : 0, HAS_BETA: beta ? 1 : 0 };
    const [n, c, s] = dims(x.shape);
    const m = n * s;
    const { k, chunk, entry } = chunking(m, c, s);
    const part = gpu.alloc(2 * c * k);
    gpu.run({
      shader: 'batch_norm_grad_stats', entry, constants: { RELU: relu, ...flags },
      inputs: [x.storage, g.storage, mean.storage, invstd.storage, gamma ?? x.storage, beta ?? x.storage], outputs: [part],
      params: [u32(c * k), u32(c), u32(s), u32(k), u32(chunk), u32(m), u32(0)], workgroups: grid(Math.ceil((c * k) / 256)),
    });
    const dgamma = gpu.alloc(c), dbeta = gpu.alloc(c), coef = gpu.alloc(8 * c);
    gpu.run({
      shader: 'batch_norm_grad_merge', constants: flags,
      inputs: [part, invstd.storage, mean.storage, gamma ?? invstd.storage, beta ?? invstd.storage], outputs: [dgamma, dbeta, coef],
      params: [u32(c), u32(k), u32(0), f32(1 / m)], workgroups: [Math.ceil(c / 64)],
    });
    gpu.release(part);
    const dx = gpu.alloc(x.size);
    const parts = Math.ceil(s / PART);
    const items = n * c * parts;
    gpu.run({
      shader: 'batch_norm_grad_input', entry: s % 4 === 0 ? 'main4' : 'main', constants: { RELU: relu },
      inputs: [x.storage, g.storage, coef], outputs: [dx],
      params: [u32(items), u32(c), u32(s), u32(parts), u32(PART), u32(0), u32(0), u32(0)], workgroups: grid(Math.ceil(items / 256)),
    });
    gpu.release(coef);
    return { out: dx, aux: [dgamma, dbeta] };
  },
});

// ---- batchNormApply (evaluation) -----------------------------------------------------------------

export interface BatchNormApplyAttrs {
  readonly hasGamma: boolean; readonly hasBeta: boolean;
  /** Then max(y, 0). */
  readonly relu?: boolean;
  /** A last input r of x's shape is added before the ReLU (a ResNet block's shortcut). */
  readonly residual?: boolean;
}

/**
 * y = (x - mean[c]) * invstd[c] * gamma[c] + beta[c] with given per-channel statistics (batch norm
 * in evaluation mode), + r with `residual`, then max(., 0) with `relu`: one pass, as in training.
 * Inputs x, mean, invstd, then gamma and beta when present, then r.
 */
export const BatchNormApplyOp = defineOp<BatchNormApplyAttrs>({
  name: 'batchNormApply',
  shape(inputs, a) {
    const [x, mean, invstd] = inputs;
    checkX('batchNormApply', x);
    const want = 3 + (a.hasGamma ? 1 : 0) + (a.hasBeta ? 1 : 0) + (a.residual ? 1 : 0);
    if (inputs.length !== want) throw new ArgumentError('batchNormApply', `expected ${want} inputs, got ${inputs.length}`);
    checkChannelParam('batchNormApply', 'mean', mean, x);
    checkChannelParam('batchNormApply', 'invstd', invstd, x);
    if (a.hasGamma) checkChannelParam('batchNormApply', 'gamma', inputs[3], x);
    if (a.hasBeta) checkChannelParam('batchNormApply', 'beta', inputs[a.hasGamma ? 4 : 3], x);
    if (a.residual) checkLikeX('batchNormApply', 'the residual', inputs[want - 1], x);
    return { shape: x.shape, dtype: 'f32' };
  },
  cpu(_b, inputs, a) {
    const [x, mean, invstd] = inputs;
    const gamma = a.hasGamma ? inputs[3].data : null;
    const beta = a.hasBeta ? inputs[a.hasGamma ? 4 : 3].data : null;
    const r = a.residual ? inputs[inputs.length - 1].data : null;
    const [n, c, s] = dims(x.shape);
    const y = new Float64Array(x.data.length);
    for (let ch = 0; ch < c; ch++) {
      const mu = mean.data[ch], sc = invstd.data[ch] * (gamma ? gamma[ch] : 1), sh = beta ? beta[ch] : 0;
      forChannel(n, c, s, ch, (i) => {
        y[i] = (x.data[i] - mu) * sc + sh + (r ? r[i] : 0);
        if (a.relu) y[i] = Math.max(y[i], 0);
      });
    }
    return y;
  },
  webgpu(gpu, inputs, a) {
    const [x, mean, invstd] = inputs;
    const [n, c, s] = dims(x.shape);
    const y = gpu.alloc(x.size);
    const gamma = a.hasGamma ? inputs[3].storage : x.storage;
    const beta = a.hasBeta ? inputs[a.hasGamma ? 4 : 3].storage : x.storage;
    const r = a.residual ? inputs[inputs.length - 1].storage : null;
    applyGpu(gpu, x.storage, mean.storage, invstd.storage, gamma, beta, r, y, n, c, s, a.hasGamma, a.hasBeta, a.relu ?? false);
    return y;
  },
  backward(g, ctx) {
    const { hasGamma, hasBeta, residual } = ctx.attrs;
    const [x, mean, invstd] = ctx.inputs as Tensor[];
    const gamma = hasGamma ? ctx.inputs[3] : null;
    const axes = x.rank === 4 ? [0, 2, 3] : [0];
    const c = x.shape[1];
    const needGamma = hasGamma && ctx.needs[3];
    const betaAt = hasGamma ? 4 : 3;
    const needBeta = hasBeta && ctx.needs[betaAt];
    const needR = residual === true && ctx.needs[ctx.needs.length - 1];
    return tidy(() => {
      // the ReLU's mask from the output; the masked gradient is also the residual's
      const gm = ctx.attrs.relu ? reluBackward(g, ctx.output!) : g;
      // dx = gm * invstd * gamma: the same kernel with mean 0, one pass
      const dx = ctx.needs[0] ? runOp(BatchNormApplyOp, [gm, zeros([c], { backend: x.backend }), invstd, ...(gamma ? [gamma] : [])], { hasGamma, hasBeta: false }) : null;
      const sg = ctx.needs[1] || needBeta ? sum(gm, axes) : null;
      // per-channel sum of gm * (x - mean), for gamma and invstd (x - mean: the kernel with invstd 1)
      const centred = ctx.needs[2] || needGamma ? runOp(BatchNormApplyOp, [x, mean, ones([c], { backend: x.backend })], { hasGamma: false, hasBeta: false }) : null;
      const sgd = centred ? sum(mul(gm, centred), axes) : null;
      const grads: (Tensor | null)[] = [
        dx,
        ctx.needs[1] ? neg(mul(sg!, gamma ? mul(invstd, gamma) : invstd)) : null,
        ctx.needs[2] ? (gamma ? mul(sgd!, gamma) : sgd) : null,
      ];
      if (hasGamma) grads.push(needGamma ? mul(sgd!, invstd) : null);
      if (hasBeta) grads.push(needBeta ? sg : null);
      if (residual) grads.push(needR ? gm : null);
      return grads;
    });
  },
  // x, mean, invstd, gamma; the output for the ReLU's mask
  saves: (a) => ({ inputs: [0, 1, 2, 3], output: a.relu === true }),
});

// ---- batchNorm (the API) -------------------------------------------------------------------------

export interface BatchNormOptions {
  /** Training mode: normalize with batch statistics (and update the running buffers if given). */
  training: boolean;
  /** Running mean [C], updated in place in training mode; required in evaluation mode. */
  runningMean?: Tensor;
  /** Running (unbiased) variance [C], updated in place in training mode; required in evaluation mode. */
  runningVar?: Tensor;
  /** Weight of the batch statistic in the running update (PyTorch semantics). Default 0.1. */
  momentum?: number;
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
  /** Return relu(batchNorm(x)): one fused pass forward and backward, in training and evaluation. */
  relu?: boolean;
  /**
   * Added to the normalized x before the ReLU (a ResNet block's shortcut), same shape as x: in the
   * same pass.
   */
  residual?: Tensor;
}

/**
 * Batch normalization of x [N,C] or [N,C,H,W] per channel, then gamma * xhat + beta (each optional).
 * Training: batch mean and biased variance; runningMean/runningVar (if given) become
 * (1 - momentum) * running + momentum * batchStat, with the unbiased variance (PyTorch). Eval: the
 * running statistics, which are then required.
 */
export const batchNorm = defineComposite('batchNorm', true,
  (x: Tensor, gamma: Tensor | null, beta: Tensor | null, opts: BatchNormOptions): Tensor => {
    checkX('batchNorm', x);
    if (gamma) checkChannelParam('batchNorm', 'gamma', gamma, x);
    if (beta) checkChannelParam('batchNorm', 'beta', beta, x);
    const eps = opts.eps ?? 1e-5;
    const momentum = opts.momentum ?? 0.1;
    if (!(eps >= 0)) throw new ArgumentError('batchNorm', `eps must be >= 0, got ${eps}`);
    if (!(momentum >= 0 && momentum <= 1)) throw new ArgumentError('batchNorm', `momentum must be in [0, 1], got ${momentum}`);
    const { runningMean: rm, runningVar: rv, residual: res } = opts;
    if (res) checkLikeX('batchNorm', 'the residual', res, x);
    if (rm) checkChannelParam('batchNorm', 'runningMean', rm, x);
    if (rv) checkChannelParam('batchNorm', 'runningVar', rv, x);
    const [n, c, s] = dims(x.shape);

    if (!opts.training) {
      if (!rm || !rv) {
        throw new ArgumentError('batchNorm', `evaluation mode (training: false) needs runningMean and runningVar [${c}] for x ${fmtShape(x.shape)}`);
      }
      return tidy(() => {
        const invstd = rsqrt(affine(rv, 1, eps));
        return runOp(BatchNormApplyOp, [x, rm, invstd, ...(gamma ? [gamma] : []), ...(beta ? [beta] : []), ...(res ? [res] : [])],
          { hasGamma: gamma !== null, hasBeta: beta !== null, relu: opts.relu ?? false, residual: res !== undefined });
      });
    }

    if (n * s <= 1) throw new ShapeError('batchNorm', `expected more than 1 value per channel when training, got x ${fmtShape(x.shape)}`);
    // the running statistics are updated in the statistics' merge pass (a missing one stands in
    // as zeros or ones, its update dropped)
    const running = rm || rv ? noGrad(() => [rm ?? zeros([c], { backend: x.backend }), rv ?? ones([c], { backend: x.backend })]) : [];
    const inputs = [x, ...(gamma ? [gamma] : []), ...(beta ? [beta] : []), ...(res ? [res] : []), ...running];
    const { out, aux } = runOpAux(BatchNormTrainOp, inputs, {
      eps, hasGamma: gamma !== null, hasBeta: beta !== null, relu: opts.relu ?? false, residual: res !== undefined,
      ...(running.length ? { momentum } : {}),
    });
    if (running.length) {
      noGrad(() => {
        rm?.assign(aux[3]);
        rv?.assign(aux[4]);
      });
      if (!rm) running[0].dispose();
      if (!rv) running[1].dispose();
    }
    aux.forEach((t) => t.dispose());
    return out;
  });

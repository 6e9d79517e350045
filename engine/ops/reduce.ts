/**
 * Reductions: primitives sum and max over any set of axes (keepDims optional), composites mean and
 * variance, and sumTo (the inverse of broadcasting, for gradients of broadcast ops).
 *
 * WebGPU: size-1 axes are dropped and adjacent axes of the same kind merged, so x becomes blocks
 * [k0, r1, k1, r2, ...]; each reduced block is one pass of shaders/reduce.wgsl over x viewed as
 * [outer, R, inner] (largest block first). When R is long and outputs are few, a pass is split:
 * the kernel writes partials over chunks of R and runs again on the partials.
 */
import { ArgumentError, fmtShape } from '../errors.js';
import { normAxes, reducedShape, sameShape, sizeOf, walkStrided } from '../shape.js';
import { Tensor, tidy } from '../tensor.js';
import { grid, u32, type GpuStorage, type WebGpuBackend } from '../webgpu/backend.js';
import { div, equal, mul, square, sub } from './elementwise.js';
import { broadcastTo, reshape } from './movement.js';
import { defineComposite, defineOp, requireF32, runOp, type CpuInput, type GpuInput, type OpDef, type TensorMeta } from './registry.js';

export interface ReduceAttrs { readonly axes: readonly number[]; readonly keepDims: boolean }

/** OP codes of shaders/reduce.wgsl. */
const SUM = 0, MAX = 1;
/** Split a pass when R exceeds this and fewer than TARGET outputs would run. */
const SPLIT_MIN_R = 1024, TARGET_INVOCATIONS = 8192, MIN_CHUNK = 128;

/** CPU reference in float64: folds every element into its output slot. */
function reduceCpu(x: CpuInput, axes: readonly number[], outSize: number, init: number, f: (acc: number, v: number) => number): Float64Array {
  const res = new Float64Array(outSize).fill(init);
  const rank = x.shape.length;
  const ostr = new Array<number>(rank);
  for (let d = rank - 1, acc = 1; d >= 0; d--) {
    if (axes.includes(d)) ostr[d] = 0;
    else { ostr[d] = acc; acc *= x.shape[d]; }
  }
  walkStrided(x.shape, [ostr], [0], (i, [o]) => { res[o] = f(res[o], x.data[i]); });
  return res;
}

/** One pass over x as [outer, R, inner], split into chunk passes when R is long and outputs few. */
function reducePass(gpu: WebGpuBackend, src: GpuStorage, ownsSrc: boolean, outer: number, r: number, inner: number, op: number): GpuStorage {
  let cur = src, owned = ownsSrc;
  for (;;) {
    const outputs = outer * inner;
    let c = 1;
    if (r > SPLIT_MIN_R && outputs < TARGET_INVOCATIONS) c = Math.min(Math.ceil(r / MIN_CHUNK), Math.ceil(TARGET_INVOCATIONS / outputs));
    const chunk = Math.ceil(r / c);
    c = Math.ceil(r / chunk);
    const n = outer * c * inner;
    const dst = gpu.alloc(n);
    gpu.run({
      shader: 'reduce', constants: { OP: op }, inputs: [cur], outputs: [dst],
      params: [u32(n), u32(r), u32(inner), u32(c), u32(chunk), u32(0)], workgroups: grid(Math.ceil(n / 256)),
    });
    if (owned) gpu.release(cur);
    cur = dst; owned = true;
    if (c === 1) return cur;
    r = c;
  }
}

function reduceGpu(gpu: WebGpuBackend, x: GpuInput, axes: readonly number[], outSize: number, op: number): GpuStorage {
  if (outSize === 0) return gpu.alloc(0);
  if (x.size === 0) { // sum over an empty axis (max rejects it in its shape rule)
    const out = gpu.alloc(outSize);
    gpu.run({ shader: 'fill', inputs: [], outputs: [out], params: [u32(outSize), u32(0)], workgroups: grid(Math.ceil(outSize / 256)) });
    return out;
  }
  const segs: { n: number; red: boolean }[] = [];
  x.shape.forEach((d, i) => {
    if (d === 1) return;
    const red = axes.includes(i);
    const last = segs[segs.length - 1];
    if (last && last.red === red) last.n *= d; else segs.push({ n: d, red });
  });
  let cur = x.storage, owned = false;
  for (;;) {
    let j = -1;
    segs.forEach((s, k) => { if (s.red && (j < 0 || s.n > segs[j].n)) j = k; });
    if (j < 0) break;
    const outer = sizeOf(segs.slice(0, j).map((s) => s.n));
    const inner = sizeOf(segs.slice(j + 1).map((s) => s.n));
    cur = reducePass(gpu, cur, owned, outer, segs[j].n, inner, op);
    owned = true;
    segs.splice(j, 1);
  }
  if (owned) return cur;
  const out = gpu.alloc(outSize); // only size-1 axes were reduced: a copy
  gpu.copy(cur, out, outSize * 4);
  return out;
}

function reduceOp(name: string, op: number, cpu: { init: number; f: (acc: number, v: number) => number },
  backward: OpDef<ReduceAttrs>['backward'], saves?: OpDef<ReduceAttrs>['saves']): OpDef<ReduceAttrs> {
  return defineOp<ReduceAttrs>({
    name,
    shape([x], a) {
      requireF32(name, x);
      if (op === MAX && a.axes.some((ax) => x.shape[ax] === 0)) {
        throw new ArgumentError(name, `cannot take the max over an empty axis of ${fmtShape(x.shape)} (axes [${a.axes.join(',')}])`);
      }
      return { shape: reducedShape(x.shape, a.axes, a.keepDims), dtype: 'f32' };
    },
    cpu(_b, [x], a, out) { return reduceCpu(x, a.axes, sizeOf(out.shape), cpu.init, cpu.f); },
    webgpu(gpu, [x], a, out) { return reduceGpu(gpu, x, a.axes, sizeOf(out.shape), op); },
    backward, saves,
  });
}

/** g of a reduction's output shape, reshaped to keepDims form (size 1 on the reduced axes). */
function keepDimsGrad(g: Tensor, inShape: readonly number[], a: ReduceAttrs): Tensor {
  return a.keepDims ? g : reshape(g, reducedShape(inShape, a.axes, true));
}

export const SumOp = reduceOp('sum', SUM, { init: 0, f: (s, v) => s + v },
  (g, ctx) => [tidy(() => broadcastTo(keepDimsGrad(g, ctx.inputShapes[0], ctx.attrs), ctx.inputShapes[0]))]);

// Ties: the gradient is split equally among the positions equal to the max (as PyTorch's amax).
export const MaxOp = reduceOp('max', MAX, { init: -Infinity, f: (m, v) => (v > m || Number.isNaN(v) ? v : m) },
  (g, ctx) => {
    const x = ctx.inputs[0]!;
    const a = ctx.attrs;
    return [tidy(() => {
      const mask = equal(x, keepDimsGrad(ctx.output!, x.shape, a));
      return mul(keepDimsGrad(g, x.shape, a), div(mask, sum(mask, a.axes, true)));
    })];
  }, { inputs: true, output: true });

function attrs(op: string, x: TensorMeta, axes: number | readonly number[] | undefined, keepDims: boolean): ReduceAttrs {
  return { axes: normAxes(op, axes, x.shape.length), keepDims };
}

/** Sum over `axes` (default: all). */
export const sum = (x: Tensor, axes?: number | readonly number[], keepDims = false) => runOp(SumOp, [x], attrs('sum', x, axes, keepDims));
/** Maximum over `axes` (default: all). */
export const max = (x: Tensor, axes?: number | readonly number[], keepDims = false) => runOp(MaxOp, [x], attrs('max', x, axes, keepDims));

/** Mean over `axes` (default: all). */
export const mean = defineComposite('mean', true, (x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor => {
  const ax = normAxes('mean', axes, x.rank);
  const n = sizeOf(ax.map((d) => x.shape[d]));
  return tidy(() => mul(sum(x, ax, keepDims), 1 / n));
});

export interface VarianceOptions {
  /** Divide by n - 1 (Bessel's correction) instead of n. Default false (population variance). */
  unbiased?: boolean;
}

/** Variance over `axes`, two-pass: mean((x - mean(x))^2), which stays accurate for large offsets. */
export const variance = defineComposite('variance', true,
  (x: Tensor, axes?: number | readonly number[], keepDims = false, opts: VarianceOptions = {}): Tensor => {
    const ax = normAxes('variance', axes, x.rank);
    const n = sizeOf(ax.map((d) => x.shape[d])) - (opts.unbiased ? 1 : 0);
    return tidy(() => mul(sum(square(sub(x, mean(x, ax, true))), ax, keepDims), 1 / n));
  });

/** Sums x down to `shape` (the inverse of broadcasting), for gradients of broadcast ops. */
export function sumTo(x: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(x.shape, shape)) return x;
  const lead = x.rank - shape.length;
  const axes = x.shape.flatMap((d, i) => (i < lead || (shape[i - lead] === 1 && d !== 1) ? [i] : []));
  return tidy(() => reshape(sum(x, axes, true), shape));
}

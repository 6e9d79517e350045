/**
 * 2-D pooling over x [N,C,H,W] with PyTorch semantics (floor output size, padding <= kernel / 2):
 *
 * - `maxPool2d` (primitive): padding counts as -inf; the first maximum in window order wins ties;
 *   the argmax (i32, flat h*W + w inside the (n, c) plane) is an auxiliary output saved for backward.
 *   Its gradient is `maxPool2dBackward` (primitive, not differentiable), which routes g to the argmax.
 * - `avgPool2d` (primitive): count_include_pad = true, so every window divides by kh*kw. Its gradient
 *   `avgPool2dBackward` is a primitive too; each is the other's adjoint, so both are differentiable.
 * - `globalAvgPool2d` (composite): mean over H and W -> [N,C,1,1] (AdaptiveAvgPool2d(1)), on the
 *   split reduction kernel.
 *
 * Kernels (shaders/max_pool2d.wgsl, max_pool2d_backward.wgsl, avg_pool2d.wgsl): one invocation per
 * output (forward) or per input element (backward, gathering from the windows that cover it: no
 * float atomics), loops over the window, no workgroup memory.
 */
import { ArgumentError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import { sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { tidy } from '../tensor.js';
import { grid, i32, u32, type Param } from '../webgpu/backend.js';
import { mean } from './reduce.js';
import { defineComposite, defineOp, runOp, runOpAux, type OpDef, type TensorMeta } from './registry.js';

export interface Pool2dAttrs {
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
}
/** A backward op's attributes: the pooling's and the input's spatial size. */
export interface Pool2dGradAttrs extends Pool2dAttrs { readonly inH: number; readonly inW: number }

export interface Pool2dOptions {
  kernel: number | readonly [number, number];
  /** Default: the kernel size. */
  stride?: number | readonly [number, number];
  /** Default 0; at most half the kernel on each axis. */
  padding?: number | readonly [number, number];
}

function pair(op: string, what: string, v: number | readonly [number, number], min: number): [number, number] {
  const ok = typeof v === 'number' || (Array.isArray(v) && v.length === 2);
  const p = ok ? (typeof v === 'number' ? [v, v] : [v[0], v[1]]) : [];
  if (!ok || !p.every((d) => Number.isInteger(d) && d >= min)) {
    throw new ArgumentError(op, `${what} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return [p[0], p[1]];
}

export function poolAttrs(op: string, opts: Pool2dOptions): Pool2dAttrs {
  if (opts === undefined || opts.kernel === undefined) throw new ArgumentError(op, 'options { kernel } are required');
  const kernel = pair(op, 'kernel', opts.kernel, 1);
  const stride = opts.stride === undefined ? kernel : pair(op, 'stride', opts.stride, 1);
  const padding = pair(op, 'padding', opts.padding ?? 0, 0);
  if (padding[0] * 2 > kernel[0] || padding[1] * 2 > kernel[1]) {
    throw new ArgumentError(op, `padding [${padding.join(',')}] must be at most half the kernel [${kernel.join(',')}]`);
  }
  return { kernel, stride, padding };
}

/** Output spatial size (floor mode), or a ShapeError naming the op and the shapes. */
function outSize(op: string, shape: readonly number[], a: Pool2dAttrs): [number, number] {
  const [, , h, w] = shape;
  const oh = Math.floor((h + 2 * a.padding[0] - a.kernel[0]) / a.stride[0]) + 1;
  const ow = Math.floor((w + 2 * a.padding[1] - a.kernel[1]) / a.stride[1]) + 1;
  if (oh < 1 || ow < 1) {
    throw new ShapeError(op, `kernel [${a.kernel.join(',')}] with padding [${a.padding.join(',')}] does not fit input ${fmtShape(shape)}`);
  }
  return [oh, ow];
}

function checkInput(op: string, x: TensorMeta): void {
  if (x.shape.length !== 4) throw new ShapeError(op, `expected x of shape [N,C,H,W], got ${fmtShape(x.shape)}`);
  if (x.dtype !== 'f32') throw new DTypeError(op, `expected f32 x, got ${x.dtype} ${fmtShape(x.shape)}`, x.dtype);
}

/** Checks a gradient g [N,C,OH,OW] against the pooling of an [N,C,inH,inW] input; returns that input shape. */
function checkGrad(op: string, g: TensorMeta, a: Pool2dGradAttrs): number[] {
  checkInput(op, g);
  const inShape = [g.shape[0], g.shape[1], a.inH, a.inW];
  const [oh, ow] = outSize(op, inShape, a);
  if (g.shape[2] !== oh || g.shape[3] !== ow) {
    throw new ShapeError(op, `g ${fmtShape(g.shape)} is not the pooled shape [${g.shape[0]},${g.shape[1]},${oh},${ow}] of input ${fmtShape(inShape)}`);
  }
  return inShape;
}

function params(n: number, h: number, w: number, oh: number, ow: number, a: Pool2dAttrs): Param[] {
  return [u32(n), i32(h), i32(w), i32(oh), i32(ow), i32(a.kernel[0]), i32(a.kernel[1]), i32(a.stride[0]), i32(a.stride[1]), i32(a.padding[0]), i32(a.padding[1])];
}

/** Calls fn(plane, oy, ox, o, h0, h1, w0, w1) for every output position, the window clipped to the input. */
function forWindows(n: number, c: number, h: number, w: number, oh: number, ow: number, a: Pool2dAttrs,
  fn: (plane: number, o: number, h0: number, h1: number, w0: number, w1: number) => void): void {
  for (let plane = 0, o = 0; plane < n * c; plane++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++, o++) {
        const hs = oy * a.stride[0] - a.padding[0], ws = ox * a.stride[1] - a.padding[1];
        fn(plane, o, Math.max(hs, 0), Math.min(hs + a.kernel[0], h), Math.max(ws, 0), Math.min(ws + a.kernel[1], w));
      }
    }
  }
}

// ---- max pooling ---------------------------------------------------------------------------------

export const MaxPool2dOp = defineOp<Pool2dAttrs>({
  name: 'maxPool2d',
  shape([x], a) {
    checkInput('maxPool2d', x);
    const [oh, ow] = outSize('maxPool2d', x.shape, a);
    return { shape: [x.shape[0], x.shape[1], oh, ow], dtype: 'f32' };
  },
  aux([x], a) {
    const [oh, ow] = outSize('maxPool2d', x.shape, a);
    return [{ shape: [x.shape[0], x.shape[1], oh, ow], dtype: 'i32' }];
  },
  cpu(_b, [x], a, out) {
    const [n, c, h, w] = x.shape;
    const [, , oh, ow] = out.shape;
    const y = new Float64Array(sizeOf(out.shape)), arg = new Float64Array(y.length);
    forWindows(n, c, h, w, oh, ow, a, (plane, o, h0, h1, w0, w1) => {
      const base = plane * h * w;
      let best = h0 * w + w0, m = x.data[base + best];
      for (let i = h0; i < h1; i++) {
        for (let j = w0; j < w1; j++) {
          const v = x.data[base + i * w + j];
          if (v > m) { m = v; best = i * w + j; }
        }
      }
      y[o] = m; arg[o] = best;
    });
    return { out: y, aux: [arg] };
  },
  webgpu(gpu, [x], a, out) {
    const [, , h, w] = x.shape;
    const [, , oh, ow] = out.shape;
    const n = sizeOf(out.shape);
    const y = gpu.alloc(n), arg = gpu.alloc(n, 'i32');
    gpu.run({ shader: 'max_pool2d', inputs: [x.storage], outputs: [y, arg], params: params(n, h, w, oh, ow, a), workgroups: grid(Math.ceil(n / 256)) });
    return { out: y, aux: [arg] };
  },
  backward(g, ctx) {
    const [, , inH, inW] = ctx.inputShapes[0];
    return [runOp(MaxPool2dBackwardOp, [g, ctx.aux[0]], { ...ctx.attrs, inH, inW })];
  },
  saves: { aux: true },
});

/** Gradient of maxPool2d: g [N,C,OH,OW] routed to the argmax (i32, same shape) of each window. */
export const MaxPool2dBackwardOp = defineOp<Pool2dGradAttrs>({
  name: 'maxPool2dBackward',
  shape([g, arg], a) {
    const inShape = checkGrad('maxPool2dBackward', g, a);
    if (arg.dtype !== 'i32' || arg.shape.length !== 4 || arg.shape.some((d, i) => d !== g.shape[i])) {
      throw new ShapeError('maxPool2dBackward', `argmax must be i32 of g's shape ${fmtShape(g.shape)}, got ${fmtShape(arg.shape)} ${arg.dtype}`);
    }
    return { shape: inShape, dtype: 'f32' };
  },
  cpu(_b, [g, arg], a) {
    const [n, c, oh, ow] = g.shape;
    const plane = a.inH * a.inW;
    const dx = new Float64Array(n * c * plane);
    for (let p = 0, o = 0; p < n * c; p++) {
      for (let k = 0; k < oh * ow; k++, o++) dx[p * plane + arg.data[o]] += g.data[o];
    }
    return dx;
  },
  webgpu(gpu, [g, arg], a, out) {
    const [, , oh, ow] = g.shape;
    const n = sizeOf(out.shape);
    const dx = gpu.alloc(n);
    gpu.run({
      shader: 'max_pool2d_backward', inputs: [g.storage, arg.storage], outputs: [dx],
      params: params(n, a.inH, a.inW, oh, ow, a), workgroups: grid(Math.ceil(n / 256)),
    });
    return dx;
  },
});

/** Max pooling of x [N,C,H,W] (PyTorch MaxPool2d without dilation or ceil mode). */
export function maxPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  const { out, aux } = runOpAux(MaxPool2dOp, [x], poolAttrs('maxPool2d', opts));
  aux.forEach((t) => t.dispose());
  return out;
}

/** Max pooling that also returns the argmax indices (i32, flat h*W + w in each plane; caller owns both). */
export function maxPool2dWithIndices(x: Tensor, opts: Pool2dOptions): { out: Tensor; indices: Tensor } {
  const { out, aux } = runOpAux(MaxPool2dOp, [x], poolAttrs('maxPool2d', opts));
  return { out, indices: aux[0] };
}

// ---- average pooling -----------------------------------------------------------------------------

export const AvgPool2dOp: OpDef<Pool2dAttrs> = defineOp<Pool2dAttrs>({
  name: 'avgPool2d',
  shape([x], a) {
    checkInput('avgPool2d', x);
    const [oh, ow] = outSize('avgPool2d', x.shape, a);
    return { shape: [x.shape[0], x.shape[1], oh, ow], dtype: 'f32' };
  },
  cpu(_b, [x], a, out) {
    const [n, c, h, w] = x.shape;
    const [, , oh, ow] = out.shape;
    const y = new Float64Array(sizeOf(out.shape));
    const div = a.kernel[0] * a.kernel[1];
    forWindows(n, c, h, w, oh, ow, a, (plane, o, h0, h1, w0, w1) => {
      let s = 0;
      for (let i = h0; i < h1; i++) for (let j = w0; j < w1; j++) s += x.data[plane * h * w + i * w + j];
      y[o] = s / div;
    });
    return y;
  },
  webgpu(gpu, [x], a, out) {
    const [, , h, w] = x.shape;
    const [, , oh, ow] = out.shape;
    const n = sizeOf(out.shape);
    const y = gpu.alloc(n);
    gpu.run({ shader: 'avg_pool2d', entry: 'forward', inputs: [x.storage], outputs: [y], params: params(n, h, w, oh, ow, a), workgroups: grid(Math.ceil(n / 256)) });
    return y;
  },
  backward(g, ctx) {
    const [, , inH, inW] = ctx.inputShapes[0];
    return [runOp(AvgPool2dBackwardOp, [g], { ...ctx.attrs, inH, inW })];
  },
});

/** Gradient of avgPool2d: g [N,C,OH,OW] spread evenly over each window (its adjoint is avgPool2d). */
export const AvgPool2dBackwardOp: OpDef<Pool2dGradAttrs> = defineOp<Pool2dGradAttrs>({
  name: 'avgPool2dBackward',
  shape([g], a) { return { shape: checkGrad('avgPool2dBackward', g, a), dtype: 'f32' }; },
  cpu(_b, [g], a, out) {
    const [n, c, oh, ow] = g.shape;
    const h = a.inH, w = a.inW;
    const dx = new Float64Array(sizeOf(out.shape));
    const div = a.kernel[0] * a.kernel[1];
    forWindows(n, c, h, w, oh, ow, a, (plane, o, h0, h1, w0, w1) => {
      const v = g.data[o] / div;
      for (let i = h0; i < h1; i++) for (let j = w0; j < w1; j++) dx[plane * h * w + i * w + j] += v;
    });
    return dx;
  },
  webgpu(gpu, [g], a, out) {
    const [, , oh, ow] = g.shape;
    const n = sizeOf(out.shape);
    const dx = gpu.alloc(n);
    gpu.run({ shader: 'avg_pool2d', entry: 'backward', inputs: [g.storage], outputs: [dx], params: params(n, a.inH, a.inW, oh, ow, a), workgroups: grid(Math.ceil(n / 256)) });
    return dx;
  },
  backward(g, ctx) {
    const { kernel, stride, padding } = ctx.attrs;
    return [runOp(AvgPool2dOp, [g], { kernel, stride, padding })];
  },
});

/** Average pooling of x [N,C,H,W] (PyTorch AvgPool2d, count_include_pad = true, floor mode). */
export function avgPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  return runOp(AvgPool2dOp, [x], poolAttrs('avgPool2d', opts));
}

/** Mean over H and W of x [N,C,H,W] -> [N,C,1,1] (AdaptiveAvgPool2d(1)). */
export const globalAvgPool2d = defineComposite('globalAvgPool2d', true, (x: Tensor): Tensor => {
  checkInput('globalAvgPool2d', x);
  if (x.shape[2] * x.shape[3] === 0) throw new ShapeError('globalAvgPool2d', `empty spatial extent ${fmtShape(x.shape)}`);
  return tidy(() => mean(x, [2, 3], true));
});

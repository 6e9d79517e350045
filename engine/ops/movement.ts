/**
 * Movement ops: reshape and its composites (flatten, squeeze, unsqueeze), which are views sharing
 * storage; and copies through strided kernels: permute/transpose, slice, broadcastTo/expand and
 * clone read a strided region into a contiguous output (shaders/strided_copy.wgsl, or
 * shaders/transpose.wgsl's 4 x 4 blocks where the last two axes swap); concat and
 * pad write contiguous inputs into strided regions of an output (shaders/scatter_copy.wgsl);
 * cast converts between dtypes (shaders/cast.wgsl). The copy kernels move u32 bit patterns, so
 * they serve f32, i32 and u32 alike.
 */
import { toTypedArray, isDType, type DType } from '../dtype.js';
import { ArgumentError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import { broadcastStrides, checkShape, mergeAxes, normAxis, sizeOf, stridesOf, walkStrided } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { grid, u32, type GpuStorage, type WebGpuBackend } from '../webgpu/backend.js';
import { u32Array } from '../webgpu/params.js';
import { defineComposite, defineOp, runOp, type OpDef } from './registry.js';
import { sumTo } from './reduce.js';

// ---- reshape (view) ----------------------------------------------------------------------------

export interface ReshapeAttrs { readonly shape: readonly number[] }

/** Resolves one -1 entry of `shape` against `from`'s element count and checks the sizes agree. */
export function resolveReshape(op: string, from: readonly number[], shape: readonly number[]): number[] {
  if (!Array.isArray(shape)) throw new ArgumentError(op, `shape must be an array of sizes, got ${String(shape)}`);
  const n = sizeOf(from);
  let free = -1;
  let known = 1;
  shape.forEach((d, i) => {
    if (d === -1) {
      if (free >= 0) throw new ArgumentError(op, `only one dimension can be -1, got ${fmtShape(shape)}`);
      free = i;
    } else if (!Number.isInteger(d) || d < 0) {
      throw new ArgumentError(op, `invalid shape ${fmtShape(shape)}: sizes must be non-negative integers or one -1`);
    } else known *= d;
  });
  const out = [...shape];
  if (free >= 0) {
    if (known === 0 || n % known !== 0) {
      throw new ShapeError(op, `cannot reshape ${fmtShape(from)} (${n} elements) to ${fmtShape(shape)}: ${n} is not a multiple of ${known}`);
    }
    out[free] = n / known;
  } else if (known !== n) {
    throw new ShapeError(op, `cannot reshape ${fmtShape(from)} (${n} elements) to ${fmtShape(shape)} (${known} elements)`);
  }
  return out;
}

export const ReshapeOp = defineOp<ReshapeAttrs>({
  name: 'reshape',
  view: true,
  shape([x], a) {
    if (sizeOf(a.shape) !== sizeOf(x.shape)) {
      throw new ShapeError('reshape', `cannot reshape ${fmtShape(x.shape)} (${sizeOf(x.shape)} elements) to ${fmtShape(a.shape)} (${sizeOf(a.shape)} elements)`);
    }
    return { shape: a.shape, dtype: x.dtype };
  },
  // A view: runOp shares input 0's storage and never calls these.
  cpu(_b, [x]) { return x.data.slice(); },
  webgpu(gpu, [x]) {
    const out = gpu.alloc(x.size);
    gpu.copy(x.storage, out, x.size * 4);
    return out;
  },
  backward(g, ctx) { return [reshape(g, ctx.inputShapes[0])]; },
});

/** A view of x with another shape of the same size; one entry may be -1 (inferred). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  return runOp(ReshapeOp, [x], { shape: resolveReshape('reshape', x.shape, shape) });
}

/** Merges axes startDim..endDim (inclusive) into one. A rank-0 tensor becomes [1]. */
export const flatten = defineComposite('flatten', true, (x: Tensor, startDim = 1, endDim = -1): Tensor => {
  if (x.rank === 0) return reshape(x, [1]);
  const s = normAxis('flatten', startDim, x.rank);
  const e = normAxis('flatten', endDim, x.rank);
  if (e < s) throw new ArgumentError('flatten', `endDim ${endDim} comes before startDim ${startDim} for shape ${fmtShape(x.shape)}`);
  const shape = [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
});

/** Removes size-1 axes: the given ones (each must have size 1), or all of them. */
export const squeeze = defineComposite('squeeze', true, (x: Tensor, axes?: number | readonly number[]): Tensor => {
  let drop: Set<number>;
  if (axes === undefined) drop = new Set(x.shape.flatMap((d, i) => (d === 1 ? [i] : [])));
  else {
    const list = typeof axes === 'number' ? [axes] : axes;
    drop = new Set(list.map((a) => normAxis('squeeze', a, x.rank)));
    for (const a of drop) {
      if (x.shape[a] !== 1) throw new ShapeError('squeeze', `axis ${a} of ${fmtShape(x.shape)} has size ${x.shape[a]}, not 1`);
    }
  }
  return reshape(x, x.shape.filter((_, i) => !drop.has(i)));
});

/** Inserts a size-1 axis at `axis` (in the result's numbering, so -1 appends). */
export const unsqueeze = defineComposite('unsqueeze', true, (x: Tensor, axis: number): Tensor => {
  const a = normAxis('unsqueeze', axis, x.rank + 1);
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
});

// ---- strided copy helpers ----------------------------------------------------------------------

/** CPU: out[i] = src[offset + sum_d idx_d * strides[d]] over `shape`'s multi-indices. */
function cpuGather(src: Float64Array, shape: readonly number[], strides: readonly number[], offset: number): Float64Array {
  const out = new Float64Array(sizeOf(shape));
  walkStrided(shape, [strides], [offset], (i, [j]) => { out[i] = src[j]; });
  return out;
}

/** CPU: out[offset + sum_d idx_d * strides[d]] = src[i]. */
function cpuScatter(src: Float64Array, out: Float64Array, shape: readonly number[], strides: readonly number[], offset: number): void {
  walkStrided(shape, [strides], [offset], (i, [j]) => { out[j] = src[i]; });
}

/** Longest broadcast row one invocation of strided_copy's `rows` writes (longer rows keep one element per invocation). */
const MAX_ROW = 1024;

/**
 * Records one strided copy between `src` (read through `srcStrides` from `srcOffset`, or
 * contiguous when scatter) and `out`. A region that merges to one contiguous run becomes a
 * buffer-to-buffer copy; anything else dispatches strided_copy (gather) or scatter_copy.
 */
function gpuStrided(gpu: WebGpuBackend, op: string, kind: 'gather' | 'scatter', src: GpuStorage, out: GpuStorage,
  shape: readonly number[], strides: readonly number[], offset: number): void {
  const n = sizeOf(shape);
  if (n === 0) return;
  const m = mergeAxes(shape, [strides]);
  if (m.shape.length === 0 || (m.shape.length === 1 && m.strides[0][0] === 1)) {
    if (kind === 'gather') gpu.copy(src, out, n * 4, offset * 4, 0);
    else gpu.copy(src, out, n * 4, 0, offset * 4);
    return;
  }
  const r = m.shape.length - 1, inner = m.shape[r];
  const t = kind === 'gather' ? lastTwoSwapped(m.shape, m.strides[0], offset) : null;
  if (t) {
    transposeGpu(gpu, src, t.batch, t.R, t.C, out);
    return;
  }
  if (kind === 'gather' && m.strides[0][r] === 0 && inner % 4 === 0 && inner <= MAX_ROW) {
    // the innermost axis is a broadcast: one invocation per row (strided_copy.wgsl `rows`)
    const rows = n / inner, outer = m.shape.slice(0, r), outerStrides = m.strides[0].slice(0, r);
    gpu.run({
      shader: 'strided_copy', entry: 'rows', inputs: [src], outputs: [out],
      params: [u32(rows), u32(r), u32(offset), u32(inner), ...u32Array(op, outer), ...u32Array(op, outerStrides)],
      workgroups: grid(Math.ceil(rows / 256)),
    });
    return;
  }
  gpu.run({
    shader: kind === 'gather' ? 'strided_copy' : 'scatter_copy', inputs: [src], outputs: [out],
    params: [u32(n), u32(m.shape.length), u32(offset), u32(0), ...u32Array(op, m.shape), ...u32Array(op, m.strides[0])],
    workgroups: grid(Math.ceil(n / 256)),
  });
}

/**
 * Whether a gather of `shape` through `strides` reads a batch of R x C row-major matrices
 * transposed (output [batch, C, R]) from its start, with R and C multiples of 4: then
 * shaders/transpose.wgsl moves it by 4 x 4 blocks.
 */
function lastTwoSwapped(shape: readonly number[], strides: readonly number[], offset: number): { batch: number; R: number; C: number } | null {
  const n = shape.length;
  if (n < 2 || n > 3 || offset !== 0) return null;
  const C = shape[n - 2], R = shape[n - 1];
  if (strides[n - 2] !== 1 || strides[n - 1] !== C || C % 4 !== 0 || R % 4 !== 0) return null;
  if (n === 3 && strides[0] !== R * C) return null;
  return { batch: n === 3 ? shape[0] : 1, R, C };
}

/**
 * out [batch, C, R] = src [batch, R, C] with each matrix transposed (R and C multiples of 4; out
 * allocated unless given): permute's last-two-axes swap, and for ops that read an operand better
 * transposed (matmul on CPU adapters).
 */
export function transposeGpu(gpu: WebGpuBackend, src: GpuStorage, batch: number, R: number, C: number, out = gpu.alloc(batch * R * C)): GpuStorage {
  const blocks = batch * (R / 4) * (C / 4);
  gpu.run({
    shader: 'transpose', inputs: [src], outputs: [out],
    params: [u32(blocks), u32(R / 4), u32(C / 4), u32(0)],
    workgroups: grid(Math.ceil(blocks / 64)),
  });
  return out;
}

function gpuGather(gpu: WebGpuBackend, op: string, src: GpuStorage, shape: readonly number[], strides: readonly number[], offset: number): GpuStorage {
  const out = gpu.alloc(sizeOf(shape));
  gpuStrided(gpu, op, 'gather', src, out, shape, strides, offset);
  return out;
}

/** A buffer of n elements all holding `value` converted to dtype (its bit pattern). */
function gpuFilled(gpu: WebGpuBackend, n: number, value: number, dtype: DType): GpuStorage {
  const out = gpu.alloc(n);
  const bits = new Uint32Array(toTypedArray(dtype, [value]).buffer)[0];
  if (n > 0) gpu.run({ shader: 'fill', inputs: [], outputs: [out], params: [u32(n), u32(bits)], workgroups: grid(Math.ceil(n / 256)) });
  return out;
}

const fmtList = (v: readonly number[]) => `[${v.join(',')}]`;

function checkInts(op: string, what: string, v: unknown, min: number): number[] {
  if (!Array.isArray(v) || v.some((d) => !Number.isInteger(d) || d < min)) {
    throw new ArgumentError(op, `${what} must be an array of integers >= ${min}, got ${Array.isArray(v) ? fmtList(v) : String(v)}`);
  }
  return [...v];
}

// ---- permute / transpose -----------------------------------------------------------------------

export interface PermuteAttrs { readonly dims: readonly number[] }

export const PermuteOp = defineOp<PermuteAttrs>({
  name: 'permute',
  shape([x], a) { return { shape: a.dims.map((d) => x.shape[d]), dtype: x.dtype }; },
  cpu(_b, [x], a, out) {
    const s = stridesOf(x.shape);
    return cpuGather(x.data, out.shape, a.dims.map((d) => s[d]), 0);
  },
  webgpu(gpu, [x], a, out) {
    const s = stridesOf(x.shape);
    return gpuGather(gpu, 'permute', x.storage, out.shape, a.dims.map((d) => s[d]), 0);
  },
  backward(g, ctx) {
    const inv = new Array<number>(ctx.attrs.dims.length);
    ctx.attrs.dims.forEach((d, i) => { inv[d] = i; });
    return [permute(g, inv)];
  },
});

/** Reorders axes: output axis i is input axis dims[i] (negative dims count from the end). */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const bad = () => new ArgumentError('permute', `${Array.isArray(dims) ? fmtList(dims) : String(dims)} is not a permutation of the ${x.rank} axes of ${fmtShape(x.shape)}`);
  if (!Array.isArray(dims) || dims.length !== x.rank) throw bad();
  const norm = dims.map((d) => {
    if (!Number.isInteger(d) || d < -x.rank || d >= x.rank) throw bad();
    return d < 0 ? d + x.rank : d;
  });
  if (new Set(norm).size !== norm.length) throw bad();
  return runOp(PermuteOp, [x], { dims: norm });
}

/** Swaps two axes (by default the last two). */
export const transpose = defineComposite('transpose', true, (x: Tensor, a = -2, b = -1): Tensor => {
  const i = normAxis('transpose', a, x.rank);
  const j = normAxis('transpose', b, x.rank);
  const dims = [...x.shape.keys()];
  dims[i] = j;
  dims[j] = i;
  return permute(x, dims);
});

// ---- slice and pad -----------------------------------------------------------------------------

export interface SliceAttrs { readonly begin: readonly number[]; readonly size: readonly number[]; readonly step: readonly number[] }

function sliceOffsetStrides(shape: readonly number[], a: SliceAttrs): { offset: number; strides: number[] } {
  const s = stridesOf(shape);
  return { offset: a.begin.reduce((acc, b, d) => acc + b * s[d], 0), strides: s.map((v, d) => v * a.step[d]) };
}

export const SliceOp: OpDef<SliceAttrs> = defineOp<SliceAttrs>({
  name: 'slice',
  shape([x], a) { return { shape: a.size, dtype: x.dtype }; },
  cpu(_b, [x], a, out) {
    const { offset, strides } = sliceOffsetStrides(x.shape, a);
    return cpuGather(x.data, out.shape, strides, offset);
  },
  webgpu(gpu, [x], a, out) {
    const { offset, strides } = sliceOffsetStrides(x.shape, a);
    return gpuGather(gpu, 'slice', x.storage, out.shape, strides, offset);
  },
  backward(g, ctx) {
    const a = ctx.attrs;
    const shape = ctx.inputShapes[0];
    const hi = shape.map((dim, d) => dim - a.begin[d] - (a.size[d] === 0 ? 0 : (a.size[d] - 1) * a.step[d] + 1));
    return [runOp(PadOp, [g], { lo: a.begin, hi, interior: a.step.map((s) => s - 1), value: 0 })];
  },
});

/**
 * x[begin : begin + size*step : step] on each axis. begin, size and step may cover only the
 * leading axes (the rest are taken whole); a negative begin counts from the end; size -1 means
 * up to the end; step (default 1) must be positive.
 */
export function slice(x: Tensor, begin: readonly number[], size: readonly number[], step?: readonly number[]): Tensor {
  const op = 'slice';
  if (!Array.isArray(begin) || begin.some((b) => !Number.isInteger(b))) throw new ArgumentError(op, `begin must be an array of integers, got ${String(begin)}`);
  if (!Array.isArray(size) || size.some((s) => !Number.isInteger(s) || s < -1)) throw new ArgumentError(op, `size must be an array of integers >= -1, got ${String(size)}`);
  const st = step === undefined ? begin.map(() => 1) : checkInts(op, 'step', step, 1);
  if (begin.length > x.rank || size.length !== begin.length || st.length !== begin.length) {
    throw new ArgumentError(op, `begin ${fmtList(begin)}, size ${fmtList(size)}${step ? ` and step ${fmtList(step)}` : ''} must have one entry per axis (at most ${x.rank}) for ${fmtShape(x.shape)}`);
  }
  const b = x.shape.map((dim, d) => {
    const v = begin[d] ?? 0;
    const nb = v < 0 ? v + dim : v;
    if (nb < 0 || nb > dim) throw new ArgumentError(op, `begin ${v} is out of range on axis ${d} of ${fmtShape(x.shape)}`);
    return nb;
  });
  const steps = x.shape.map((_, d) => st[d] ?? 1);
  const sz = x.shape.map((dim, d) => {
    const v = size[d] ?? -1;
    if (v === -1) return Math.max(0, Math.ceil((dim - b[d]) / steps[d]));
    if (v > 0 && b[d] + (v - 1) * steps[d] >= dim) {
      throw new ArgumentError(op, `begin ${b[d]}, size ${v}${steps[d] !== 1 ? `, step ${steps[d]}` : ''} runs past the end of axis ${d} of ${fmtShape(x.shape)}`);
    }
    return v;
  });
  return runOp(SliceOp, [x], { begin: b, size: sz, step: steps });
}

export interface PadAttrs {
  /** Elements added before and after each axis. */
  readonly lo: readonly number[];
  readonly hi: readonly number[];
  /** Elements inserted between neighbours on each axis (0 for pad(); the gradient of a stepped slice). */
  readonly interior: readonly number[];
  readonly value: number;
}

function padLayout(outShape: readonly number[], a: PadAttrs): { offset: number; strides: number[] } {
  const s = stridesOf(outShape);
  return { offset: a.lo.reduce((acc, l, d) => acc + l * s[d], 0), strides: s.map((v, d) => v * (a.interior[d] + 1)) };
}

export const PadOp: OpDef<PadAttrs> = defineOp<PadAttrs>({
  name: 'pad',
  shape([x], a) {
    return { shape: x.shape.map((d, i) => a.lo[i] + a.hi[i] + (d === 0 ? 0 : d + (d - 1) * a.interior[i])), dtype: x.dtype };
  },
  cpu(_b, [x], a, out) {
    const res = new Float64Array(sizeOf(out.shape)).fill(toTypedArray(x.dtype, [a.value])[0]);
    const { offset, strides } = padLayout(out.shape, a);
    cpuScatter(x.data, res, x.shape, strides, offset);
    return res;
  },
  webgpu(gpu, [x], a, out) {
    const res = gpuFilled(gpu, sizeOf(out.shape), a.value, x.dtype);
    const { offset, strides } = padLayout(out.shape, a);
    gpuStrided(gpu, 'pad', 'scatter', x.storage, res, x.shape, strides, offset);
    return res;
  },
  backward(g, ctx) {
    const a = ctx.attrs;
    return [runOp(SliceOp, [g], { begin: a.lo, size: ctx.inputShapes[0], step: a.interior.map((i) => i + 1) })];
  },
});

/** Pads each axis with [before, after] elements of `value` (one pair per axis). */
export function pad(x: Tensor, pads: readonly (readonly [number, number])[], value = 0): Tensor {
  const ok = Array.isArray(pads) && pads.length === x.rank
    && pads.every((p) => Array.isArray(p) && p.length === 2 && p.every((v) => Number.isInteger(v) && v >= 0));
  if (!ok) {
    throw new ArgumentError('pad', `pads must be one [before, after] pair of non-negative integers per axis of ${fmtShape(x.shape)}, got ${JSON.stringify(pads)}`);
  }
  if (typeof value !== 'number') throw new ArgumentError('pad', `value must be a number, got ${String(value)}`);
  return runOp(PadOp, [x], { lo: pads.map((p) => p[0]), hi: pads.map((p) => p[1]), interior: pads.map(() => 0), value });
}

// ---- broadcastTo / expand ----------------------------------------------------------------------

export interface BroadcastAttrs { readonly shape: readonly number[] }

export const BroadcastToOp = defineOp<BroadcastAttrs>({
  name: 'broadcastTo',
  shape([x], a) { return { shape: a.shape, dtype: x.dtype }; },
  cpu(_b, [x], a) { return cpuGather(x.data, a.shape, broadcastStrides(x.shape, a.shape), 0); },
  webgpu(gpu, [x], a) { return gpuGather(gpu, 'broadcastTo', x.storage, a.shape, broadcastStrides(x.shape, a.shape), 0); },
  backward(g, ctx) { return [sumTo(g, ctx.inputShapes[0])]; },
});

/** Copies x broadcast (NumPy rules: align right, size-1 axes repeat) to `shape`. */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  const s = checkShape('broadcastTo', shape);
  const off = s.length - x.rank;
  if (off < 0 || x.shape.some((d, i) => d !== 1 && d !== s[off + i])) {
    throw new ShapeError('broadcastTo', `cannot broadcast ${fmtShape(x.shape)} to ${fmtShape(s)}`);
  }
  return runOp(BroadcastToOp, [x], { shape: s });
}

/** broadcastTo where -1 keeps x's size on that axis (aligned from the right), as in PyTorch. */
export const expand = defineComposite('expand', true, (x: Tensor, shape: readonly number[]): Tensor => {
  if (!Array.isArray(shape)) throw new ArgumentError('expand', `shape must be an array of sizes, got ${String(shape)}`);
  const off = shape.length - x.rank;
  const s = shape.map((d, i) => {
    if (d !== -1) return d;
    if (i < off) throw new ShapeError('expand', `-1 is not allowed for the new leading axis ${i} when expanding ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
    return x.shape[i - off];
  });
  if (off < 0) throw new ShapeError('expand', `cannot expand ${fmtShape(x.shape)} to fewer axes ${fmtShape(shape)}`);
  return broadcastTo(x, s);
});

// ---- concat ------------------------------------------------------------------------------------

export interface ConcatAttrs { readonly axis: number }

function concatOffsets(inputs: readonly { shape: readonly number[] }[], axis: number, outShape: readonly number[]): number[] {
  const s = stridesOf(outShape);
  let acc = 0;
  return inputs.map((x) => { const o = acc * s[axis]; acc += x.shape[axis]; return o; });
}

export const ConcatOp = defineOp<ConcatAttrs>({
  name: 'concat',
  shape(inputs, a) {
    const first = inputs[0];
    let total = 0;
    inputs.forEach((x, i) => {
      if (x.dtype !== first.dtype) {
        throw new DTypeError('concat', `input ${i} is ${x.dtype} ${fmtShape(x.shape)} but input 0 is ${first.dtype} ${fmtShape(first.shape)}`, x.dtype);
      }
      if (x.shape.length !== first.shape.length || x.shape.some((d, k) => k !== a.axis && d !== first.shape[k])) {
        throw new ShapeError('concat', `input ${i} has shape ${fmtShape(x.shape)}, which does not match input 0 ${fmtShape(first.shape)} outside axis ${a.axis}`);
      }
      total += x.shape[a.axis];
    });
    return { shape: first.shape.map((d, k) => (k === a.axis ? total : d)), dtype: first.dtype };
  },
  cpu(_b, inputs, a, out) {
    const res = new Float64Array(sizeOf(out.shape));
    const offs = concatOffsets(inputs, a.axis, out.shape);
    const strides = stridesOf(out.shape);
    inputs.forEach((x, i) => cpuScatter(x.data, res, x.shape, strides, offs[i]));
    return res;
  },
  webgpu(gpu, inputs, a, out) {
    const res = gpu.alloc(sizeOf(out.shape));
    const offs = concatOffsets(inputs, a.axis, out.shape);
    const strides = stridesOf(out.shape);
    inputs.forEach((x, i) => gpuStrided(gpu, 'concat', 'scatter', x.storage, res, x.shape, strides, offs[i]));
    return res;
  },
  backward(g, ctx) {
    const axis = ctx.attrs.axis;
    let start = 0;
    return ctx.inputShapes.map((shape, i) => {
      const begin = shape.map((_, k) => (k === axis ? start : 0));
      start += shape[axis];
      return ctx.needs[i] ? runOp(SliceOp, [g], { begin, size: shape, step: shape.map(() => 1) }) : null;
    });
  },
});

/** Joins tensors of one dtype and equal shapes outside `axis` along `axis`. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(xs) || xs.length === 0) throw new ArgumentError('concat', 'needs at least one tensor');
  if (xs[0].rank === 0) throw new ShapeError('concat', `cannot concatenate rank-0 tensors (input 0 has shape ${fmtShape(xs[0].shape)})`);
  return runOp(ConcatOp, xs, { axis: normAxis('concat', axis, xs[0].rank) });
}

// ---- cast --------------------------------------------------------------------------------------

export interface CastAttrs { readonly dtype: DType }

const DTYPE_CODE: Record<DType, number> = { f32: 0, i32: 1, u32: 2 };
const I32_MAX_F32 = 2147483520; // largest f32 below 2^31
const U32_MAX_F32 = 4294967040; // largest f32 below 2^32

function castValue(v: number, from: DType, to: DType): number {
  if (from === to) return v;
  if (to === 'f32') return from === 'u32' ? v >>> 0 : v | 0;
  if (from === 'f32') {
    if (Number.isNaN(v)) return 0;
    const t = Math.trunc(v);
    return to === 'i32' ? Math.min(Math.max(t, -2147483648), I32_MAX_F32) : Math.min(Math.max(t, 0), U32_MAX_F32);
  }
  return to === 'u32' ? v >>> 0 : v | 0;
}

export const CastOp = defineOp<CastAttrs>({
  name: 'cast',
  shape([x], a) { return { shape: x.shape, dtype: a.dtype }; },
  cpu(_b, [x], a) { return x.data.map((v) => castValue(v, x.dtype, a.dtype)); },
  webgpu(gpu, [x], a) {
    const out = gpu.alloc(x.size);
    if (x.dtype === a.dtype || (x.dtype !== 'f32' && a.dtype !== 'f32')) gpu.copy(x.storage, out, x.size * 4);
    else if (x.size > 0) {
      gpu.run({
        shader: 'cast', constants: { FROM: DTYPE_CODE[x.dtype], TO: DTYPE_CODE[a.dtype] }, inputs: [x.storage], outputs: [out],
        params: [u32(x.size)], workgroups: grid(Math.ceil(x.size / 256)),
      });
    }
    return out;
  },
});

/**
 * Converts to `dtype`: f32 -> i32/u32 rounds toward zero (as PyTorch) and saturates; i32 <-> u32
 * keeps the bits. Not differentiable.
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (!isDType(dtype)) throw new ArgumentError('cast', `unknown dtype ${String(dtype)} for ${fmtShape(x.shape)} ${x.dtype}`);
  return runOp(CastOp, [x], { dtype });
}

// ---- clone / contiguous ------------------------------------------------------------------------

export const CloneOp = defineOp<void>({
  name: 'clone',
  shape([x]) { return { shape: x.shape, dtype: x.dtype }; },
  cpu(_b, [x]) { return x.data.slice(); },
  webgpu(gpu, [x]) { return gpuGather(gpu, 'clone', x.storage, x.shape, stridesOf(x.shape), 0); },
  backward(g) { return [g]; },
});

/** A copy of x with its own storage. */
export const clone = (x: Tensor) => runOp(CloneOp, [x], undefined);

/**
 * x with row-major contiguous storage. Every tensor's storage already is (views only reshape),
 * so this is a new view on the same storage; use clone() for a copy.
 */
export const contiguous = defineComposite('contiguous', true, (x: Tensor): Tensor => reshape(x, x.shape));

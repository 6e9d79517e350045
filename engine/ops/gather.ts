/**
 * Indexing: gather takes slices of x along an axis by i32 indices [K] (shaders/gather.wgsl); its
 * adjoint scatterAdd sums slices back into a tensor of the original size (shaders/scatter_add.wgsl,
 * one invocation per chunk of a destination row looping over the indices: deterministic, no atomics).
 * Out-of-range indices: the CPU reference throws an ArgumentError naming the index; the WebGPU
 * kernels cannot report errors, so gather writes 0 there and scatterAdd drops those slices.
 */
import { ArgumentError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import { normAxis, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { grid, u32, type WebGpuBackend } from '../webgpu/backend.js';
import { defineOp, requireF32, runOp, type CpuInput, type TensorMeta } from './registry.js';

/**
 * Elements of a destination row per scatterAdd invocation: on CPU adapters the loop over the K
 * indices is the cost, so one invocation takes 32 elements (CPC's step, `--profile`: its two
 * label-gather adjoints took 0.92 s with one invocation per element, 0.04 s by chunks); GPUs keep 4 for parallelism.
 */
function scatterChunk(gpu: WebGpuBackend): number {
  return scatterChunkForTests.force ?? (gpu.isCpuAdapter ? 32 : 4);
}
/** @internal Test hook: force scatterAdd's chunk (elements per invocation) to run the other device's variant. */
export const scatterChunkForTests: { force: number | null } = { force: null };

export interface GatherAttrs { readonly axis: number }
export interface ScatterAddAttrs { readonly axis: number; readonly size: number }

function checkIndices(op: string, idx: TensorMeta): void {
  if (idx.dtype !== 'i32' || idx.shape.length !== 1) {
    throw new DTypeError(op, `indices must be i32 of shape [K], got ${fmtShape(idx.shape)} ${idx.dtype}`, idx.dtype);
  }
}

function checkRange(op: string, idx: CpuInput, size: number, axis: number): void {
  idx.data.forEach((j, k) => {
    if (j < 0 || j >= size) throw new ArgumentError(op, `index ${j} (position ${k}) out of range for axis ${axis} of size ${size}`);
  });
}

/** [outer, D, inner] around `axis`. */
function around(shape: readonly number[], axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis], sizeOf(shape.slice(axis + 1))];
}

/** Copies x[o, idx[k], i] to out[o, k, i]; CPU helper for both directions (add = scatter). */
function moveSlices(src: Float64Array, dst: Float64Array, idx: Float64Array, outer: number, inner: number, srcD: number, dstD: number, scatter: boolean): void {
  for (let o = 0; o < outer; o++) {
    idx.forEach((j, k) => {
      for (let i = 0; i < inner; i++) {
        if (scatter) dst[(o * dstD + j) * inner + i] += src[(o * srcD + k) * inner + i];
        else dst[(o * dstD + k) * inner + i] = src[(o * srcD + j) * inner + i];
      }
    });
  }
}

export const GatherOp = defineOp<GatherAttrs>({
  name: 'gather',
  shape([x, idx], { axis }) {
    checkIndices('gather', idx);
    return { shape: x.shape.map((d, i) => (i === axis ? idx.shape[0] : d)), dtype: x.dtype };
  },
  cpu(_b, [x, idx], { axis }, out) {
    const [outer, d, inner] = around(x.shape, axis);
    checkRange('gather', idx, d, axis);
    const res = new Float64Array(sizeOf(out.shape));
    moveSlices(x.data, res, idx.data, outer, inner, d, idx.data.length, false);
    return res;
  },
  webgpu(gpu, [x, idx], { axis }, meta) {
    const [, d, inner] = around(x.shape, axis);
    const n = sizeOf(meta.shape);
    const out = gpu.alloc(n);
    gpu.run({
      shader: 'gather', inputs: [x.storage, idx.storage], outputs: [out],
      params: [u32(n), u32(d), u32(idx.shape[0]), u32(inner)], workgroups: grid(Math.ceil(n / 256)),
    });
    return out;
  },
  backward(g, ctx) { return [scatterAdd(g, ctx.inputs[1]!, ctx.inputShapes[0][ctx.attrs.axis], ctx.attrs.axis), null]; },
  saves: { inputs: [1] }, // the indices only
});

export const ScatterAddOp = defineOp<ScatterAddAttrs>({
  name: 'scatterAdd',
  shape([g, idx], { axis, size }) {
    requireF32('scatterAdd', g);
    checkIndices('scatterAdd', idx);
    if (g.shape[axis] !== idx.shape[0]) {
      throw new ShapeError('scatterAdd', `axis ${axis} of ${fmtShape(g.shape)} must match ${idx.shape[0]} indices`);
    }
    return { shape: g.shape.map((d, i) => (i === axis ? size : d)), dtype: 'f32' };
  },
  cpu(_b, [g, idx], { axis, size }, out) {
    const [outer, k, inner] = around(g.shape, axis);
    checkRange('scatterAdd', idx, size, axis);
    const res = new Float64Array(sizeOf(out.shape));
    moveSlices(g.data, res, idx.data, outer, inner, k, size, true);
    return res;
  },
  webgpu(gpu, [g, idx], { axis, size }, meta) {
    const inner = sizeOf(g.shape.slice(axis + 1));
    const chunk = scatterChunk(gpu);
    const n = (sizeOf(meta.shape) / Math.max(1, inner)) * Math.ceil(inner / chunk);
    const out = gpu.alloc(sizeOf(meta.shape));
    gpu.run({
      shader: 'scatter_add', constants: { CHUNK: chunk }, inputs: [g.storage, idx.storage], outputs: [out],
      params: [u32(n), u32(size), u32(idx.shape[0]), u32(inner)], workgroups: grid(Math.ceil(n / 256)),
    });
    return out;
  },
  backward(g, ctx) { return [gather(g, ctx.inputs[1]!, ctx.attrs.axis), null]; },
  saves: { inputs: [1] }, // the indices only
});

/** Slices of x along `axis` at i32 `indices` [K]: the output has K in place of x.shape[axis]. */
export function gather(x: Tensor, indices: Tensor, axis = 0): Tensor {
  return runOp(GatherOp, [x, indices], { axis: normAxis('gather', axis, x.rank) });
}

/** Adds slices of g (K along `axis`) into a zero tensor with `size` along axis, at `indices`. */
export function scatterAdd(g: Tensor, indices: Tensor, size: number, axis = 0): Tensor {
  if (!Number.isInteger(size) || size < 0) throw new ArgumentError('scatterAdd', `size must be a non-negative integer, got ${size}`);
  return runOp(ScatterAddOp, [g, indices], { axis: normAxis('scatterAdd', axis, g.rank), size });
}

/**
 * Movement ops: reshape and its composites (flatten, squeeze, unsqueeze), which are views sharing
 * storage; and copies through strided kernels: permute/transpose, slice, broadcastTo/expand and
 * clone read a strided region into a contiguous output (shaders/strided_copy.wgsl); concat and
 * pad write contiguous inputs into strided regions of an output (shaders/scatter_copy.wgsl);
 * cast converts between dtypes (shaders/cast.wgsl). The copy kernels move u32 bit patterns, so
 * they serve f32, i32 and u32 alike.
 */
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { normAxis, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { defineComposite, defineOp, runOp } from './registry.js';

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

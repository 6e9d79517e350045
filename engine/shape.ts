/** Shape arithmetic shared by the shape rules of all ops. Shapes are row-major (C order). */
import { ArgumentError, ShapeError, fmtShape } from './errors.js';

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
  return s;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function checkShape(op: string, shape: Shape): number[] {
  if (!Array.isArray(shape)) throw new ArgumentError(op, `shape must be an array of sizes, got ${String(shape)}`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ArgumentError(op, `invalid shape ${fmtShape(shape)}: sizes must be non-negative integers`);
  }
  return [...shape];
}

/** NumPy broadcasting of two shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(op, `shapes do not broadcast: ${fmtShape(a)} and ${fmtShape(b)}`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides for reading a tensor of `shape` as if broadcast to `outShape` (0 on broadcast axes). */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const s = stridesOf(shape);
  const off = outShape.length - shape.length;
  return outShape.map((_, i) => {
    const j = i - off;
    return j < 0 || shape[j] === 1 ? 0 : s[j];
  });
}

/** Normalizes an axis (negative counts from the end) and checks its range. */
export function normAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new ArgumentError(op, `axis ${axis} out of range for rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Normalizes a set of axes (undefined = all), sorted and without duplicates. */
export function normAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = [...new Set(list.map((a) => normAxis(op, a, rank)))].sort((x, y) => x - y);
  if (out.length !== list.length) throw new ArgumentError(op, `repeated axis in [${list.join(',')}]`);
  return out;
}

/** Output shape of a reduction. */
export function reducedShape(shape: Shape, axes: readonly number[], keepDims: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (axes.includes(i)) { if (keepDims) out.push(1); } else out.push(d);
  });
  return out;
}

/**
 * Merges adjacent axes that every operand walks contiguously (stride[i] = stride[i+1] * dim[i+1],
 * or both 0), so strided kernels see the smallest rank. Drops size-1 axes.
 */
export function mergeAxes(shape: Shape, strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const last = outShape.length - 1;
    const canMerge = last >= 0 && strides.every((s, k) => outStrides[k][last] === s[i] * shape[i]);
    if (canMerge) {
      outShape[last] *= shape[i];
      strides.forEach((s, k) => { outStrides[k][last] = s[i]; });
    } else {
      outShape.push(shape[i]);
      strides.forEach((s, k) => outStrides[k].push(s[i]));
    }
  }
  return { shape: outShape, strides: outStrides };
}

/**
 * Visits every multi-index of `shape` in row-major order, calling fn(i, offsets) where
 * offsets[k] = base[k] + sum_d idx_d * strides[k][d]: the walk behind every CPU strided kernel.
 */
export function walkStrided(shape: Shape, strides: readonly (readonly number[])[], base: readonly number[], fn: (i: number, offsets: readonly number[]) => void): void {
  const n = sizeOf(shape);
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  const offs = [...base];
  const k = strides.length;
  for (let i = 0; i < n; i++) {
    fn(i, offs);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      for (let j = 0; j < k; j++) offs[j] += strides[j][d];
      if (idx[d] < shape[d]) break;
      for (let j = 0; j < k; j++) offs[j] -= strides[j][d] * shape[d];
      idx[d] = 0;
    }
  }
}

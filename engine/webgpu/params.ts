/** Packing helpers for the uniform blocks of strided kernels (arrays of vec4<u32>). */
import { EngineError } from '../errors.js';
import { u32, type Param } from './backend.js';

/** Kernels with per-axis strides support this many axes after mergeAxes(). */
export const MAX_STRIDED_RANK = 8;

/** `values` as u32 params padded to `length` (a multiple of 4, for array<vec4<u32>, length/4>). */
export function u32Array(op: string, values: readonly number[], length = MAX_STRIDED_RANK): Param[] {
  if (values.length > length) throw new EngineError(op, `rank ${values.length} exceeds the ${length} axes this kernel supports after merging`);
  return Array.from({ length }, (_, i) => u32(values[i] ?? 0));
}

/** Element types. f32 for values; i32/u32 for indices and labels. */
export type DType = 'f32' | 'i32' | 'u32';

export type TypedArray = Float32Array | Int32Array | Uint32Array;

export const BYTES_PER_ELEMENT = 4;

export function arrayFor(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case 'f32': return new Float32Array(size);
    case 'i32': return new Int32Array(size);
    case 'u32': return new Uint32Array(size);
  }
}

/** Converts any numeric array into the typed array of `dtype` (a copy). */
export function toTypedArray(dtype: DType, values: ArrayLike<number>): TypedArray {
  const out = arrayFor(dtype, values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i];
  return out;
}

export function isDType(x: unknown): x is DType {
  return x === 'f32' || x === 'i32' || x === 'u32';
}

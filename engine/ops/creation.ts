/**
 * Creating tensors. Random values are drawn on the host from a seeded generator and uploaded, so
 * the same seed gives the same numbers on every backend and every run.
 */
import type { Backend } from '../backend.js';
import { toTypedArray, type DType, type TypedArray } from '../dtype.js';
import { ArgumentError, fmtShape } from '../errors.js';
import { checkShape, sizeOf } from '../shape.js';
import { StorageRef, Tensor } from '../tensor.js';
import { getBackend, globalRandom } from '../runtime.js';
import type { Random } from '../random.js';
import type { CpuBackend } from '../cpu/backend.js';
import { grid, u32, type WebGpuBackend } from '../webgpu/backend.js';

export interface CreateOptions { dtype?: DType; backend?: Backend; requiresGrad?: boolean }
export interface RandomOptions extends CreateOptions { rng?: Random }

function make(op: string, data: TypedArray, shape: readonly number[], opts: CreateOptions): Tensor {
  const backend = opts.backend ?? getBackend();
  const t = new Tensor(new StorageRef(backend, backend.upload(data)), checkShape(op, shape), opts.dtype ?? 'f32');
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

type Nested = number | Nested[];

/** A tensor from values: a flat array with a shape, or nested arrays. */
export function tensor(values: Nested | ArrayLike<number>, shape?: readonly number[], opts: CreateOptions = {}): Tensor {
  const dtype = opts.dtype ?? 'f32';
  let flat: ArrayLike<number>;
  let inferred: number[];
  if (typeof values === 'number') { flat = [values]; inferred = []; }
  else if (Array.isArray(values) && values.some(Array.isArray)) {
    inferred = [];
    for (let v: Nested = values as Nested; Array.isArray(v); v = v[0]) inferred.push(v.length);
    flat = (values as Nested[]).flat(Infinity as 1) as number[];
    if (flat.length !== sizeOf(inferred)) throw new ArgumentError('tensor', `ragged nested array: expected ${sizeOf(inferred)} values for ${fmtShape(inferred)}, got ${flat.length}`);
  } else { flat = values as ArrayLike<number>; inferred = [flat.length]; }
  const s = shape ? checkShape('tensor', shape) : inferred;
  if (sizeOf(s) !== flat.length) throw new ArgumentError('tensor', `${flat.length} values do not fill shape ${fmtShape(s)}`);
  return make('tensor', toTypedArray(dtype, flat), s, { ...opts, dtype });
}

/** A tensor filled with `value`, written by a kernel (no upload). */
export function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  const s = checkShape('full', shape);
  const dtype = opts.dtype ?? 'f32';
  const backend = opts.backend ?? getBackend();
  const n = sizeOf(s);
  let storage;
  if (backend.kind === 'cpu') storage = (backend as CpuBackend).wrap(new Float64Array(n).fill(toTypedArray(dtype, [value])[0]));
  else {
    const gpu = backend as WebGpuBackend;
    storage = gpu.alloc(n);
    const bits = new Uint32Array(toTypedArray(dtype, [value]).buffer)[0];
    gpu.run({ shader: 'fill', inputs: [], outputs: [storage], params: [u32(n), u32(bits)], workgroups: grid(Math.ceil(n / 256)) });
  }
  const t = new Tensor(new StorageRef(backend, storage), s, dtype);
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

export const zeros = (shape: readonly number[], opts: CreateOptions = {}) => full(shape, 0, opts);
export const ones = (shape: readonly number[], opts: CreateOptions = {}) => full(shape, 1, opts);
export const zerosLike = (t: Tensor) => full(t.shape, 0, { dtype: t.dtype, backend: t.backend });
export const onesLike = (t: Tensor) => full(t.shape, 1, { dtype: t.dtype, backend: t.backend });
export const fullLike = (t: Tensor, v: number) => full(t.shape, v, { dtype: t.dtype, backend: t.backend });
/** A rank-0 tensor on t's backend. */
export const scalarLike = (t: Tensor, v: number) => full([], v, { backend: t.backend });

/** [start, start+step, ...) below stop. */
export function arange(start: number, stop?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (stop === undefined) { stop = start; start = 0; }
  if (step === 0 || !Number.isFinite(step)) throw new ArgumentError('arange', `step must be a finite non-zero number, got ${step}`);
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const v = Array.from({ length: n }, (_, i) => start + i * step);
  return make('arange', toTypedArray(opts.dtype ?? 'f32', v), [n], opts);
}

/** Uniform in [low, high). */
export function rand(shape: readonly number[], opts: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  const s = checkShape('rand', shape);
  const rng = opts.rng ?? globalRandom;
  const lo = opts.low ?? 0, hi = opts.high ?? 1;
  const data = new Float32Array(sizeOf(s));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * rng.uniform();
  return make('rand', data, s, { ...opts, dtype: 'f32' });
}

/** Normal with the given mean and standard deviation. */
export function randn(shape: readonly number[], opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  const s = checkShape('randn', shape);
  const rng = opts.rng ?? globalRandom;
  const mean = opts.mean ?? 0, std = opts.std ?? 1;
  const data = new Float32Array(sizeOf(s));
  for (let i = 0; i < data.length; i++) data[i] = mean + std * rng.normal();
  return make('randn', data, s, { ...opts, dtype: 'f32' });
}

/** Integers uniform in [low, high) as i32. */
export function randint(low: number, high: number, shape: readonly number[], opts: RandomOptions = {}): Tensor {
  const s = checkShape('randint', shape);
  if (!(high > low)) throw new ArgumentError('randint', `high (${high}) must exceed low (${low})`);
  const rng = opts.rng ?? globalRandom;
  const data = new Int32Array(sizeOf(s));
  for (let i = 0; i < data.length; i++) data[i] = low + rng.int(high - low);
  return make('randint', data, s, { ...opts, dtype: 'i32' });
}

/** A copy of t on another backend (through the host). */
export async function toBackend(t: Tensor, backend: Backend): Promise<Tensor> {
  return make('toBackend', await t.data(), t.shape, { dtype: t.dtype, backend });
}

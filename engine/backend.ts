/**
 * The backend contract. A backend owns memory and runs kernels; it knows nothing of autograd.
 * Two exist: `cpu` (plain TypeScript, float64, the test oracle and the fallback) and `webgpu`.
 * Kernels themselves live with their op definitions (engine/ops/), one per backend kind.
 */
import type { DType, TypedArray } from './dtype.js';

/** Opaque memory owned by one backend. */
export interface Storage {
  /** Bytes this storage holds for its elements (not the pooled allocation size). */
  readonly byteLength: number;
}

export interface MemoryInfo {
  /** Storages handed out and not yet released. */
  liveBuffers: number;
  /** Bytes of those storages (allocation size, including size-class rounding). */
  liveBytes: number;
  /** Released storages kept for reuse. */
  pooledBuffers: number;
  pooledBytes: number;
}

export type BackendKind = 'cpu' | 'webgpu';

export interface Backend {
  readonly kind: BackendKind;
  /** Human-readable device name, used in errors ("webgpu (llvmpipe)"). */
  readonly label: string;
  /** Storage for `size` elements; contents are undefined until a kernel writes them. */
  alloc(size: number, dtype: DType): Storage;
  /** Storage holding a copy of `data`. */
  upload(data: TypedArray): Storage;
  /** Copies storage back to the host (flushes pending work first). */
  read(storage: Storage, dtype: DType, size: number): Promise<TypedArray>;
  /** Copies `bytes` of src from byte srcOffset into dst from byte dstOffset, in order with the work queued so far. */
  copy(src: Storage, dst: Storage, bytes: number, srcOffset?: number, dstOffset?: number): void;
  /** Gives storage back; it may be reused at once by later work. */
  release(storage: Storage): void;
  /** Submits work queued so far without waiting for it. */
  flush(): void;
  /** Waits until all submitted work has finished. */
  sync(): Promise<void>;
  memory(): MemoryInfo;
  /** Frees everything the backend holds; the backend is unusable afterwards. */
  destroy(): void;
}

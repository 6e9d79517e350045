/**
 * The CPU reference backend: plain TypeScript, every value held and computed in float64. It is the
 * oracle the WebGPU kernels are tested against, the engine of gradcheck's finite differences, and
 * the fallback when no WebGPU adapter exists.
 */
import type { Backend, MemoryInfo, Storage } from '../backend.js';
import { BYTES_PER_ELEMENT, arrayFor, type DType, type TypedArray } from '../dtype.js';
import { EngineError } from '../errors.js';

export interface CpuStorage extends Storage { readonly data: Float64Array }

export class CpuBackend implements Backend {
  readonly kind = 'cpu' as const;
  readonly label = 'cpu';
  private live = new Set<CpuStorage>();
  private liveBytes = 0;
  private destroyed = false;

  alloc(size: number): CpuStorage { return this.wrap(new Float64Array(size)); }

  upload(data: TypedArray | Float64Array): CpuStorage { return this.wrap(Float64Array.from(data)); }

  /** Takes ownership of kernel output. */
  wrap(data: Float64Array): CpuStorage {
    this.check();
    const s: CpuStorage = { data, byteLength: data.length * BYTES_PER_ELEMENT };
    this.live.add(s);
    this.liveBytes += s.byteLength;
    return s;
  }

  view(storage: Storage): Float64Array { return (storage as CpuStorage).data; }

  copy(src: Storage, dst: Storage, bytes: number, srcOffset = 0, dstOffset = 0): void {
    const from = srcOffset / BYTES_PER_ELEMENT;
    (dst as CpuStorage).data.set((src as CpuStorage).data.subarray(from, from + bytes / BYTES_PER_ELEMENT), dstOffset / BYTES_PER_ELEMENT);
  }

  async read(storage: Storage, dtype: DType, size: number): Promise<TypedArray> {
    this.check();
    const out = arrayFor(dtype, size);
    const src = (storage as CpuStorage).data;
    for (let i = 0; i < size; i++) out[i] = src[i];
    return out;
  }

  /** Float64 copy, without rounding to f32 (gradcheck needs the full precision). */
  readF64(storage: Storage): Float64Array { return Float64Array.from((storage as CpuStorage).data); }

  release(storage: Storage): void {
    const s = storage as CpuStorage;
    if (this.live.delete(s)) this.liveBytes -= s.byteLength;
  }

  flush(): void {}
  async sync(): Promise<void> {}

  memory(): MemoryInfo {
    return { liveBuffers: this.live.size, liveBytes: this.liveBytes, pooledBuffers: 0, pooledBytes: 0 };
  }

  destroy(): void {
    this.live.clear();
    this.liveBytes = 0;
    this.destroyed = true;
  }

  private check(): void {
    if (this.destroyed) throw new EngineError('cpu', 'backend was destroyed');
  }
}

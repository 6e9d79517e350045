/**
 * The WebGPU backend: buffer pool, pipeline and bind-group caches, and command batching.
 *
 * Dispatches are recorded into one open compute pass and submitted together on flush (a read, an
 * explicit sync, or every `dispatchesPerSubmit` dispatches so the GPU starts while JS encodes).
 * Bindings follow one convention for every shader: inputs (read-only storage) from binding 0,
 * then outputs (read_write storage), then one uniform block of 4-byte params if any.
 */
import type { Backend, MemoryInfo, Storage } from '../backend.js';
import { BYTES_PER_ELEMENT, arrayFor, type DType, type TypedArray } from '../dtype.js';
import { DeviceError, EngineError } from '../errors.js';
import { acquireDevice, type AcquireOptions, type AcquiredDevice } from './device.js';
import { BufferPool } from './pool.js';
import { loadShaders, type ShaderName } from './shaders.js';
import { waitFor, type WaitStrategy } from './wait.js';
import { Profiler, type ProfileMethod, type ProfileReport } from './profiler.js';

export interface GpuStorage extends Storage {
  readonly buffer: GPUBuffer;
  readonly classBytes: number;
  /** Identity of the GPUBuffer (stable across pool reuse, so cached bind groups hit). */
  readonly id: number;
}

export type Param = { readonly t: 'u32' | 'i32' | 'f32'; readonly v: number };
export const u32 = (v: number): Param => ({ t: 'u32', v });
export const i32 = (v: number): Param => ({ t: 'i32', v });
export const f32 = (v: number): Param => ({ t: 'f32', v });

export interface Dispatch {
  shader: ShaderName;
  entry?: string;
  /** Pipeline-overridable constants (`override` in WGSL): part of the pipeline cache key. */
  constants?: Record<string, number>;
  inputs: readonly GpuStorage[];
  outputs: readonly GpuStorage[];
  params?: readonly Param[];
  /** Workgroup counts; use grid() for 1-D work that may exceed 65535 workgroups. */
  workgroups: readonly [number, number?, number?];
}

export const MAX_WORKGROUPS_PER_DIM = 65535;

/** Whether a buffer can be bound as array<vec4<f32>> covering n elements (its last vec4 may reach into the slack). */
export function holdsVec4s(s: GpuStorage, n: number): boolean {
  return s.classBytes >= Math.ceil(n / 4) * 16;
}

/**
 * The grid of a kernel that walks n f32 as ceil(n / 4) vec4s, `perInvocation` of them per
 * invocation, grid-stride (shaders/lib/vec4_tail.wgsl): T invocations and the workgroups for wg.
 * Such kernels read and write whole vec4s, so every buffer they bind must hold them: pooled buffers
 * do (size classes are multiples of 16 bytes); anything else is a DeviceError naming the op.
 */
export function vec4Grid(op: string, n: number, perInvocation: number, wg: number, storages: readonly GpuStorage[]): { T: number; workgroups: [number, number] } {
  for (const s of storages) {
    if (!holdsVec4s(s, n)) throw new DeviceError(op, `a buffer of ${s.classBytes} bytes cannot hold ${n} elements as vec4s (${Math.ceil(n / 4) * 16} bytes)`);
  }
  const T = Math.ceil(Math.ceil(n / 4) / perInvocation);
  return { T, workgroups: grid(Math.ceil(T / wg)) };
}

/** Bytes a dispatch binds as inputs and outputs (element bytes, not pool classes). */
function boundBytes(d: Dispatch): number {
  let n = 0;
  for (const b of d.inputs) n += b.byteLength;
  for (const b of d.outputs) n += b.byteLength;
  return n;
}

/** Splits n workgroups over x and y. Shaders rebuild the index as wid.x + wid.y * nwg.x. */
export function grid(n: number): [number, number] {
  if (n <= MAX_WORKGROUPS_PER_DIM) return [Math.max(n, 1), 1];
  const y = Math.ceil(n / MAX_WORKGROUPS_PER_DIM);
  return [Math.ceil(n / y), y];
}

export interface WebGpuOptions extends AcquireOptions {
  wait?: WaitStrategy;
  dispatchesPerSubmit?: number;
}

const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x4 /* COPY_SRC */ | 0x8 /* COPY_DST */;
const UNIFORM_USAGE = 0x40 /* UNIFORM */ | 0x8 /* COPY_DST */;
const READBACK_USAGE = 0x1 /* MAP_READ */ | 0x8 /* COPY_DST */;
const PARAM_CACHE_LIMIT = 4096;
const BIND_GROUP_CACHE_LIMIT = 8192;

/** A bind-group layout of storage inputs, storage outputs and maybe params, and its pipeline layout. */
interface Layout { bindGroup: GPUBindGroupLayout; pipeline: GPUPipelineLayout; id: number }

export class WebGpuBackend implements Backend {
  readonly kind = 'webgpu' as const;
  readonly label: string;
  readonly device: GPUDevice;
  readonly isCpuAdapter: boolean;
  readonly adapterInfo: AcquiredDevice['adapterInfo'];
  private errors: string[];

  private pool: BufferPool;
  private readback: BufferPool;
  private shaders: Map<ShaderName, string>;
  private modules = new Map<ShaderName, GPUShaderModule>();
  private pipelines = new Map<string, { pipeline: GPUComputePipeline; layout: Layout }>();
  private layouts = new Map<string, Layout>();
  private paramBuffers = new Map<string, GpuStorage>();
  private bindGroups = new Map<string, GPUBindGroup>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pending = 0;
  private batch = 1;
  private nextId = 1;
  private bufferIds = new WeakMap<GPUBuffer, number>();
  /** Batch in which recorded work last used each buffer. */
  private lastUse = new WeakMap<GPUBuffer, number>();
  private live = 0;
  private liveBytes = 0;
  private destroyed = false;
  /** How syncs and reads wait for the queue (see wait.ts). */
  readonly wait: WaitStrategy;
  private dispatchesPerSubmit: number;
  /** Dispatches recorded since creation (for tests and profiling). */
  dispatchCount = 0;
  /** Buffer-to-buffer copies recorded since creation (reads excluded). */
  copyCount = 0;
  /** Command buffers submitted since creation. */
  submitCount = 0;
  /** Bind groups created since creation (each dispatch reuses a cached one where it can). */
  bindGroupCount = 0;
  /** The active profiler (startProfile .. stopProfile), else null. */
  profiler: Profiler | null = null;

  private constructor(acq: AcquiredDevice, shaders: Map<ShaderName, string>, opts: WebGpuOptions) {
    this.device = acq.device;
    this.isCpuAdapter = acq.isCpuAdapter;
    this.adapterInfo = acq.adapterInfo;
    this.errors = acq.errors;
    this.label = `webgpu (${acq.adapterInfo.description || acq.adapterInfo.device || acq.adapterInfo.vendor || 'adapter'})`;
    this.pool = new BufferPool(this.device, STORAGE_USAGE);
    this.readback = new BufferPool(this.device, READBACK_USAGE);
    this.shaders = shaders;
    // Sleeping between polls gives a CPU adapter's worker threads the core the poll would take; a
    // GPU needs no core of ours, and a sleep slice (up to 2 ms) would delay every short sync.
    this.wait = opts.wait ?? (acq.isCpuAdapter ? 'sleep' : 'spin');
    this.dispatchesPerSubmit = opts.dispatchesPerSubmit ?? 128;
  }

  /** Creates a backend on the first adapter, or returns null when there is none. */
  static async create(opts: WebGpuOptions = {}): Promise<WebGpuBackend | null> {
    const acq = await acquireDevice(opts);
    if (!acq) return null;
    return new WebGpuBackend(acq, loadShaders(), opts);
  }

  // ---- memory ------------------------------------------------------------------------------

  alloc(size: number, _dtype?: DType): GpuStorage {
    this.check();
    const byteLength = size * BYTES_PER_ELEMENT;
    // Every buffer is bound whole as a storage binding; past the limit the bind group would fail
    // asynchronously with a validation message that names no op, so fail here, with a stack.
    const limit = this.device.limits.maxStorageBufferBindingSize;
    if (byteLength > limit) {
      throw new DeviceError('alloc', `a buffer of ${size} float32 elements (${(byteLength / 2 ** 20).toFixed(1)} MiB) exceeds this ` +
        `device's maxStorageBufferBindingSize of ${(limit / 2 ** 20).toFixed(1)} MiB (${this.label}); use a smaller batch`);
    }
    const { buffer, classBytes } = this.pool.acquire(byteLength);
    this.live++;
    this.liveBytes += classBytes;
    return { buffer, byteLength, classBytes, id: this.bufferId(buffer) };
  }

  upload(data: TypedArray): GpuStorage {
    const s = this.alloc(data.length);
    this.write(s, data);
    return s;
  }

  /** Writes host data into storage, ordered after all work recorded so far. */
  write(s: GpuStorage, data: TypedArray): void {
    // queue.writeBuffer lands before the next submit, so a buffer that unsubmitted work still
    // uses (released and reused within this batch) must see that work submitted first. The mark
    // is per GPUBuffer: the pool hands the same buffer out under new storage objects.
    if (this.lastUse.get(s.buffer) === this.batch && this.pending > 0) this.flush();
    if (data.byteLength > 0) this.device.queue.writeBuffer(s.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  }

  release(storage: Storage): void {
    const s = storage as GpuStorage;
    if (this.destroyed) return;
    this.live--;
    this.liveBytes -= s.classBytes;
    this.pool.give(s.buffer, s.classBytes);
  }

  async read(storage: Storage, dtype: DType, size: number): Promise<TypedArray> {
    this.check();
    const s = storage as GpuStorage;
    const bytes = size * BYTES_PER_ELEMENT;
    const out = arrayFor(dtype, size);
    if (bytes === 0) return out;
    const staging = this.readback.acquire(bytes);
    this.endPass();
    this.encoder ??= this.device.createCommandEncoder();
    this.encoder.copyBufferToBuffer(s.buffer, 0, staging.buffer, 0, bytes);
    if (this.profiler) this.profiler.copies++;
    this.flush();
    await waitFor(staging.buffer.mapAsync(0x1 /* READ */, 0, bytes), this.wait);
    new Uint8Array(out.buffer).set(new Uint8Array(staging.buffer.getMappedRange(0, bytes)));
    staging.buffer.unmap();
    this.readback.give(staging.buffer, staging.classBytes);
    this.raiseErrors();
    return out;
  }

  memory(): MemoryInfo {
    return { liveBuffers: this.live, liveBytes: this.liveBytes, pooledBuffers: this.pool.pooledBuffers, pooledBytes: this.pool.pooledBytes };
  }

  /** Destroys pooled (unused) buffers and drops cached bind groups. */
  trim(): void {
    this.flush();
    this.bindGroups.clear();
    this.pool.trim();
    this.readback.trim();
  }

  // ---- execution ---------------------------------------------------------------------------

  run(d: Dispatch): void {
    this.check();
    const nIn = d.inputs.length;
    const nOut = d.outputs.length;
    const hasParams = (d.params?.length ?? 0) > 0;
    const { pipeline, layout } = this.pipeline(d.shader, d.entry ?? 'main', d.constants, nIn, nOut, hasParams);
    const buffers: GpuStorage[] = [...d.inputs, ...d.outputs];
    if (hasParams) buffers.push(this.paramBuffer(d.params!));
    // every pipeline of a layout takes the same bind groups
    let key = String(layout.id);
    for (const b of buffers) key += ',' + b.id;
    let bg = this.bindGroups.get(key);
    if (!bg) {
      bg = this.device.createBindGroup({
        layout: layout.bindGroup,
        // Whole buffers are bound (sizes travel in params), so a pooled buffer reused at another
        // element count still hits this cache.
        entries: buffers.map((b, i) => ({ binding: i, resource: { buffer: b.buffer } })),
      });
      if (this.bindGroups.size >= BIND_GROUP_CACHE_LIMIT) this.bindGroups.clear();
      this.bindGroups.set(key, bg);
      this.bindGroupCount++;
    }
    for (const b of buffers) this.lastUse.set(b.buffer, this.batch);
    const [x, y = 1, z = 1] = d.workgroups;
    for (const n of [x, y, z]) {
      if (n > MAX_WORKGROUPS_PER_DIM) throw new EngineError(d.shader, `dispatch of ${n} workgroups exceeds ${MAX_WORKGROUPS_PER_DIM} per dimension`);
    }
    const timestamps = this.profiler?.dispatch({ shader: d.shader, bytes: boundBytes(d), pipeline, bindGroup: bg, workgroups: [x, y, z] }) ?? null;
    // With timestamps every dispatch gets a pass of its own (WebGPU times passes, not dispatches).
    if (timestamps) this.endPass();
    if (!this.pass) {
      this.encoder ??= this.device.createCommandEncoder();
      this.pass = this.encoder.beginComputePass(timestamps ? { timestampWrites: timestamps } : undefined);
    }
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bg);
    if (x > 0 && y > 0 && z > 0) this.pass.dispatchWorkgroups(x, y, z);
    if (timestamps) this.endPass();
    this.dispatchCount++;
    if (++this.pending >= this.dispatchesPerSubmit) this.flush();
  }

  /** Records a buffer-to-buffer copy (ordered with dispatches). */
  copy(src: GpuStorage, dst: GpuStorage, bytes: number, srcOffset = 0, dstOffset = 0): void {
    this.endPass();
    this.encoder ??= this.device.createCommandEncoder();
    if (bytes > 0) this.encoder.copyBufferToBuffer(src.buffer, srcOffset, dst.buffer, dstOffset, bytes);
    this.lastUse.set(src.buffer, this.batch);
    this.lastUse.set(dst.buffer, this.batch);
    this.copyCount++;
    if (this.profiler) this.profiler.copies++;
    this.pending++;
  }

  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    this.device.queue.submit([this.encoder.finish()]);
    this.submitCount++;
    if (this.profiler) this.profiler.submits++;
    this.encoder = null;
    this.pending = 0;
    this.batch++;
  }

  async sync(): Promise<void> {
    this.flush();
    await waitFor(this.device.queue.onSubmittedWorkDone(), this.wait);
    this.raiseErrors();
  }

  // ---- profiling -----------------------------------------------------------------------------

  /**
   * Starts profiling (see profiler.ts): 'timestamp' where the device has the timestamp-query
   * feature, else 'replay'. Dispatches are labelled by op and shapes until stopProfile().
   */
  startProfile(method?: ProfileMethod): Profiler {
    this.check();
    if (this.profiler) throw new EngineError('startProfile', 'a profile is already running; call stopProfile() first');
    const hasTimestamps = this.device.features.has('timestamp-query');
    const m = method ?? (hasTimestamps ? 'timestamp' : 'replay');
    if (m === 'timestamp' && !hasTimestamps) throw new DeviceError('startProfile', `this device (${this.label}) has no timestamp-query feature; use method 'replay'`);
    this.flush();
    this.profiler = new Profiler(this.device, m);
    return this.profiler;
  }

  /** Waits for the profiled work, times it and returns the report; profiling ends. */
  async stopProfile(): Promise<ProfileReport> {
    const prof = this.profiler;
    if (!prof) throw new EngineError('stopProfile', 'no profile is running; call startProfile() first');
    this.endPass();
    this.encoder ??= this.device.createCommandEncoder();
    prof.resolve(this.encoder);
    this.flush();
    this.profiler = null;
    await this.sync();
    return prof.report(async (p) => { await waitFor(p, this.wait); });
  }

  /** Throws the device errors (shader compilation, validation) collected since the last check. */
  private raiseErrors(): void {
    if (this.errors.length === 0) return;
    const msgs = this.errors.splice(0);
    throw new DeviceError('webgpu', `device reported ${msgs.length} error(s): ${msgs.slice(0, 3).join(' | ')}`);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.flush();
    this.destroyed = true;
    this.pool.trim();
    this.readback.trim();
    this.bindGroups.clear();
    this.device.destroy();
  }

  private bufferId(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) this.bufferIds.set(b, (id = this.nextId++));
    return id;
  }

  private endPass(): void {
    if (this.pass) { this.pass.end(); this.pass = null; }
  }

  private check(): void {
    if (this.destroyed) throw new DeviceError('webgpu', 'backend was destroyed');
  }

  private pipeline(shader: ShaderName, entry: string, constants: Record<string, number> | undefined, nIn: number, nOut: number, hasParams: boolean) {
    const key = `${shader}:${entry}:${constants ? JSON.stringify(constants) : ''}:${nIn}:${nOut}:${hasParams}`;
    let p = this.pipelines.get(key);
    if (p) return p;
    let module = this.modules.get(shader);
    if (!module) {
      const code = this.shaders.get(shader);
      if (code === undefined) throw new DeviceError('webgpu', `unknown shader ${shader}`);
      module = this.device.createShaderModule({ code, label: shader });
      this.modules.set(shader, module);
    }
    const layoutKey = `${nIn}:${nOut}:${hasParams}`;
    let layout = this.layouts.get(layoutKey);
    if (!layout) {
      const entries: GPUBindGroupLayoutEntry[] = [];
      for (let i = 0; i < nIn + nOut; i++) {
        entries.push({ binding: i, visibility: 0x4 /* COMPUTE */, buffer: { type: i < nIn ? 'read-only-storage' : 'storage' } });
      }
      if (hasParams) entries.push({ binding: nIn + nOut, visibility: 0x4, buffer: { type: 'uniform' } });
      const bindGroup = this.device.createBindGroupLayout({ entries });
      layout = { bindGroup, pipeline: this.device.createPipelineLayout({ bindGroupLayouts: [bindGroup] }), id: this.layouts.size + 1 };
      this.layouts.set(layoutKey, layout);
    }
    const pipeline = this.device.createComputePipeline({
      layout: layout.pipeline,
      compute: { module, entryPoint: entry, constants },
      label: key,
    });
    p = { pipeline, layout };
    this.pipelines.set(key, p);
    return p;
  }

  private paramBuffer(params: readonly Param[]): GpuStorage {
    const words = Math.ceil(params.length / 4) * 4;
    const raw = new ArrayBuffer(words * 4);
    const dv = new DataView(raw);
    params.forEach((p, i) => {
      if (p.t === 'f32') dv.setFloat32(i * 4, p.v, true);
      else if (p.t === 'i32') dv.setInt32(i * 4, p.v, true);
      else dv.setUint32(i * 4, p.v, true);
    });
    const u = new Uint32Array(raw);
    const key = Array.prototype.join.call(u, ',');
    let s = this.paramBuffers.get(key);
    if (s) {
      // refresh LRU position
      this.paramBuffers.delete(key);
      this.paramBuffers.set(key, s);
      return s;
    }
    // (a replaying profiler still holds bind groups naming old param buffers: none is destroyed then)
    if (this.paramBuffers.size >= PARAM_CACHE_LIMIT && this.profiler?.method !== 'replay') {
      const [oldKey, old] = this.paramBuffers.entries().next().value as [string, GpuStorage];
      this.paramBuffers.delete(oldKey);
      // Pending work may still bind it: destroy only after that work is submitted (destroy then
      // waits for the GPU). Bind groups naming it go too.
      this.flush();
      this.bindGroups.clear();
      old.buffer.destroy();
    }
    const buffer = this.device.createBuffer({ size: raw.byteLength, usage: UNIFORM_USAGE });
    this.device.queue.writeBuffer(buffer, 0, raw);
    s = { buffer, byteLength: raw.byteLength, classBytes: raw.byteLength, id: this.bufferId(buffer) };
    this.paramBuffers.set(key, s);
    return s;
  }
}

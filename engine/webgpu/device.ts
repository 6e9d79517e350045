/**
 * Acquiring a WebGPU device: through Dawn's Node binding (npm `webgpu`) in Node, through
 * navigator.gpu in browsers. Dawn's GPU object is kept referenced for the life of the process:
 * once it is garbage-collected, the next awaited GPU promise crashes Node.
 */
// The WebGPU types this engine is written against (tfjs, a devDependency, brings an older copy
// without `subgroups`; whichever loads first wins, so load ours here, in the first file that needs it).
/// <reference types="@webgpu/types" />
import { DeviceError } from '../errors.js';

let dawnGpu: GPU | null = null;
/** Dawn's GPU object once a device was acquired in Node (lets other WebGPU libraries share it). */
export const dawnGpuObject = (): GPU | null => dawnGpu;

const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;

async function getGpu(): Promise<GPU | null> {
  if (typeof navigator !== 'undefined' && (navigator as Navigator).gpu) return (navigator as Navigator).gpu;
  if (!isNode) return null;
  if (dawnGpu) return dawnGpu;
  let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    // The specifier is a variable so that bundlers building for browsers leave Dawn (a native Node
    // addon) out instead of failing on it; browsers never reach this line (navigator.gpu above).
    const dawnPackage = 'webgpu';
    mod = (await import(/* @vite-ignore */ /* webpackIgnore: true */ dawnPackage)) as unknown as typeof mod;
  } catch (e) {
    throw new DeviceError('webgpu', `cannot load the 'webgpu' package (Dawn): ${(e as Error).message}`);
  }
  // GPUBufferUsage and friends are globals in browsers; Dawn hands them over separately.
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  // Dawn quantizes timestamps (a browser's timing-attack mitigation) unless told not to; the
  // profiler needs them exact.
  dawnGpu = mod.create(['disable-dawn-features=timestamp_quantization']);
  (globalThis as Record<string, unknown>).__simclrWebgpuDawn = dawnGpu;
  return dawnGpu;
}

export interface AcquiredDevice {
  device: GPUDevice;
  adapterInfo: { vendor: string; architecture: string; device: string; description: string };
  /** A CPU implementation (lavapipe/llvmpipe, SwiftShader, WARP). */
  isCpuAdapter: boolean;
  /** Uncaptured device errors not yet reported. */
  errors: string[];
}

export interface AcquireOptions {
  powerPreference?: GPUPowerPreference;
  /**
   * Ask for the adapter's own limits on buffer size, storage binding size and workgroup storage
   * (default true): kernels never need them, but every tensor is one binding, so the default
   * 128 MiB binding limit caps activations (ResNet-18 at batch 512 needs 256 MiB tensors).
   */
  highLimits?: boolean;
}

/** Returns null when no adapter exists (the caller decides whether that is an error). */
export async function acquireDevice(opts: AcquireOptions = {}): Promise<AcquiredDevice | null> {
  const gpu = await getGpu();
  if (!gpu) return null;
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter) return null;
  const info = adapter.info;
  const adapterInfo = { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description };
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  const isCpuAdapter = /llvmpipe|lavapipe|swiftshader|software|warp|microsoft basic render/.test(text);
  const requiredLimits: Record<string, number> = {};
  if (opts.highLimits ?? true) {
    for (const k of ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize'] as const) {
      requiredLimits[k] = adapter.limits[k];
    }
  }
  // subgroups for the CPU-adapter kernels, timestamp-query for the profiler
  const requiredFeatures = (['subgroups', 'timestamp-query'] as const).filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const errors: string[] = [];
  // Validation and compilation errors arrive asynchronously; the backend raises them on the next
  // read or sync, so a bad kernel fails loudly instead of leaving garbage in a buffer.
  device.addEventListener('uncapturederror', (ev) => {
    errors.push((ev as GPUUncapturedErrorEvent).error.message);
  });
  return { device, adapterInfo, isCpuAdapter, errors };
}

export const WEBGPU_HELP = 'no WebGPU adapter found; running on the CPU reference backend (slow). ' + (isNode
  ? 'On headless Linux install Mesa >= 23 lavapipe: sudo bash scripts/setup-webgpu.sh (see README)'
  // Mesa is no help to a browser: its WebGPU has its own switches.
  : 'This browser offers none here: WebGPU needs a secure context (https or localhost) and a browser with it enabled (Chromium on Linux: --enable-unsafe-webgpu)');

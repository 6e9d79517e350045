/**
 * The default backend: `init()` picks WebGPU when an adapter exists and falls back to the CPU
 * reference backend (with one line saying how to get WebGPU) otherwise.
 */
import type { Backend } from './backend.js';
import { CpuBackend } from './cpu/backend.js';
import { DeviceError } from './errors.js';
import { WebGpuBackend, type WebGpuOptions } from './webgpu/backend.js';
import { WEBGPU_HELP } from './webgpu/device.js';
import { Random } from './random.js';

let current: Backend | null = null;

export interface InitOptions extends WebGpuOptions {
  /** 'auto' (default): WebGPU, else CPU; 'webgpu': throw if there is no adapter; 'cpu'. */
  backend?: 'auto' | 'webgpu' | 'cpu';
  /** Print nothing when falling back to the CPU. */
  quiet?: boolean;
}

export async function init(opts: InitOptions = {}): Promise<Backend> {
  const want = opts.backend ?? 'auto';
  if (want !== 'cpu') {
    const gpu = await WebGpuBackend.create(opts);
    if (gpu) return (current = gpu);
    if (want === 'webgpu') throw new DeviceError('init', WEBGPU_HELP.replace('; running on the CPU reference backend (slow)', ''));
    if (!opts.quiet) console.warn(WEBGPU_HELP);
  }
  return (current = new CpuBackend());
}

export function setBackend(b: Backend): void { current = b; }

export function getBackend(): Backend {
  if (!current) current = new CpuBackend();
  return current;
}

/** The generator behind rand/randn/randint when none is passed. */
export const globalRandom = new Random(0);

export function seed(s: number): void { globalRandom.seed(s); }

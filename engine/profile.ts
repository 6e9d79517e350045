/**
 * The profiler as users call it: `const { result, report } = await profile(() => step())`, then
 * `formatProfile(report)` for a table. WebGPU only (the CPU reference backend has no kernels to time);
 * the method, the labels and what is measured are described in engine/webgpu/profiler.ts.
 */
import type { Backend } from './backend.js';
import { DeviceError } from './errors.js';
import { getBackend } from './runtime.js';
import { WebGpuBackend } from './webgpu/backend.js';
import type { ProfileMethod, ProfileReport } from './webgpu/profiler.js';

export interface ProfileOptions {
  backend?: Backend;
  /** Default: 'timestamp' where the device has timestamp queries, else 'replay'. */
  method?: ProfileMethod;
}

/** Runs fn (awaited) with profiling on and returns its result and the report. */
export async function profile<T>(fn: () => T | Promise<T>, opts: ProfileOptions = {}): Promise<{ result: T; report: ProfileReport }> {
  const backend = opts.backend ?? getBackend();
  if (!(backend instanceof WebGpuBackend)) throw new DeviceError('profile', `profiling needs the WebGPU backend, got ${backend.label}`);
  backend.startProfile(opts.method);
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    await backend.stopProfile().catch(() => undefined);
    throw e;
  }
  return { result, report: await backend.stopProfile() };
}

/** Public API of the engine: `import { init, tensor, tidy, ... } from 'simclr-webgpu/engine'`. */
import './methods.js';
export * from './ops/index.js';
export { Tensor, tidy, tidyAsync, noGrad, isGradEnabled, StorageRef } from './tensor.js';
export { backward, type BackwardOptions } from './autograd.js';
export { init, getBackend, setBackend, seed, globalRandom, type InitOptions } from './runtime.js';
export { Random } from './random.js';
export type { Backend, BackendKind, MemoryInfo, Storage } from './backend.js';
export { CpuBackend } from './cpu/backend.js';
export { WebGpuBackend, type WebGpuOptions } from './webgpu/backend.js';
export { gradcheck, type GradcheckOptions, type GradcheckResult } from './gradcheck.js';
export type { DType, TypedArray } from './dtype.js';
export * from './errors.js';
export type { Shape } from './shape.js';
export { profile, type ProfileOptions } from './profile.js';
export { formatProfile, type ProfileGroup, type ProfileMethod, type ProfileReport } from './webgpu/profiler.js';

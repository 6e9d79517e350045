/**
 * Loads WGSL sources from the package's shaders/ folder: from the file system in Node, by fetch
 * in browsers (relative to this module, so a bundler that copies shaders/ beside the package works).
 */
import { DeviceError } from '../errors.js';

/** Every shader the engine uses; a test checks this list against the files in shaders/. */
export const SHADER_NAMES = [
  'fill', 'unary', 'binary', 'where',
  'matmul', 'matmul_tiled', 'matmul_subgroup',
  'strided_copy', 'scatter_copy', 'cast',
  'reduce', 'log_softmax', 'one_hot', 'gather', 'scatter_add',
  'conv_subgroup', 'conv_tiled', 'conv_util',
  'batch_norm_stats', 'batch_norm_merge', 'batch_norm_apply', 'batch_norm_grad_stats', 'batch_norm_grad_merge', 'batch_norm_grad_input', 'max_pool2d', 'max_pool2d_backward', 'avg_pool2d',
  'ntxent_forward', 'ntxent_backward',
  'augment_crop', 'augment_color', 'augment_blur',
] as const;
export type ShaderName = (typeof SHADER_NAMES)[number];

const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;

async function shaderDirUrl(): Promise<URL> {
  // This module sits at engine/webgpu/ in the sources and dist/engine/webgpu/ in the build.
  if (isNode) {
    const { existsSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    for (const rel of ['../../shaders/', '../../../shaders/']) {
      const u = new URL(rel, import.meta.url);
      if (existsSync(fileURLToPath(u))) return u;
    }
    throw new DeviceError('webgpu', `cannot find the shaders/ folder near ${import.meta.url}`);
  }
  return new URL('../../../shaders/', import.meta.url);
}

export async function loadShaders(): Promise<Map<ShaderName, string>> {
  const dir = await shaderDirUrl();
  const out = new Map<ShaderName, string>();
  if (isNode) {
    const { readFile } = await import('node:fs/promises');
    await Promise.all(SHADER_NAMES.map(async (n) => out.set(n, await readFile(new URL(`${n}.wgsl`, dir), 'utf8'))));
  } else {
    await Promise.all(SHADER_NAMES.map(async (n) => {
      const res = await fetch(new URL(`${n}.wgsl`, dir));
      if (!res.ok) throw new DeviceError('webgpu', `cannot load shader ${n}.wgsl: HTTP ${res.status}`);
      out.set(n, await res.text());
    }));
  }
  return out;
}

/**
 * Loads WGSL sources from the package's shaders/ folder: from the file system in Node, by fetch
 * in browsers (relative to this module, so a bundler that copies shaders/ beside the package works).
 *
 * Includes: WGSL has none, so the loader adds one step. A line of the form
 *   #include "name.wgsl"
 * (nothing else on the line but white space) is replaced, once at load time and before any
 * pipeline is created, by the contents of shaders/lib/name.wgsl. Names are plain file names
 * (letters, digits, `_`, `-`, ending in .wgsl; no folders). Include files may include others;
 * each file is pasted at most once per shader (a later #include of it is dropped, so two includes
 * may both pull in a common one), and WGSL module-scope declarations may come in any order, so
 * where the line stands only matters for `enable` directives (which must stay above it). A cycle,
 * a missing file, a malformed name or any other line starting with `#` is a DeviceError naming the
 * shader and the include. Include files are not pipelines: they are not in SHADER_NAMES.
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
  'ntxent_forward', 'ntxent_backward', 'infonce_forward', 'infonce_backward', 'infonce_queue_grad',
  'augment_crop', 'augment_color', 'augment_blur', 'augment_solarize',
] as const;
export type ShaderName = (typeof SHADER_NAMES)[number];

/** The folder of include files, relative to shaders/. */
export const INCLUDE_DIR = 'lib/';

const INCLUDE_LINE = /^[ \t]*#include[ \t]+"([^"]*)"[ \t]*$/;
const INCLUDE_NAME = /^[A-Za-z0-9_-]+\.wgsl$/;

/**
 * Replaces the `#include "name.wgsl"` lines of one shader's source (see the header), loading each
 * include file through `load` (which rejects, or resolves to undefined, for a missing file).
 * `shader` names the including shader in errors. Exported for the tests.
 */
export async function resolveIncludes(
  shader: string, source: string, load: (name: string) => Promise<string | undefined>,
): Promise<string> {
  const done = new Set<string>();
  const expand = async (text: string, from: string, stack: string[]): Promise<string> => {
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (!/^[ \t]*#/.test(line)) continue;
      const where = `shader ${shader}.wgsl${from === `${shader}.wgsl` ? '' : ` (in include ${from})`}, line ${i + 1}`;
      const m = INCLUDE_LINE.exec(line.replace(/\r$/, ''));
      if (!m) throw new DeviceError('webgpu', `${where}: not an include line (expected #include "name.wgsl"): ${line.trim()}`);
      const name = m[1]!;
      if (!INCLUDE_NAME.test(name)) throw new DeviceError('webgpu', `${where}: bad include name "${name}" (a plain file name ending in .wgsl)`);
      if (stack.includes(name)) {
        throw new DeviceError('webgpu', `${where}: include cycle ${[...stack, name].join(' -> ')} (from shader ${shader}.wgsl)`);
      }
      if (done.has(name)) { lines[i] = `// #include "${name}": already included`; continue; }
      let body: string | undefined;
      try { body = await load(name); } catch (e) {
        throw new DeviceError('webgpu', `${where}: cannot load include "${name}" (shaders/${INCLUDE_DIR}${name}): ${e instanceof Error ? e.message : String(e)}`);
      }
      if (body === undefined) throw new DeviceError('webgpu', `${where}: cannot load include "${name}" (shaders/${INCLUDE_DIR}${name}): not found`);
      lines[i] = (await expand(body, name, [...stack, name])).replace(/\n$/, '');
      done.add(name);
    }
    return lines.join('\n');
  };
  return expand(source, `${shader}.wgsl`, []);
}

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

/** Reads a file of shaders/ (path relative to it) by file system or fetch; undefined if absent. */
async function makeReader(dir: URL): Promise<(path: string) => Promise<string | undefined>> {
  if (isNode) {
    const { readFile } = await import('node:fs/promises');
    return async (path) => {
      try { return await readFile(new URL(path, dir), 'utf8'); } catch (e) {
        if ((e as { code?: string }).code === 'ENOENT') return undefined;
        throw e;
      }
    };
  }
  return async (path) => {
    const res = await fetch(new URL(path, dir));
    if (res.status === 404) return undefined;
    if (!res.ok) throw new DeviceError('webgpu', `cannot load shaders/${path}: HTTP ${res.status}`);
    return res.text();
  };
}

export async function loadShaders(): Promise<Map<ShaderName, string>> {
  const read = await makeReader(await shaderDirUrl());
  // Each include file is read once for all shaders (the promise is shared).
  const includes = new Map<string, Promise<string | undefined>>();
  const loadInclude = (name: string) => {
    let p = includes.get(name);
    if (!p) { p = read(INCLUDE_DIR + name); includes.set(name, p); }
    return p;
  };
  const out = new Map<ShaderName, string>();
  await Promise.all(SHADER_NAMES.map(async (n) => {
    const src = await read(`${n}.wgsl`);
    if (src === undefined) throw new DeviceError('webgpu', `cannot load shader ${n}.wgsl: not found`);
    out.set(n, await resolveIncludes(n, src, loadInclude));
  }));
  return out;
}

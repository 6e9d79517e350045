/**
 * The engine's WGSL kernels. They ship inside the JavaScript: scripts/generate-shaders.mjs turns
 * shaders/*.wgsl (the source of truth, with `#include "name.wgsl"` lines resolved from shaders/lib/)
 * into shaders.generated.ts, so loading them needs no file system, fetch or served folder, in Node,
 * browsers and bundles alike. `npm run shaders` regenerates it (`npm run build` does too), and
 * test/shaders.test.ts fails while it is stale.
 */
import { SHADER_NAMES, SHADER_SOURCES, type ShaderName } from './shaders.generated.js';

export { SHADER_NAMES, type ShaderName };

/** Each shader's source, includes resolved. */
export function loadShaders(): Map<ShaderName, string> {
  return new Map(SHADER_NAMES.map((n) => [n, SHADER_SOURCES[n]]));
}

#!/usr/bin/env node
// @ts-check
/**
 * Builds engine/webgpu/shaders.generated.ts from shaders/*.wgsl, so the kernels ship inside the
 * JavaScript: a bundler, a plain <script type="module">, a CDN and Node all get them from the
 * module graph, with no folder to serve or find. The .wgsl files stay the source of truth.
 *
 *   node scripts/generate-shaders.mjs          rewrite the generated module (`npm run shaders`;
 *                                              `npm run build` runs it first)
 *   node scripts/generate-shaders.mjs --check  exit 1, naming the command, when it is stale
 *
 * Includes: WGSL has none, so this step adds one. A line of the form
 *   #include "name.wgsl"
 * (nothing else on the line but white space) is replaced by the contents of shaders/lib/name.wgsl.
 * Names are plain file names (letters, digits, `_`, `-`, ending in .wgsl; no folders). Include
 * files may include others; each file is pasted at most once per shader (a later #include of it is
 * dropped, so two includes may both pull in a common one), and WGSL module-scope declarations may
 * come in any order, so where the line stands only matters for `enable` directives (which must stay
 * above it). A cycle, a missing file, a malformed name or any other line starting with `#` is an
 * error naming the shader and the include. Every other .wgsl file directly in shaders/ is a shader
 * (a pipeline source); the files of shaders/lib/ are not.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of include files, relative to shaders/. */
export const INCLUDE_DIR = 'lib/';
/** The generated module, relative to the repository root. */
export const GENERATED_PATH = 'engine/webgpu/shaders.generated.ts';
/** The command that regenerates it (named in the staleness messages). */
export const REGENERATE_COMMAND = 'npm run shaders';

const INCLUDE_LINE = /^[ \t]*#include[ \t]+"([^"]*)"[ \t]*$/;
const INCLUDE_NAME = /^[A-Za-z0-9_-]+\.wgsl$/;

/**
 * Replaces the `#include "name.wgsl"` lines of one shader's source (see the header), loading each
 * include file through `load` (which rejects, or resolves to undefined, for a missing file).
 * `shader` names the including shader in errors.
 * @param {string} shader
 * @param {string} source
 * @param {(name: string) => Promise<string | undefined>} load
 * @returns {Promise<string>}
 */
export async function resolveIncludes(shader, source, load) {
  /** @type {Set<string>} */
  const done = new Set();
  /** @type {(text: string, from: string, stack: string[]) => Promise<string>} */
  const expand = async (text, from, stack) => {
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (!/^[ \t]*#/.test(line)) continue;
      const where = `shader ${shader}.wgsl${from === `${shader}.wgsl` ? '' : ` (in include ${from})`}, line ${i + 1}`;
      const m = INCLUDE_LINE.exec(line.replace(/\r$/, ''));
      if (!m) throw new Error(`${where}: not an include line (expected #include "name.wgsl"): ${line.trim()}`);
      const name = m[1];
      if (!INCLUDE_NAME.test(name)) throw new Error(`${where}: bad include name "${name}" (a plain file name ending in .wgsl)`);
      if (stack.includes(name)) throw new Error(`${where}: include cycle ${[...stack, name].join(' -> ')} (from shader ${shader}.wgsl)`);
      if (done.has(name)) { lines[i] = `// #include "${name}": already included`; continue; }
      let body;
      try { body = await load(name); } catch (e) {
        throw new Error(`${where}: cannot load include "${name}" (shaders/${INCLUDE_DIR}${name}): ${e instanceof Error ? e.message : String(e)}`);
      }
      if (body === undefined) throw new Error(`${where}: cannot load include "${name}" (shaders/${INCLUDE_DIR}${name}): not found`);
      lines[i] = (await expand(body, name, [...stack, name])).replace(/\n$/, '');
      done.add(name);
    }
    return lines.join('\n');
  };
  return expand(source, `${shader}.wgsl`, []);
}

/**
 * Every shader of `shadersDir` (a file URL ending in /) with its includes resolved, sorted by name.
 * @param {URL} shadersDir
 * @returns {Promise<Map<string, string>>}
 */
export async function resolveShaderDir(shadersDir) {
  /** @type {(path: string) => Promise<string | undefined>} */
  const read = async (path) => {
    try { return await readFile(new URL(path, shadersDir), 'utf8'); } catch (e) {
      if (/** @type {{ code?: string }} */ (e).code === 'ENOENT') return undefined;
      throw e;
    }
  };
  /** @type {Map<string, Promise<string | undefined>>} */
  const includes = new Map();
  /** @type {(name: string) => Promise<string | undefined>} */
  const loadInclude = (name) => {
    let p = includes.get(name);
    if (!p) { p = read(INCLUDE_DIR + name); includes.set(name, p); }
    return p;
  };
  const names = (await readdir(shadersDir)).filter((f) => f.endsWith('.wgsl')).map((f) => f.slice(0, -5)).sort();
  const out = new Map();
  for (const n of names) out.set(n, await resolveIncludes(n, /** @type {string} */ (await read(`${n}.wgsl`)), loadInclude));
  return out;
}

/**
 * The text of the generated module for the given resolved shaders.
 * @param {Map<string, string>} shaders
 * @returns {string}
 */
export function renderShaderModule(shaders) {
  const names = [...shaders.keys()];
  const lines = [
    `// Generated by scripts/generate-shaders.mjs from shaders/*.wgsl (includes resolved). Do not edit:`,
    `// change the .wgsl files and run \`${REGENERATE_COMMAND}\` (\`npm run build\` does too).`,
    '',
    '/** Every shader (pipeline source) in shaders/, by file name without .wgsl. */',
    `export const SHADER_NAMES = [${names.map((n) => `'${n}'`).join(', ')}] as const;`,
    'export type ShaderName = (typeof SHADER_NAMES)[number];',
    '',
    '/** Each shader\'s WGSL with its #include lines replaced by the include files. */',
    'export const SHADER_SOURCES: Readonly<Record<ShaderName, string>> = {',
    ...names.map((n) => `  ${n}: ${JSON.stringify(shaders.get(n))},`),
    '};',
    '',
  ];
  return lines.join('\n');
}

const root = new URL('../', import.meta.url);

/** The generated module as it should be now. */
export async function expectedShaderModule() {
  return renderShaderModule(await resolveShaderDir(new URL('shaders/', root)));
}

async function main() {
  const check = process.argv.includes('--check');
  const want = await expectedShaderModule();
  const target = new URL(GENERATED_PATH, root);
  const have = await readFile(target, 'utf8').catch(() => '');
  if (have === want) return;
  if (check) {
    console.error(`${GENERATED_PATH} is stale (shaders/ changed since it was generated): run \`${REGENERATE_COMMAND}\``);
    process.exit(1);
  }
  await writeFile(target, want);
  console.log(`wrote ${GENERATED_PATH}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().catch((e) => { console.error(`generate-shaders: ${e instanceof Error ? e.message : e}`); process.exit(1); });
}

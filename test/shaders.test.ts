/**
 * The generated shader module (engine/webgpu/shaders.generated.ts) matches shaders/ as it is now,
 * each file documents itself, the include files in shaders/lib/ are all used and resolve, and the
 * #include step itself (on in-memory sources) nests, pastes each file once, and reports missing
 * files and cycles.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SHADER_NAMES, loadShaders } from '../engine/webgpu/shaders.js';
import { GENERATED_PATH, INCLUDE_DIR, REGENERATE_COMMAND, expectedShaderModule, resolveIncludes } from '../scripts/generate-shaders.mjs';

const dir = new URL('../shaders/', import.meta.url);
const libDir = new URL(INCLUDE_DIR, dir);
const includeFiles = readdirSync(libDir).filter((f) => f.endsWith('.wgsl')).sort();
const directIncludes = (src: string) => [...src.matchAll(/^[ \t]*#include[ \t]+"([^"]*)"/gm)].map((m) => m[1]!);

describe('shaders/', () => {
  it(`${GENERATED_PATH} is up to date with shaders/ (else run \`${REGENERATE_COMMAND}\`)`, async () => {
    const have = readFileSync(new URL(`../${GENERATED_PATH}`, import.meta.url), 'utf8');
    const stale = have !== await expectedShaderModule();
    expect(stale, `${GENERATED_PATH} is stale (shaders/ changed since it was generated): run \`${REGENERATE_COMMAND}\``).toBe(false);
  });
  it('every .wgsl file is listed and every listed shader exists', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.wgsl')).map((f) => f.slice(0, -5)).sort();
    expect(files).toEqual([...SHADER_NAMES].sort());
  });
  it('each shader starts with a header comment naming its layout and bindings', () => {
    for (const name of SHADER_NAMES) {
      const src = readFileSync(new URL(`${name}.wgsl`, dir), 'utf8');
      expect(src.startsWith(`// ${name}.wgsl`), `${name}.wgsl header`).toBe(true);
      expect(/Bindings:/i.test(src.split('\n').slice(0, 15).join('\n')), `${name}.wgsl names its bindings`).toBe(true);
    }
  });
});

describe('shaders/lib/ (include files)', () => {
  it('exist, are no pipelines, and each starts with a header saying what it provides', () => {
    expect(includeFiles.length).toBeGreaterThan(0);
    for (const f of includeFiles) {
      expect((SHADER_NAMES as readonly string[]).includes(f.slice(0, -5)), `${f} is not in SHADER_NAMES`).toBe(false);
      const src = readFileSync(new URL(f, libDir), 'utf8');
      expect(src.startsWith(`// ${f} (include):`), `${f} header`).toBe(true);
      expect(/Provides/.test(src.split('\n').slice(0, 10).join('\n')), `${f} says what it provides`).toBe(true);
      expect(/@compute/.test(src), `${f} has no entry point`).toBe(false);
    }
  });
  it('every include file is used by some shader (directly or through another include)', () => {
    const used = new Set<string>();
    const visit = (src: string) => {
      for (const inc of directIncludes(src)) {
        if (used.has(inc)) continue;
        used.add(inc);
        visit(readFileSync(new URL(inc, libDir), 'utf8'));
      }
    };
    for (const name of SHADER_NAMES) visit(readFileSync(new URL(`${name}.wgsl`, dir), 'utf8'));
    expect([...used].sort()).toEqual(includeFiles);
  });
  it('every include of every shader resolves: the generated sources hold them all, each file once', () => {
    const shaders = loadShaders();
    expect([...shaders.keys()].sort()).toEqual([...SHADER_NAMES].sort());
    for (const [name, code] of shaders) {
      expect(code, `${name}: no #include left`).not.toMatch(/^[ \t]*#/m);
      for (const f of includeFiles) {
        const header = `// ${f} (include):`;
        expect(code.split(header).length - 1, `${name}: ${f} pasted at most once`).toBeLessThanOrEqual(1);
      }
    }
    // One concrete case: strided_copy pulls in the grid helper and the shared copy layout.
    expect(shaders.get('strided_copy')).toContain('fn grid_index(');
    expect(shaders.get('strided_copy')).toContain('fn strided_index(');
  });
});

describe('resolveIncludes (in-memory sources)', () => {
  const files = (m: Record<string, string>) => async (name: string) => m[name];

  it('pastes an include in place, and nested includes inside it', async () => {
    const out = await resolveIncludes('top', 'enable subgroups;\n#include "a.wgsl"\nfn main() {}\n', files({
      'a.wgsl': '// a\n#include "b.wgsl"\nfn a() {}\n',
      'b.wgsl': '// b\nfn b() {}\n',
    }));
    expect(out).toBe('enable subgroups;\n// a\n// b\nfn b() {}\nfn a() {}\nfn main() {}\n');
  });
  it('pastes each file once per shader (a diamond keeps one copy of the shared file)', async () => {
    const src = '#include "a.wgsl"\n#include "b.wgsl"\n  #include "c.wgsl"  \nfn main() {}\n';
    const out = await resolveIncludes('top', src, files({
      'a.wgsl': '#include "c.wgsl"\nfn a() {}',
      'b.wgsl': '#include "c.wgsl"\nfn b() {}',
      'c.wgsl': 'fn c() {}',
    }));
    expect(out.match(/fn c\(\)/g)).toHaveLength(1);
    expect(out.indexOf('fn c()')).toBeLessThan(out.indexOf('fn a()'));
    expect(out).toContain('fn b()');
    expect(out).not.toMatch(/^[ \t]*#/m);
  });
  it('the guard is per shader: a second shader gets its own copy', async () => {
    const load = files({ 'c.wgsl': 'fn c() {}' });
    expect(await resolveIncludes('one', '#include "c.wgsl"\n', load)).toContain('fn c()');
    expect(await resolveIncludes('two', '#include "c.wgsl"\n', load)).toContain('fn c()');
  });
  it('leaves a source without includes unchanged', async () => {
    const src = '// x.wgsl: no includes\nfn main() { let a = 1; }\n';
    expect(await resolveIncludes('x', src, files({}))).toBe(src);
  });
  it('a missing include is an error naming the shader and the include', async () => {
    const run = resolveIncludes('conv_demo', 'fn f() {}\n#include "nope.wgsl"\n', files({}));
    await expect(run).rejects.toThrow(/conv_demo\.wgsl.*line 2.*nope\.wgsl/);
  });
  it('a missing nested include names the shader, the including file and the include', async () => {
    const run = resolveIncludes('top', '#include "a.wgsl"\n', files({ 'a.wgsl': '#include "gone.wgsl"\n' }));
    await expect(run).rejects.toThrow(/top\.wgsl \(in include a\.wgsl\).*gone\.wgsl/);
  });
  it('a loader that throws is reported the same way', async () => {
    const run = resolveIncludes('top', '#include "a.wgsl"\n', async () => { throw new Error('HTTP 500'); });
    await expect(run).rejects.toThrow(/top\.wgsl.*a\.wgsl.*HTTP 500/);
  });
  it('a cycle is an error naming the shader and the chain', async () => {
    const run = resolveIncludes('top', '#include "a.wgsl"\n', files({
      'a.wgsl': '#include "b.wgsl"\n', 'b.wgsl': '#include "a.wgsl"\n',
    }));
    await expect(run).rejects.toThrow(/top\.wgsl.*cycle a\.wgsl -> b\.wgsl -> a\.wgsl/);
  });
  it('a file including itself is a cycle', async () => {
    const run = resolveIncludes('top', '#include "a.wgsl"\n', files({ 'a.wgsl': '#include "a.wgsl"\n' }));
    await expect(run).rejects.toThrow(/cycle a\.wgsl -> a\.wgsl/);
  });
  it('rejects malformed include lines and names with folders', async () => {
    await expect(resolveIncludes('top', '#include <a.wgsl>\n', files({}))).rejects.toThrow(/top\.wgsl.*not an include line/);
    await expect(resolveIncludes('top', '#define X 1\n', files({}))).rejects.toThrow(/not an include line/);
    await expect(resolveIncludes('top', '#include "../fill.wgsl"\n', files({}))).rejects.toThrow(/bad include name/);
  });
});

/** The shader list in engine/webgpu/shaders.ts matches shaders/, and each file documents itself. */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SHADER_NAMES } from '../engine/webgpu/shaders.js';

const dir = new URL('../shaders/', import.meta.url);

describe('shaders/', () => {
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

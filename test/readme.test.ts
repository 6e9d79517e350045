/** The README's example runs as written (imports pointed at the sources) and its loss falls. */
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

describe('README example', () => {
  it('trains the tiny MLP', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const block = readme.split('<!-- example:mlp')[1]?.split('```ts\n')[1]?.split('```')[0];
    expect(block, 'README has the example block').toBeTruthy();
    const root = fileURLToPath(new URL('..', import.meta.url));
    const code = block!
      .replace("'simclr-webgpu/engine'", `'${root}engine/index.ts'`)
      .replace("'simclr-webgpu/nn'", `'${root}nn/index.ts'`);
    const file = new URL('./.readme-example.tmp.ts', import.meta.url);
    writeFileSync(file, code);
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((s: unknown) => { lines.push(String(s)); });
    try {
      await import(/* @vite-ignore */ fileURLToPath(file));
    } finally {
      spy.mockRestore();
      rmSync(file, { force: true });
    }
    const losses = lines.map((l) => Number(/loss (\S+)/.exec(l)?.[1]));
    expect(losses.length).toBe(5);
    expect(losses[4]).toBeLessThan(losses[0] * 0.5);
    const { getBackend } = await import('../engine/runtime.js');
    expect(getBackend().kind).toBe('webgpu');
    getBackend().destroy();
  });
});

/** The README's examples run as written (imports pointed at the sources, in a scratch folder). */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { getBackend } from '../engine/runtime.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** Runs the README block marked `<!-- example:name`, returning what it printed. */
async function runExample(name: string): Promise<string[]> {
  const block = readme.split(`<!-- example:${name}`)[1]?.split('```ts\n')[1]?.split('```')[0];
  expect(block, `README has the ${name} example`).toBeTruthy();
  const code = block!
    .replace("'simclr-webgpu/engine'", `'${root}engine/index.ts'`)
    .replace("'simclr-webgpu/nn'", `'${root}nn/node.ts'`); // Node resolves the package's nn to nn/node.ts
  const file = join(root, 'test', `.readme-example-${name}.tmp.ts`);
  writeFileSync(file, code);
  const scratch = mkdtempSync(join(tmpdir(), 'readme-'));
  const cwd = process.cwd();
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { lines.push(a.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' ')); });
  try {
    process.chdir(scratch);
    await import(/* @vite-ignore */ file);
  } finally {
    process.chdir(cwd);
    spy.mockRestore();
    rmSync(file, { force: true });
    rmSync(scratch, { recursive: true, force: true });
  }
  return lines;
}

describe('README examples', () => {
  afterEach(() => {
    expect(getBackend().kind).toBe('webgpu'); // init() found the adapter: no silent CPU fallback
    getBackend().destroy();
  });

  it('trains the tiny MLP', async () => {
    const losses = (await runExample('mlp')).map((l) => Number(/loss (\S+)/.exec(l)?.[1]));
    expect(losses.length).toBe(5);
    expect(losses[4]).toBeLessThan(losses[0] * 0.5);
  });

  it('builds a ResNet encoder and round-trips its checkpoint into one with other weights: identical outputs', async () => {
    expect(await runExample('resnet')).toEqual(['[8,256]', '0']);
  });
});

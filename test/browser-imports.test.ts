/**
 * No Node built-in module (`node:*`, `fs`, ...) and no Dawn (npm `webgpu`, a native Node addon) is
 * reachable from the browser entry points: each is bundled by esbuild for browsers with Node's
 * built-ins left external, and the bundle's import graph must not reach one. A failure names the
 * chain of imports that leads to it.
 */
import { builtinModules } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Metafile } from 'esbuild';
import { ROOT, bundleForBrowser } from './browser/harness.js';

/** What a page imports: the package's browser subpaths, and the SimCLR page itself. */
export const BROWSER_ENTRIES = ['engine/index.ts', 'nn/index.ts', 'simclr/browser.ts', 'web/app.ts'];

const NODE_BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
const isNodeOnly = (path: string) => NODE_BUILTINS.has(path) || path.startsWith('node:') || /(^|\/)node_modules\/webgpu\//.test(path);

/** Every path from `entry` to a Node-only import, as "a -> b -> node:fs". */
function nodeOnlyChains(meta: Metafile, entry: string): string[] {
  const chains: string[] = [];
  const seen = new Set<string>([entry]);
  const queue: string[][] = [[entry]];
  while (queue.length) {
    const chain = queue.shift()!;
    const file = chain[chain.length - 1]!;
    if (isNodeOnly(file)) { chains.push(chain.join(' -> ')); continue; }
    for (const imp of meta.inputs[file]?.imports ?? []) {
      if (seen.has(imp.path)) continue;
      seen.add(imp.path);
      queue.push([...chain, imp.path]);
    }
  }
  return chains;
}

const out = mkdtempSync(join(tmpdir(), 'browser-imports-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('browser entry points import nothing Node-only', () => {
  for (const entry of BROWSER_ENTRIES) {
    it(entry, async () => {
      const meta = await bundleForBrowser(join(ROOT, entry), join(out, entry.replace(/\W/g, '_') + '.js'), {
        absWorkingDir: ROOT, external: [...NODE_BUILTINS], sourcemap: false,
      });
      expect(Object.keys(meta.inputs)).toContain(entry);
      expect(nodeOnlyChains(meta, entry), `${entry} reaches Node-only modules`).toEqual([]);
    });
  }
  it('the check sees a Node-only import when there is one (nn/node.ts reaches node:fs/promises)', async () => {
    const meta = await bundleForBrowser(join(ROOT, 'nn/node.ts'), join(out, 'nn_node.js'), { absWorkingDir: ROOT, external: [...NODE_BUILTINS], sourcemap: false });
    expect(nodeOnlyChains(meta, 'nn/node.ts')).toContain('nn/node.ts -> nn/files.ts -> node:fs/promises');
  });
});

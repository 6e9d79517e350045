/**
 * The engine in a real browser (headless Chromium, its SwiftShader WebGPU adapter, one launch for
 * this file, one page reused):
 * - every op case of test/cases/ forward and backward on navigator.gpu, bundled from the sources
 *   (test/browser/ops-page.ts), against the CPU reference in Node with each case's tolerance, as
 *   test/ops.test.ts does with Dawn (every declared op must have run, every buffer given back);
 *   then the matmul cases under each matmul kernel variant;
 * - the package as users get it: `npm pack` (its prepack builds dist/ afresh), the tarball
 *   unpacked into a fresh app's node_modules, the app bundled by esbuild for browsers and run:
 *   the engine and nn load with the kernels inside the bundle (nothing else is fetched); then the
 *   README's embed example, as written, bundled from the same tarball.
 * A missing /usr/bin/chromium (CHROMIUM=...) or adapter fails, never skips.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '../engine/index.js';
import { allCases } from './cases/index.js';
import { matmulCases } from './cases/matmul.js';
import { caseValues, notRun, runCase } from './cases/run.js';
import type { OpCase } from './cases/types.js';
import { expectClose } from './helpers.js';
import { ROOT, bundleForBrowser, launchChromium, serveDir, type BrowserSession, type Server } from './browser/harness.js';
import type { BrowserCaseResult, OpsPageResult } from './browser/ops-page.js';

let session: BrowserSession;
let work: string;
const servers: Server[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'simclr-browser-'));
  session = await launchChromium();
});

afterAll(async () => {
  await session?.close();
  for (const s of servers) await s.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function compareCase(c: OpCase, got: BrowserCaseResult | undefined, where: string): Promise<void> {
  expect(got, `${where}: no result from the page`).toBeDefined();
  expect(got!.error, `${where}: failed in the browser`).toBeUndefined();
  const ref = await runCase(c, new CpuBackend(), caseValues(c));
  expect(notRun(c, new Set(got!.ran)), `${where}: declared ops that never ran in the browser`).toEqual([]);
  expect(got!.leakedBuffers, `${where}: GPU buffers the case did not give back`).toBe(0);
  expect(got!.shape, `${where}: shape`).toEqual([...ref.shape]);
  expectClose(got!.out, ref.out, c.tol);
  expect(got!.grads.length, `${where}: gradients`).toBe(ref.grads.length);
  got!.grads.forEach((g, i) => {
    if (ref.grads[i] === null) expect(g, `${where}: input ${i} has no gradient`).toBeNull();
    else expectClose(g!, ref.grads[i]!, c.tol);
  });
}

describe('op cases in headless Chromium (WebGPU) match the CPU reference', () => {
  let result: OpsPageResult;
  beforeAll(async () => {
    const dir = join(work, 'ops');
    mkdirSync(dir);
    await bundleForBrowser(join(ROOT, 'test/browser/ops-page.ts'), join(dir, 'ops.js'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>op cases</title><link rel="icon" href="data:,"><script type="module" src="./ops.js"></script>');
    const server = await serveDir(dir);
    servers.push(server);
    const { page, problems } = session;
    await page.goto(server.url);
    await page.waitForFunction(() => 'runOpCases' in globalThis);
    result = await page.evaluate(() => (globalThis as unknown as { runOpCases: () => Promise<OpsPageResult> }).runOpCases());
    console.log(`browser: ${result.adapter} (CPU adapter: ${result.isCpuAdapter}), ${result.cases.length} cases in ${result.seconds.toFixed(1)} s, matmul kernels ${Object.keys(result.kernels).join(', ')}`);
    expect(problems, 'console errors in the page').toEqual([]);
  }, 300_000);

  it('ran every case on WebGPU and gave every buffer back', () => {
    expect(result.cases.map((c) => c.name)).toEqual(allCases.map((c) => c.name));
    expect(result.liveBuffers).toBe(0);
    expect(Object.keys(result.kernels).slice(0, 2)).toEqual(['tiled', 'register']);
  });
  for (const [i, c] of allCases.entries()) {
    it(c.name, async () => { await compareCase(c, result.cases[i], c.name); });
  }
  it('matmul cases under each matmul kernel variant', async () => {
    for (const [kernel, results] of Object.entries(result.kernels)) {
      for (const [i, c] of matmulCases.entries()) await compareCase(c, results[i], `${kernel} kernel: ${c.name}`);
    }
  });
});

describe('the packed package in a fresh esbuild app', () => {
  it('npm pack, unpack into an app, bundle for browsers, run: engine and nn work, no shader fetched', async () => {
    const packDir = join(work, 'pack');
    mkdirSync(packDir);
    // prepack runs `npm run build`, so the tarball always holds a fresh dist/.
    const out = execFileSync('npm', ['pack', '--pack-destination', packDir, '--json'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const [{ filename, files }] = JSON.parse(out.slice(out.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    const paths = files.map((f) => f.path);
    expect(paths).toContain('dist/engine/webgpu/shaders.generated.js');
    expect(paths).toContain('dist/nn/node.js');
    expect(paths.filter((p) => p.startsWith('test/') || p.startsWith('node_modules/'))).toEqual([]);

    const app = join(work, 'app');
    cpSync(join(ROOT, 'test/browser/package-app'), app, { recursive: true });
    const pkg = join(app, 'node_modules/simclr-webgpu');
    mkdirSync(pkg, { recursive: true });
    execFileSync('tar', ['-xzf', join(packDir, filename), '-C', pkg, '--strip-components=1']);
    const meta = await bundleForBrowser(join(app, 'main.js'), join(app, 'bundle.js'), { absWorkingDir: app });
    const inputs = Object.keys(meta.inputs);
    expect(inputs.some((p) => p.includes('node_modules/simclr-webgpu/dist/engine/webgpu/shaders.generated.js'))).toBe(true);
    expect(inputs.filter((p) => p.includes('nn/files') || p.includes('node_modules/webgpu/')), 'Node-only modules in the browser bundle').toEqual([]);

    const server = await serveDir(app);
    servers.push(server);
    const { page, problems } = session;
    problems.length = 0;
    await page.goto(server.url);
    const r = await page.evaluate(() => (globalThis as unknown as { appResult: Promise<Record<string, unknown>> }).appResult);
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ backend: 'webgpu', y: [5, 1, 0, 0], loss: 6, gx: [0, 3, 0, 0], gw: [1, 1, 2, 2], hShape: [2, 4], hFinite: true, hasConv1: true });
    expect(r.hSpread as number).toBeGreaterThan(0);
    expect(r.tensors).toBe(r.params);
    expect(server.requests.filter((p) => p !== '/' && p !== '/bundle.js' && p !== '/bundle.js.map')).toEqual([]);
    expect(problems, 'console errors in the app').toEqual([]);

    // The README's embed example, as written, bundled from the same tarball.
    const block = readFileSync(join(ROOT, 'README.md'), 'utf8').split('<!-- example:browser')[1]?.split('```ts\n')[1]?.split('```')[0];
    expect(block, 'README has the browser example').toBeTruthy();
    writeFileSync(join(app, 'readme.ts'), block!);
    await bundleForBrowser(join(app, 'readme.ts'), join(app, 'readme-bundle.js'), { absWorkingDir: app });
    writeFileSync(join(app, 'readme.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./readme-bundle.js"></script>');
    const logs: string[] = [];
    page.on('console', (m) => { if (m.type() === 'log') logs.push(m.text()); });
    await page.goto(server.url + 'readme.html');
    await expect.poll(() => logs.join('\n'), { timeout: 120_000, interval: 500 }).toMatch(/weights \d+ bytes/);
    expect(logs[0]).toMatch(/^h 4x128 /);
    expect(problems, 'console errors in the README example').toEqual([]);
  }, 300_000);
});

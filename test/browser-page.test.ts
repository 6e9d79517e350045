/**
 * The SimCLR page (web/, built into dist/web/ by `npm run build`, which this file runs first so
 * the page is never stale) in headless Chromium, one launch, one page:
 * - it starts on the CIFAR-10 demo, trains 2 steps and pauses, with no console errors;
 * - a reload resumes from the checkpoint in IndexedDB and trains 1 more step;
 * - those 3 losses equal Node's train() on the same images, seed and config (Dawn), within f32
 *   tolerance: same init, data order, views and step;
 * - the downloaded encoder loads strictly into a ResNet-18 in Node and is byte for byte what
 *   Node's exportEncoder writes for the same weights;
 * - the nearest-neighbour view answers; dropped files that are not images are refused by name;
 * - a lost device stops the run with a message and keeps the stored checkpoint.
 * The tests share one page and run in order. SCREENSHOT=1 also writes the mid-training screenshot to docs/web-page.png (shown in README).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { init } from '../engine/index.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import { decodeSafetensors, resnet18 } from '../nn/index.js';
import { DEFAULT_TRAIN_CONFIG, exportEncoder, train } from '../simclr/index.js';
import { ROOT, launchChromium, serveDir, type BrowserSession, type Server } from './browser/harness.js';

// Small, because SwiftShader runs WebGPU on the CPU: batch 8 at width 1/16 (4 base channels).
const BATCH = 8, WIDTH = 0.0625, EPOCHS = 1, SEED = 0;
const DEMO_TRAIN = join(ROOT, 'data/cifar10-demo/data_batch_1.first1500.bin.gz');

interface PageState { state: string; steps: { step: number; loss: number; accuracy: number; lr: number }[]; messages: { level: string; text: string }[]; checkpointStep: number | null; adapter: string; isCpuAdapter: boolean }

let session: BrowserSession;
let server: Server;
let work: string;
let backend: WebGpuBackend;

beforeAll(async () => {
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'pipe' });
  work = mkdtempSync(join(tmpdir(), 'simclr-page-'));
  server = await serveDir(ROOT);
  session = await launchChromium({ acceptDownloads: true });
  backend = await init({ backend: 'webgpu' }) as WebGpuBackend;
}, 240_000);

afterAll(async () => {
  await session?.close();
  await server?.close();
  backend?.destroy();
  if (work) rmSync(work, { recursive: true, force: true });
});

const pageState = () => session.page.evaluate(() => {
  const p = (globalThis as unknown as { simclrPage: PageState }).simclrPage;
  return { state: p.state, steps: p.steps, messages: p.messages, checkpointStep: p.checkpointStep, adapter: p.adapter, isCpuAdapter: p.isCpuAdapter };
});

async function waitForState(states: string[], timeoutMs = 240_000): Promise<PageState> {
  await session.page.waitForFunction((s) => s.includes((globalThis as unknown as { simclrPage?: PageState }).simclrPage?.state ?? ''), states, { timeout: timeoutMs, polling: 250 });
  return pageState();
}

const url = (q: string) => `${server.url}dist/web/?batch=${BATCH}&width=${WIDTH}&epochs=${EPOCHS}&seed=${SEED}&${q}`;

describe('the SimCLR page', () => {
  let losses: number[] = [];
  beforeEach(() => { session.problems.length = 0; });

  it('trains 2 steps on the demo images and pauses, with no console errors', async () => {
    const { page, problems } = session;
    await page.goto(url('fresh=1&autostart=demo&stopAfter=2'));
    const s = await waitForState(['paused', 'stopped']);
    expect(s.messages.filter((m) => m.level === 'error')).toEqual([]);
    expect(s.state).toBe('paused');
    expect(s.steps.map((r) => r.step)).toEqual([0, 1]);
    expect(s.checkpointStep).toBe(2);
    expect(problems, 'console errors').toEqual([]);
    // The grid of current views: 8 images x 2 views of 32 px drawn 3x, mostly non-black pixels.
    const views = await page.evaluate(() => {
      const c = document.getElementById('views') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let lit = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i]! + d[i + 1]! + d[i + 2]! > 0) lit++;
      return { w: c.width, h: c.height, lit };
    });
    expect(views).toMatchObject({ w: 8 * 98, h: 2 * 98 });
    expect(views.lit).toBeGreaterThan(0.5 * views.w * views.h);
    console.log(`page: ${s.adapter} (CPU adapter: ${s.isCpuAdapter}); losses ${s.steps.map((r) => r.loss.toFixed(5)).join(', ')}`);
  }, 300_000);

  it('a reload resumes from the checkpoint in browser storage; 3 losses match Node\'s train() within f32 tolerance', async () => {
    const { page, problems } = session;
    await page.goto(url('autostart=resume&stopAfter=3'));
    const s = await waitForState(['paused', 'stopped']);
    expect(s.messages.some((m) => m.text.includes('resumed the stored run at step 2'))).toBe(true);
    expect(s.steps.map((r) => r.step)).toEqual([0, 1, 2]);
    expect(problems, 'console errors').toEqual([]);
    losses = s.steps.map((r) => r.loss);

    let n = 0;
    const node = await train({
      ...DEFAULT_TRAIN_CONFIG, data: [DEMO_TRAIN], testData: null, format: 'cifar10', out: join(work, 'node-run'),
      epochs: EPOCHS, batchSize: BATCH, width: WIDTH, seed: SEED, backend: 'webgpu',
    }, { backend, shouldStop: () => ++n >= 3 });
    expect(node.losses.length).toBe(3);
    console.log(`node: losses ${node.losses.map((l) => l.toFixed(5)).join(', ')}`);
    losses.forEach((l, i) => expect(Math.abs(l - node.losses[i]!), `step ${i}: page ${l} vs node ${node.losses[i]}`).toBeLessThan(1e-4 * Math.abs(node.losses[i]!)));
  }, 300_000);

  it('the downloaded encoder loads in Node and has the bytes Node\'s export writes', async () => {
    const { page } = session;
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const file = join(work, 'encoder.safetensors');
    await download.saveAs(file);
    const bytes = new Uint8Array(readFileSync(file));
    const dict = decodeSafetensors(bytes, file);
    expect(dict.metadata).toMatchObject({ format: 'webgpu-simclr-encoder/1', arch: 'resnet18', stem: 'cifar', base_width: '4' });
    const encoder = resnet18({ stem: 'cifar', width: WIDTH, backend });
    const report = encoder.loadStateDict(dict);
    expect(report).toMatchObject({ missingKeys: [], unexpectedKeys: [], mismatchedKeys: [] });
    const again = join(work, 'node-export.safetensors');
    await exportEncoder(encoder, again);
    expect(Buffer.compare(readFileSync(again), Buffer.from(bytes)), 'page download vs Node export of the same weights').toBe(0);
    encoder.dispose();
  }, 300_000);

  it('shows nearest neighbours by the learned representation', async () => {
    const { page, problems } = session;
    await page.click('#nn');
    await page.waitForFunction(() => (document.getElementById('nn-result') as HTMLElement).dataset.neighbours !== undefined, undefined, { timeout: 120_000 });
    const neighbours = await page.evaluate(() => (document.getElementById('nn-result') as HTMLElement).dataset.neighbours!.split(',').map(Number));
    expect(neighbours.length).toBe(8);
    expect(new Set(neighbours).size).toBe(8);
    expect(neighbours).not.toContain(0);
    expect(problems, 'console errors').toEqual([]);
    // The page mid-training (paused at step 3 of 187), chart, views and neighbours drawn.
    const shot = await page.screenshot({ fullPage: true });
    expect(shot.length).toBeGreaterThan(20_000);
    if (process.env.SCREENSHOT === '1') writeFileSync(join(ROOT, 'docs/web-page.png'), shot);
  }, 300_000);

  it('a lost device stops the run with a message and keeps the stored checkpoint; a reload restores it', async () => {
    const { page } = session;
    // Resume, and lose the device while the first step is on it.
    await page.evaluate(() => {
      document.getElementById('resume')!.click();
      setTimeout(() => (globalThis as unknown as { simclrPage: { backend: { device: GPUDevice } } }).simclrPage.backend.device.destroy(), 100);
    });
    const s = await waitForState(['stopped']);
    const err = s.messages.filter((m) => m.level === 'error').map((m) => m.text);
    expect(err.some((t) => /GPU device was lost/.test(t) && /checkpoint of step 3 is kept/.test(t)), err.join('\n')).toBe(true);
    // SwiftShader may still be running the lost device's queued work: give the reload time.
    await page.goto(url(''), { waitUntil: 'domcontentloaded', timeout: 180_000 });
    const r = await waitForState(['paused']);
    expect(r.messages.some((m) => m.text.includes('resumed the stored run at step 3'))).toBe(true);
    expect(r.steps.length).toBe(3);
  }, 300_000);

  it('refuses dropped files that are not images by name, labels images by folder', async () => {
    const { page } = session;
    await page.goto(url('fresh=1'));
    await waitForState(['idle']);
    const dir = join(work, 'my-images');
    for (const [c, folder] of ['cats', 'dogs'].entries()) {
      mkdirSync(join(dir, folder), { recursive: true });
      for (let i = 0; i < 20; i++) {
        const p = new PNG({ width: 40, height: 30 });
        for (let k = 0; k < p.data.length; k++) p.data[k] = (k * (i + 3) + 97 * c) % 251;
        writeFileSync(join(dir, folder, `img${i}.png`), PNG.sync.write(p));
      }
    }
    writeFileSync(join(dir, 'cats', 'notes.txt'), 'not an image');
    writeFileSync(join(dir, 'dogs', 'broken.png'), 'not a png either');
    await page.setInputFiles('#files', dir);
    const s = await waitForState(['idle', 'stopped']);
    const texts = s.messages.map((m) => m.text);
    expect(texts).toContain('notes.txt is not a PNG or JPEG image: skipped');
    expect(texts).toContain('broken.png is not an image the browser can decode (PNG or JPEG): skipped');
    expect(await page.textContent('#data-source')).toBe('40 dropped images in 2 folders');
    expect(await page.isEnabled('#start')).toBe(true);
  }, 300_000);
});

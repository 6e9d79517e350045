/**
 * The SimCLR page (web/, bundled into dist/web/ from the sources by scripts/build-web.mjs, which
 * this file runs first after regenerating the kernels, so the page is never stale) in headless
 * Chromium, one launch, one page:
 * - it starts on the CIFAR-10 demo, trains 2 steps and pauses, with no console errors;
 * - a reload resumes from the checkpoint in IndexedDB and trains 1 more step;
 * - those 3 losses equal Node's train() on the same images, seed and config (Dawn), within f32
 *   tolerance: same init, data order, views and step;
 * - the downloaded encoder loads strictly into a ResNet-18 in Node and is byte for byte what
 *   Node's exportEncoder writes for the same weights;
 * - the nearest-neighbour view answers; dropped files that are not images are refused by name;
 * - a lost device stops the run with a message and keeps the stored checkpoint;
 * - images dropped on the drop zone (a real drop event) are taken as the file picker takes them,
 *   PNG and JPEG (test/fixtures/quadrants.jpg, written by libjpeg) decoded to the right pixels;
 * - without navigator.gpu, or with no adapter, the page says so and what to do (own pages).
 * The tests of the first group share one page and run in order. SCREENSHOT=1 also writes the mid-training screenshot to docs/web-page.png (shown in README).
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
import { ROOT, launchChromium, serveDir, watchProblems, type BrowserSession, type Server } from './browser/harness.js';

// Small, because SwiftShader runs WebGPU on the CPU: batch 8 at width 1/16 (4 base channels).
const BATCH = 8, WIDTH = 0.0625, EPOCHS = 1, SEED = 0;
const DEMO_TRAIN = join(ROOT, 'data/cifar10-demo/data_batch_1.first1500.bin.gz');

interface PageState { state: string; steps: { step: number; loss: number; accuracy: number; lr: number }[]; messages: { level: string; text: string }[]; checkpointStep: number | null; adapter: string; isCpuAdapter: boolean }
interface ImageSet { n: number; images: Uint8Array; labels: Int32Array | null }
/** What the page holds beyond PageState (its images), marked `old` by loadImages before a load. */
interface PageWithData extends PageState { data: { train: ImageSet; test: ImageSet | null; source: string; old?: boolean } }
/** A file to hand to the page. */
interface FileSpec { name: string; type: string; bytes: Buffer }

let session: BrowserSession;
let server: Server;
let work: string;
let backend: WebGpuBackend;

beforeAll(async () => {
  // the page's bundle only (esbuild, from the sources): a full `npm run build` would add tsc's half minute
  for (const script of ['scripts/generate-shaders.mjs', 'scripts/build-web.mjs']) execFileSync(process.execPath, [script], { cwd: ROOT, stdio: 'pipe' });
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

/**
 * Runs `act` (which makes the page load images) and waits until the page is idle with new images
 * or has shown an error; returns what it took and the messages since.
 */
async function loadImages(act: () => Promise<unknown>) {
  const { page } = session;
  const seen = await page.evaluate(() => {
    const p = (globalThis as unknown as { simclrPage: PageWithData }).simclrPage;
    p.data.old = true;
    return p.messages.length;
  });
  await act();
  await page.waitForFunction((seen) => {
    const p = (globalThis as unknown as { simclrPage: PageWithData }).simclrPage;
    return p.state === 'idle' && (!p.data.old || p.messages.slice(seen).some((m) => m.level === 'error'));
  }, seen, { timeout: 60_000, polling: 100 });
  return page.evaluate((seen) => {
    const p = (globalThis as unknown as { simclrPage: PageWithData }).simclrPage;
    return {
      shown: document.getElementById('data-source')!.textContent, n: p.data.train.n, images: Array.from(p.data.train.images),
      labelled: p.data.train.labels !== null, test: p.data.test !== null, messages: p.messages.slice(seen).map((m) => m.text),
    };
  }, seen);
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

  it('takes images dropped on the drop zone as the file picker does: PNG and JPEG decoded, a non-image refused by name', async () => {
    const { page, problems } = session;
    // its own fresh page, so it runs alone too (-t) and does not lean on the previous test's state
    await page.goto(url('fresh=1'));
    await waitForState(['idle']);
    // Two 32 x 32 PNGs (no resampling: their pixels come through exactly), the 48 x 32 JPEG whose
    // center crop is four flat quadrants, and a text file.
    const pngs = [0, 1].map((i) => {
      const p = new PNG({ width: 32, height: 32 });
      for (let k = 0; k < p.data.length; k++) p.data[k] = k % 4 === 3 ? 255 : (k * (i + 3) + 11) % 251;
      return p;
    });
    const files: FileSpec[] = [
      { name: 'first.png', type: 'image/png', bytes: PNG.sync.write(pngs[0]!) },
      { name: 'second.png', type: 'image/png', bytes: PNG.sync.write(pngs[1]!) },
      { name: 'quadrants.jpg', type: 'image/jpeg', bytes: readFileSync(join(ROOT, 'test/fixtures/quadrants.jpg')) },
      { name: 'shopping-list.txt', type: 'text/plain', bytes: Buffer.from('not an image') },
    ];
    const dropped = await loadImages(() => page.evaluate((specs) => {
      const dt = new DataTransfer();
      for (const f of specs) dt.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name, { type: f.type }));
      const zone = document.getElementById('drop')!;
      // The browser drops only where dragover was cancelled: dispatchEvent says whether it was.
      const accepted = !zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      if (!accepted) throw new Error('the drop zone did not accept the dragover');
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, files.map((f) => ({ name: f.name, type: f.type, b64: f.bytes.toString('base64') }))));
    expect(dropped.messages).toEqual(['shopping-list.txt is not a PNG or JPEG image: skipped']);
    expect(dropped).toMatchObject({ shown: '3 dropped images (no labels: the kNN monitor is off)', n: 3, labelled: false, test: false });

    const px = 32 * 32, image = (i: number) => dropped.images.slice(i * 3 * px, (i + 1) * 3 * px);
    pngs.forEach((p, i) => {
      const planar = Array.from({ length: 3 * px }, (_, j) => p.data[4 * (j % px) + Math.floor(j / px)]!);
      expect(image(i), `${files[i]!.name}: planar RGB of its pixels`).toEqual(planar);
    });
    const quadrant = [[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [255, 255, 255]]];
    const jpeg = image(2);
    let worst = 0;
    for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) {
      worst = Math.max(worst, Math.abs(jpeg[c * px + y * 32 + x]! - quadrant[y >> 4]![x >> 4]![c]!));
    }
    expect(worst, 'JPEG: largest difference from the quadrant colours (black bars would give 255)').toBeLessThanOrEqual(4);

    // The same files through the file picker: the same images (the picker's order is the folder
    // listing's, so compared as a sorted list), the same refusal.
    const dir = join(work, 'drop-vs-picker');
    mkdirSync(dir);
    for (const f of files) writeFileSync(join(dir, f.name), f.bytes);
    const picked = await loadImages(() => page.setInputFiles('#files', dir));
    const sorted = (r: typeof dropped) => [0, 1, 2].map((i) => r.images.slice(i * 3 * px, (i + 1) * 3 * px).join()).sort();
    expect(picked.messages).toEqual(dropped.messages);
    expect({ ...picked, images: sorted(picked) }).toEqual({ ...dropped, images: sorted(dropped) });
    expect(problems, 'console errors').toEqual([]);
  }, 120_000);
});

describe('the SimCLR page without WebGPU', () => {
  /** Opens the page in a new tab of the browser with `before` run ahead of the page's scripts. */
  async function openWith(before: () => void) {
    const page = await session.context.newPage();
    try {
      const problems = watchProblems(page);
      await page.addInitScript(before);
      await page.goto(url(''));
      await page.waitForFunction(() => !['starting', 'loading'].includes((globalThis as unknown as { simclrPage?: PageState }).simclrPage?.state ?? 'starting'), undefined, { timeout: 60_000, polling: 100 });
      return {
        state: await page.evaluate(() => (globalThis as unknown as { simclrPage: PageState }).simclrPage.state),
        errors: await page.locator('#messages div.error').allTextContents(),
        startEnabled: await page.isEnabled('#start'),
        problems,
      };
    } finally {
      await page.close();
    }
  }

  it('says WebGPU is missing and what to do when navigator.gpu is not there', async () => {
    const r = await openWith(() => { delete (Navigator.prototype as { gpu?: unknown }).gpu; });
    expect(r).toMatchObject({ state: 'unsupported', startEnabled: false, problems: [] });
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(/no WebGPU \(navigator\.gpu is missing\)/);
    expect(r.errors[0]).toMatch(/Chrome.*--enable-unsafe-webgpu.*https or localhost/);
  }, 120_000);

  it('says no adapter could be obtained, and what to do, when requestAdapter gives none', async () => {
    const r = await openWith(() => { GPU.prototype.requestAdapter = async () => null; });
    expect(r).toMatchObject({ state: 'unsupported', startEnabled: false, problems: [] });
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(/^No WebGPU adapter could be obtained: the browser has WebGPU but offered no adapter\./);
    expect(r.errors[0]).toMatch(/hardware acceleration.*chrome:\/\/gpu.*--enable-unsafe-webgpu/);
  }, 120_000);
});

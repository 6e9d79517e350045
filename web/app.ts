/**
 * The SimCLR page: picks data (the CIFAR-10 demo or dropped images), runs SimclrSession step by
 * step between event-loop turns (so the page stays responsive), draws the chart and the current
 * views, keeps the run in IndexedDB (a reload resumes it), downloads the encoder, and shows nearest
 * neighbours. Stops with a message, keeping the last stored checkpoint, when WebGPU is missing, no
 * adapter is found, or the device is lost.
 *
 * URL parameters (used by test/browser-page.test.ts; all optional): batch, width, epochs, seed
 * override the defaults; stopAfter=N pauses after step N; autostart=demo|resume starts without a
 * click; fresh=1 forgets a stored run first.
 */
import { init, type WebGpuBackend } from '../engine/index.js';
import { drawChart, drawTiles } from './chart.js';
import { IMAGE_SIZE, ImageInputError, loadDemo, loadUserImages, type InputFile } from './data.js';
import { SESSION_DEFAULTS, SimclrSession, type EpochRecord, type PageData, type SessionConfig, type StepRecord } from './session.js';
import { clearRun, loadRun, saveRun } from './store.js';
import type { ImageDataset } from '../simclr/browser.js';

type State = 'starting' | 'unsupported' | 'idle' | 'loading' | 'training' | 'pausing' | 'paused' | 'done' | 'stopped';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const num = (k: string) => (params.has(k) ? Number(params.get(k)) : undefined);

/** What the page exposes for tests and the curious (window.simclrPage). */
const page = {
  state: 'starting' as State,
  steps: [] as StepRecord[],
  epochs: [] as EpochRecord[],
  messages: [] as { level: string; text: string }[],
  checkpointStep: null as number | null,
  adapter: '',
  isCpuAdapter: false,
  backend: null as WebGpuBackend | null,
};
(globalThis as { simclrPage?: typeof page }).simclrPage = page;

let session: SimclrSession | null = null;
let data: PageData | null = null;
let deviceLost = false;
const DEMO_BASE = new URL('../../data/cifar10-demo/', location.href);
/** Checkpoint at least this often (and at every epoch end, pause and the end). */
const CHECKPOINT_EVERY_S = 30;

function message(text: string, level: 'info' | 'warn' | 'error' = 'info'): void {
  page.messages.push({ level, text });
  const div = document.createElement('div');
  div.className = level;
  div.textContent = text;
  $('messages').prepend(div);
}

function setState(s: State): void {
  page.state = s;
  const running = s === 'training' || s === 'pausing';
  $<HTMLButtonElement>('start').disabled = !(s === 'idle' && data !== null);
  $<HTMLButtonElement>('pause').disabled = s !== 'training';
  $<HTMLButtonElement>('resume').disabled = s !== 'paused';
  $<HTMLButtonElement>('download').disabled = session === null || running || deviceLost;
  $<HTMLButtonElement>('nn').disabled = session === null || running || deviceLost;
  for (const id of ['batch', 'width', 'epochs', 'seed', 'use-demo', 'files']) $<HTMLInputElement>(id).disabled = s !== 'idle';
}

function config(): SessionConfig {
  const v = (id: string) => Number($<HTMLInputElement>(id).value);
  return { ...SESSION_DEFAULTS, batchSize: v('batch'), width: v('width'), epochs: v('epochs'), seed: v('seed') };
}

function validate(c: SessionConfig, d: PageData): string | null {
  if (!(Number.isInteger(c.batchSize) && c.batchSize >= 2)) return `batch size must be an integer >= 2, got ${c.batchSize}`;
  if (!(c.width > 0 && Number.isInteger(64 * c.width))) return `width must be a positive multiple of 1/64, got ${c.width}`;
  if (!(Number.isInteger(c.epochs) && c.epochs >= 1)) return `epochs must be a positive integer, got ${c.epochs}`;
  if (!Number.isInteger(c.seed)) return `seed must be an integer, got ${c.seed}`;
  if (d.train.n < c.batchSize) return `${d.train.n} images are fewer than one batch of ${c.batchSize}: lower the batch size or add images`;
  return null;
}

const fmtTime = (s: number) => (s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);

function showProgress(): void {
  if (!session) return;
  const last = page.steps.slice(-10);
  const perStep = last.reduce((a, s) => a + s.seconds, 0) / Math.max(1, last.length);
  $('st-step').textContent = `${session.step} / ${session.totalSteps} (epoch ${Math.min(session.config.epochs, Math.floor(session.step / session.bpe) + 1)} of ${session.config.epochs})`;
  $('st-speed').textContent = last.length ? (session.config.batchSize / perStep).toFixed(1) : '-';
  $('st-eta').textContent = last.length ? fmtTime(perStep * (session.totalSteps - session.step)) : '-';
  drawChart($('chart'), page.steps, page.epochs, session.totalSteps);
}

async function store(): Promise<void> {
  if (!session || !data || deviceLost) return;
  const checkpoint = await session.checkpoint();
  if (deviceLost) return; // a read-back that raced the loss may hold garbage: keep the last good one
  await saveRun({ config: session.config, data, steps: page.steps, epochs: page.epochs, checkpoint, savedAt: Date.now() });
  page.checkpointStep = session.step;
  $('st-ckpt').textContent = `step ${session.step}, in this browser (${new Date().toLocaleTimeString()})`;
}

async function trainLoop(): Promise<void> {
  const s = session!;
  const stopAfter = num('stopAfter');
  let lastSave = performance.now(), lastViews = 0;
  setState('training');
  try {
    while (!s.done && page.state === 'training') {
      const wantViews = performance.now() - lastViews > 1500;
      const rec = await s.trainStep(wantViews ? (v, n) => {
        const k = Math.min(8, n), px = 3 * IMAGE_SIZE * IMAGE_SIZE;
        const tiles = new Float32Array(2 * k * px);
        tiles.set(v.subarray(0, k * px), 0);
        tiles.set(v.subarray(n * px, (n + k) * px), k * px);
        drawTiles($('views'), tiles, 2 * k, IMAGE_SIZE, k, 3);
        lastViews = performance.now();
      } : undefined);
      page.steps.push(rec);
      if (s.atEpochEnd) {
        page.epochs.push(await s.finishEpoch());
        await store(); lastSave = performance.now();
      } else if (performance.now() - lastSave > CHECKPOINT_EVERY_S * 1000) {
        await store(); lastSave = performance.now();
      }
      showProgress();
      if (stopAfter !== undefined && s.step >= stopAfter && page.state === 'training') setState('pausing');
      await new Promise((r) => setTimeout(r, 0));
    }
    if (page.checkpointStep !== s.step) await store();
    if (s.done) { setState('done'); message(`training finished: ${s.step} steps; download the encoder or look at nearest neighbours`); } else setState('paused');
  } catch (e) {
    await stop(e);
  }
}

async function stop(e: unknown): Promise<void> {
  // A lost device first fails the pending read-back; its lost promise settles just after.
  if (!deviceLost) await Promise.race([page.backend!.device.lost, new Promise((r) => setTimeout(r, 1000))]);
  const kept = page.checkpointStep === null ? 'no checkpoint was stored yet' : `the checkpoint of step ${page.checkpointStep} is kept in this browser`;
  if (deviceLost) message(`training stopped: the GPU device was lost; ${kept}. Reload the page to resume.`, 'error');
  else message(`training stopped: ${e instanceof Error ? e.message : String(e)}; ${kept}`, 'error');
  setState('stopped');
}

async function startOrResume(stored: boolean): Promise<void> {
  if (!data) return;
  const c = config();
  const bad = validate(c, data);
  if (bad) { message(bad, 'error'); return; }
  if (!stored) {
    session?.dispose();
    session = new SimclrSession(page.backend!, data, c);
    page.steps = []; page.epochs = []; page.checkpointStep = null;
    await store();
  }
  void trainLoop();
}

async function useData(d: PageData): Promise<void> {
  data = d;
  $('data-source').textContent = d.source + (d.test ? '' : ' (no labels: the kNN monitor is off)');
  showPickGrid();
  setState('idle');
}

async function readDrop(items: DataTransferItemList): Promise<InputFile[]> {
  const out: InputFile[] = [];
  const walk = async (entry: FileSystemEntry, folder: string): Promise<void> => {
    if (entry.isFile) {
      out.push({ file: await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej)), folder });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const e of batch) await walk(e, e.isDirectory ? e.name : folder);
      }
    }
  };
  const entries = Array.from(items).map((i) => i.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  for (const e of entries) await walk(e, '');
  return out;
}

async function loadFiles(files: InputFile[]): Promise<void> {
  setState('loading');
  try {
    await useData(await loadUserImages(files, (m) => message(m, 'warn')));
  } catch (e) {
    message(e instanceof ImageInputError ? e.message : `cannot read the images: ${String(e)}`, 'error');
    setState('idle');
  }
}

// ---- nearest neighbours -------------------------------------------------------------------------

const PICK = 32;
let nnFeatures: Float32Array | null = null;

/** Up to 128 images of the test split, else of the training images. */
function nnSet(): ImageDataset {
  const ds = data!.test ?? data!.train;
  const n = Math.min(ds.n, 128), px = 3 * IMAGE_SIZE * IMAGE_SIZE;
  return { ...ds, n, images: ds.images.subarray(0, n * px), labels: ds.labels && ds.labels.subarray(0, n) };
}

function showPickGrid(): void {
  const ds = nnSet();
  drawTiles($('nn-pick'), ds.images.subarray(0, Math.min(PICK, ds.n) * 3 * IMAGE_SIZE * IMAGE_SIZE), Math.min(PICK, ds.n), IMAGE_SIZE, 16, 2, true);
  nnFeatures = null;
  $('nn-result').textContent = '';
}

async function computeNeighbours(): Promise<void> {
  const s = session!;
  $<HTMLButtonElement>('nn').disabled = true;
  const ds = nnSet();
  const f = await s.features(ds);
  const d = s.encoder.features;
  for (let i = 0; i < ds.n; i++) {
    let norm = 0;
    for (let j = 0; j < d; j++) norm += f[i * d + j]! ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < d; j++) f[i * d + j]! /= norm;
  }
  nnFeatures = f;
  $<HTMLButtonElement>('nn').disabled = false;
  message(`features of ${ds.n} images computed: click an image to see its nearest neighbours`);
  showNeighbours(0);
}

function showNeighbours(q: number): void {
  const ds = nnSet(), f = nnFeatures!, d = session!.encoder.features;
  const sims: [number, number][] = [];
  for (let i = 0; i < ds.n; i++) {
    if (i === q) continue;
    let dot = 0;
    for (let j = 0; j < d; j++) dot += f[q * d + j]! * f[i * d + j]!;
    sims.push([dot, i]);
  }
  sims.sort((a, b) => b[0] - a[0]);
  const top = [q, ...sims.slice(0, 8).map((x) => x[1])];
  const px = 3 * IMAGE_SIZE * IMAGE_SIZE;
  const tiles = new Uint8Array(top.length * px);
  top.forEach((i, k) => tiles.set(ds.images.subarray(i * px, (i + 1) * px), k * px));
  const out = $('nn-result');
  out.textContent = '';
  const c = document.createElement('canvas');
  drawTiles(c, tiles, top.length, IMAGE_SIZE, top.length, 3, true);
  const cls = (i: number) => (ds.labels && data!.classes ? data!.classes[ds.labels[i]!] : '');
  const caption = document.createElement('p');
  caption.className = 'muted';
  caption.textContent = `query ${cls(q)} | nearest: ${sims.slice(0, 8).map(([sim, i]) => `${cls(i)} ${sim.toFixed(2)}`).join(', ')}`;
  out.append(c, caption);
  out.dataset.query = String(q);
  out.dataset.neighbours = top.slice(1).join(',');
}

// ---- start-up -----------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (!('gpu' in navigator)) {
    message('This browser has no WebGPU (navigator.gpu is missing). Use a recent Chrome, Edge or Safari; on Linux Chromium start it with --enable-unsafe-webgpu; WebGPU also needs https or localhost.', 'error');
    setState('unsupported');
    return;
  }
  let backend: WebGpuBackend;
  try {
    backend = await init({ backend: 'webgpu' }) as WebGpuBackend;
  } catch (e) {
    message(`No WebGPU adapter could be obtained: ${e instanceof Error ? e.message : String(e)}. Check that hardware acceleration is on (chrome://gpu).`, 'error');
    setState('unsupported');
    return;
  }
  page.backend = backend;
  page.adapter = backend.label;
  page.isCpuAdapter = backend.isCpuAdapter;
  void backend.device.lost.then((info) => {
    deviceLost = true;
    // While training, the failing step reports it (trainLoop -> stop).
    if (page.state !== 'training' && page.state !== 'pausing' && page.state !== 'stopped') {
      message(`the GPU device was lost (${info.reason}: ${info.message}); reload the page to continue from the stored checkpoint`, 'error');
      setState('stopped');
    }
  });
  $('st-adapter').textContent = `${backend.label}${backend.isCpuAdapter ? ' (a CPU implementation: small defaults)' : ''}`;
  // A CPU adapter (SwiftShader, lavapipe) runs about 100x slower than a GPU: small defaults.
  const defaults = backend.isCpuAdapter ? { batch: 32, width: 0.125, epochs: 2 } : { batch: 256, width: 0.5, epochs: 30 };
  $('defaults').textContent = backend.isCpuAdapter
    ? 'Defaults are small because this adapter runs on the CPU.'
    : 'Defaults for a GPU; lower the batch size if memory runs out.';
  const set = (id: string, v: number) => { $<HTMLInputElement>(id).value = String(v); };
  set('batch', num('batch') ?? defaults.batch); set('width', num('width') ?? defaults.width);
  set('epochs', num('epochs') ?? defaults.epochs); set('seed', num('seed') ?? 0);

  $('start').onclick = () => void startOrResume(false);
  $('pause').onclick = () => setState('pausing');
  $('resume').onclick = () => void startOrResume(true);
  $('reset').onclick = async () => { await clearRun(); location.search = ''; };
  $('use-demo').onclick = async () => { setState('loading'); await useData(await loadDemo(DEMO_BASE)); };
  $('download').onclick = async () => {
    const bytes = await session!.encoderFile();
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
    a.download = `simclr-resnet18-w${session!.config.width}-step${session!.step}.safetensors`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  };
  $('nn').onclick = () => void computeNeighbours();
  $('nn-pick').onclick = (ev) => {
    if (!nnFeatures) return;
    const c = $<HTMLCanvasElement>('nn-pick'), r = c.getBoundingClientRect();
    const tile = IMAGE_SIZE * 2 + 2;
    const i = Math.floor((ev.clientY - r.top) * (c.height / r.height) / tile) * 16 + Math.floor((ev.clientX - r.left) * (c.width / r.width) / tile);
    if (i < Math.min(PICK, nnSet().n)) showNeighbours(i);
  };
  $<HTMLInputElement>('files').onchange = (ev) => {
    const files = Array.from((ev.target as HTMLInputElement).files ?? []);
    void loadFiles(files.map((file) => ({ file, folder: file.webkitRelativePath.split('/').slice(-2, -1)[0] ?? '' })));
  };
  const drop = $('drop');
  drop.ondragover = (ev) => { ev.preventDefault(); drop.classList.add('over'); };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = async (ev) => {
    ev.preventDefault(); drop.classList.remove('over');
    if (page.state !== 'idle') { message('pause or finish the current run before loading other images', 'warn'); return; }
    if (ev.dataTransfer) await loadFiles(await readDrop(ev.dataTransfer.items));
  };

  if (params.get('fresh') === '1') await clearRun();
  const stored = await loadRun().catch((e) => { message(String(e), 'warn'); return null; });
  if (stored?.checkpoint) {
    data = stored.data;
    $('data-source').textContent = `${stored.data.source} (stored run)`;
    set('batch', stored.config.batchSize); set('width', stored.config.width); set('epochs', stored.config.epochs); set('seed', stored.config.seed);
    session = new SimclrSession(backend, stored.data, stored.config);
    session.restore(stored.checkpoint);
    page.steps = stored.steps; page.epochs = stored.epochs; page.checkpointStep = session.step;
    $('st-ckpt').textContent = `step ${session.step}, restored from this browser`;
    showPickGrid();
    showProgress();
    message(`resumed the stored run at step ${session.step} of ${session.totalSteps}: press Resume to continue (or Forget stored run)`);
    if (session.done) setState('done');
    else if (params.get('autostart') === 'resume') void startOrResume(true);
    else setState('paused');
    return;
  }
  setState('loading');
  await useData(await loadDemo(DEMO_BASE));
  if (params.get('autostart') === 'demo') void startOrResume(false);
}

main().catch((e) => { message(`the page failed to start: ${e instanceof Error ? e.message : String(e)}`, 'error'); setState('stopped'); });

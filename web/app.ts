/**
 * The SimCLR page: picks data (the CIFAR-10 demo or dropped images), runs the shared trainer
 * (simclr/trainer.ts, as `npm run pretrain` does) with a sink into IndexedDB (a reload resumes the
 * run), draws the chart and the current views, downloads the encoder, and shows nearest
 * neighbours. Stops with a message, keeping the last stored checkpoint, when WebGPU is missing, no
 * adapter is found, or the device is lost. The page checkpoints every epoch, on pause, and every
 * 30 s (by interrupting the trainer, which checkpoints, and resuming it at once).
 *
 * URL parameters (used by test/browser-page.test.ts; all optional): batch, width, epochs, seed
 * override the defaults; stopAfter=N pauses after step N; autostart=demo|resume starts without a
 * click; fresh=1 forgets a stored run first.
 */
import { DeviceError, init, type WebGpuBackend } from '../engine/index.js';
import { BatchLoader, runTraining, type ImageDataset, type StepMetrics, type EpochMetrics, type TrainConfig } from '../simclr/browser.js';
import { drawChart, drawTiles } from './chart.js';
import { IMAGE_SIZE, ImageInputError, loadDemo, loadUserImages, type InputFile } from './data.js';
import { BrowserSink, pageConfig, pageSplits, type PageData } from './run.js';
import { clearRun, loadRun } from './store.js';

type State = 'starting' | 'unsupported' | 'idle' | 'loading' | 'training' | 'pausing' | 'paused' | 'done' | 'stopped';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const num = (k: string) => (params.has(k) ? Number(params.get(k)) : undefined);

/** What the page exposes for tests and the curious (window.simclrPage). */
const page = {
  state: 'starting' as State,
  steps: [] as StepMetrics[],
  epochs: [] as EpochMetrics[],
  messages: [] as { level: string; text: string }[],
  checkpointStep: null as number | null,
  adapter: '',
  isCpuAdapter: false,
  backend: null as WebGpuBackend | null,
  /** The images in use (the demo's, the user's, or a stored run's). */
  data: null as PageData | null,
};
(globalThis as { simclrPage?: typeof page }).simclrPage = page;

let sink: BrowserSink | null = null;
let totalSteps = 0;
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
  $<HTMLButtonElement>('start').disabled = !(s === 'idle' && page.data !== null);
  $<HTMLButtonElement>('pause').disabled = s !== 'training';
  $<HTMLButtonElement>('resume').disabled = s !== 'paused';
  const noCheckpoint = sink?.checkpoint == null;
  $<HTMLButtonElement>('download').disabled = noCheckpoint || running;
  $<HTMLButtonElement>('nn').disabled = noCheckpoint || running || deviceLost;
  for (const id of ['batch', 'width', 'epochs', 'seed', 'use-demo', 'files']) $<HTMLInputElement>(id).disabled = s !== 'idle';
}

function settings() {
  const v = (id: string) => Number($<HTMLInputElement>(id).value);
  return { batchSize: v('batch'), width: v('width'), epochs: v('epochs'), seed: v('seed') };
}

/** The run's config from the form, or null after a message naming what is wrong. */
function config(d: PageData): TrainConfig | null {
  const c = settings();
  if (d.train.n < c.batchSize) { message(`${d.train.n} images are fewer than one batch of ${c.batchSize}: lower the batch size or add images`, 'error'); return null; }
  try { return pageConfig(c, d); } catch (e) { message(e instanceof Error ? e.message : String(e), 'error'); return null; }
}

const fmtTime = (s: number) => (s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);

function showProgress(): void {
  if (!sink) return;
  const c = sink.config, last = page.steps.at(-1);
  const done = last ? last.step + 1 : (sink.checkpointStep ?? 0);
  const bpe = totalSteps / c.epochs;
  $('st-step').textContent = `${done} / ${totalSteps} (epoch ${Math.min(c.epochs, Math.floor(done / bpe) + 1)} of ${c.epochs})`;
  const recent = page.steps.slice(-10);
  $('st-speed').textContent = recent.length ? (recent.reduce((a, m) => a + m.imagesPerSec, 0) / recent.length).toFixed(1) : '-';
  $('st-eta').textContent = last ? fmtTime(last.etaSec) : '-';
  $('st-ckpt').textContent = sink.checkpointStep === null ? 'none' : `step ${sink.checkpointStep}, in this browser`;
  page.checkpointStep = sink.checkpointStep;
  drawChart($('chart'), page.steps, page.epochs, totalSteps);
}

/** Steps and epochs from the run log (the chart's data; a reload rebuilds them the same way). */
function fromLog(): void {
  page.steps = sink!.logged.filter((r) => r.type === 'step') as unknown as StepMetrics[];
  page.epochs = sink!.logged.filter((r) => r.type === 'epoch') as unknown as EpochMetrics[];
}

function drawViews(v: Float32Array, n: number): void {
  const k = Math.min(8, n), px = 3 * IMAGE_SIZE * IMAGE_SIZE;
  const tiles = new Float32Array(2 * k * px);
  tiles.set(v.subarray(0, k * px), 0);
  tiles.set(v.subarray(n * px, (n + k) * px), k * px);
  drawTiles($('views'), tiles, 2 * k, IMAGE_SIZE, k, 3);
}

async function trainLoop(resume: boolean): Promise<void> {
  const s = sink!, backend = page.backend!;
  const stopAfter = num('stopAfter');
  let lastViews = -Infinity; // the first step's views always (performance.now() starts at the page load)
  setState('training');
  try {
    for (;;) {
      const started = performance.now();
      const r = await runTraining({ ...s.config, resume }, pageSplits(s.data), s, backend, {
        onStep: () => { fromLog(); showProgress(); },
        onEpoch: () => { fromLog(); showProgress(); },
        onNote: (text) => message(text),
        onViews: async (v, n) => {
          if (performance.now() - lastViews < 1500) return;
          lastViews = performance.now();
          drawViews((await v.data()) as Float32Array, n);
        },
        shouldStop: () => {
          if (stopAfter !== undefined && page.steps.length >= stopAfter && page.state === 'training') setState('pausing');
          return page.state === 'pausing' || performance.now() - started > CHECKPOINT_EVERY_S * 1000;
        },
      });
      resume = true;
      fromLog(); showProgress();
      if (!r.interrupted) { setState('done'); message(`training finished: ${r.steps} steps; download the encoder or look at nearest neighbours`); return; }
      if (page.state === 'pausing') { setState('paused'); return; }
      await new Promise((res) => setTimeout(res, 0)); // a timed checkpoint: go on
    }
  } catch (e) {
    await stop(e);
  }
}

async function stop(e: unknown): Promise<void> {
  // A lost device first fails the pending read-back; its lost promise settles just after.
  if (!deviceLost) await Promise.race([page.backend!.device.lost, new Promise((r) => setTimeout(r, 1000))]);
  const step = sink?.checkpointStep ?? null;
  page.checkpointStep = step;
  const kept = step === null ? 'no checkpoint was stored yet' : `the checkpoint of step ${step} is kept in this browser`;
  if (deviceLost) message(`training stopped: the GPU device was lost; ${kept}. Reload the page to resume.`, 'error');
  else message(`training stopped: ${e instanceof Error ? e.message : String(e)}; ${kept}`, 'error');
  setState('stopped');
}

async function start(): Promise<void> {
  const data = page.data;
  if (!data) return;
  const c = config(data);
  if (!c) return;
  sink = new BrowserSink(c, data);
  totalSteps = c.epochs * new BatchLoader(data.train, { batchSize: c.batchSize, seed: c.seed }).batchesPerEpoch;
  page.steps = []; page.epochs = [];
  void trainLoop(false);
}

async function useData(d: PageData): Promise<void> {
  page.data = d;
  $('data-source').textContent = d.source + (d.test ? '' : ' (no labels: the kNN monitor is off)');
  showPickGrid();
  setState('idle');
}

async function readDrop(list: DataTransferItemList): Promise<InputFile[]> {
  // Everything is taken from the list before the first await: the browser empties it once the drop
  // handler returns. An item without a file-system entry (dragged from an application that offers
  // none, or a DataTransfer made by a script) is still a file: it is taken as a loose one.
  const items = Array.from(list).filter((i) => i.kind === 'file').map((i) => ({ entry: i.webkitGetAsEntry(), file: i.getAsFile() }));
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
  for (const { entry, file } of items) {
    if (entry) await walk(entry, '');
    else if (file) out.push({ file, folder: '' });
  }
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
let nnDim = 0;

/** Up to 128 images of the test split, else of the training images. */
function nnSet(): ImageDataset {
  const data = page.data!, ds = data.test ?? data.train;
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
  $<HTMLButtonElement>('nn').disabled = true;
  const ds = nnSet();
  try {
    const { h: f, dim: d } = await sink!.features(ds, page.backend!);
    for (let i = 0; i < ds.n; i++) {
      let norm = 0;
      for (let j = 0; j < d; j++) norm += f[i * d + j]! ** 2;
      norm = Math.sqrt(norm) || 1;
      for (let j = 0; j < d; j++) f[i * d + j]! /= norm;
    }
    nnFeatures = f; nnDim = d;
    message(`features of ${ds.n} images from the step-${sink!.checkpointStep} checkpoint: click an image to see its nearest neighbours`);
    showNeighbours(0);
  } catch (e) {
    message(`cannot compute the features: ${e instanceof Error ? e.message : String(e)}`, 'error');
  } finally {
    setState(page.state);
  }
}

function showNeighbours(q: number): void {
  const ds = nnSet(), f = nnFeatures!, d = nnDim;
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
  const cls = (i: number) => (ds.labels && page.data!.classes ? page.data!.classes[ds.labels[i]!] : '');
  const caption = document.createElement('p');
  caption.className = 'muted';
  caption.textContent = `query ${cls(q)} | nearest: ${sims.slice(0, 8).map(([sim, i]) => `${cls(i)} ${sim.toFixed(2)}`).join(', ')}`;
  out.append(c, caption);
  out.dataset.query = String(q);
  out.dataset.neighbours = top.slice(1).join(',');
}

// ---- start-up -----------------------------------------------------------------------------------

async function main(): Promise<void> {
  // Absent, or present but undefined (a browser or extension that switched it off).
  if (!navigator.gpu) {
    message('This browser has no WebGPU (navigator.gpu is missing). Use a recent Chrome, Edge or Safari; on Linux Chromium start it with --enable-unsafe-webgpu; WebGPU also needs https or localhost.', 'error');
    setState('unsupported');
    return;
  }
  let backend: WebGpuBackend;
  try {
    backend = await init({ backend: 'webgpu' }) as WebGpuBackend;
  } catch (e) {
    // init throws a DeviceError when requestAdapter gives null (a blocklisted GPU, acceleration off,
    // Chromium on Linux without the flag); anything else failed while asking for the adapter or device.
    const cause = e instanceof DeviceError ? 'the browser has WebGPU but offered no adapter' : `asking for one failed: ${e instanceof Error ? e.message : String(e)}`;
    message(`No WebGPU adapter could be obtained: ${cause}. Turn on hardware acceleration (chrome://settings/system) and look at chrome://gpu for WebGPU's status; on Linux Chromium start it with --enable-unsafe-webgpu.`, 'error');
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

  $('start').onclick = () => void start();
  $('pause').onclick = () => setState('pausing');
  $('resume').onclick = () => void trainLoop(true);
  $('reset').onclick = async () => { await clearRun(); location.search = ''; };
  $('use-demo').onclick = async () => { setState('loading'); await useData(await loadDemo(DEMO_BASE)); };
  $('download').onclick = () => {
    const bytes = sink!.encoderFile();
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
    a.download = `simclr-resnet18-w${sink!.config.width}-step${sink!.checkpointStep}.safetensors`;
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
    page.data = stored.data;
    const c = stored.config;
    $('data-source').textContent = `${stored.data.source} (stored run)`;
    set('batch', c.batchSize); set('width', c.width); set('epochs', c.epochs); set('seed', c.seed);
    sink = new BrowserSink(c, stored.data, stored);
    totalSteps = c.epochs * new BatchLoader(stored.data.train, { batchSize: c.batchSize, seed: c.seed }).batchesPerEpoch;
    fromLog();
    showPickGrid();
    showProgress();
    message(`resumed the stored run at step ${sink.checkpointStep} of ${totalSteps}: press Resume to continue (or Forget stored run)`);
    if (sink.checkpointStep === totalSteps) setState('done');
    else if (params.get('autostart') === 'resume') void trainLoop(true);
    else setState('paused');
    return;
  }
  setState('loading');
  await useData(await loadDemo(DEMO_BASE));
  if (params.get('autostart') === 'demo') void start();
}

main().catch((e) => { message(`the page failed to start: ${e instanceof Error ? e.message : String(e)}`, 'error'); setState('stopped'); });

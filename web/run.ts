/**
 * The page's run: the shared trainer (simclr/trainer.ts runTraining, the code `npm run pretrain`
 * runs) with a sink that keeps the run in the browser's IndexedDB instead of a directory: config,
 * images, log records and the newest checkpoint's bytes (the same checkpoint format as Node's).
 */
import type { Backend } from '../engine/index.js';
import { resnet18, type ResNet } from '../nn/index.js';
import {
  decodeCheckpoint, encodeCheckpoint, encodeEncoder, encoderEntries, encodeImages, restoreCheckpoint, resolveTrainConfig, CheckpointError,
  type DataSplits, type ImageDataset, type LoadedCheckpoint, type ResumeOptions, type RunSink, type SaveCheckpointOptions, type TrainConfig,
} from '../simclr/browser.js';
import { saveRun, type StoredRun } from './store.js';

/** The page's images: what it trains on and, when labelled, a held-out split for the kNN monitor. */
export interface PageData {
  train: ImageDataset;
  test: ImageDataset | null;
  classes: string[] | null;
  /** 'cifar10' for the demo, 'folder' for the user's images. */
  format: 'cifar10' | 'folder';
  /** Where the images came from, for the page. */
  source: string;
}

export interface PageSettings { batchSize: number; width: number; epochs: number; seed: number }

/** SimCLR's defaults at the page's settings: ResNet-18, CIFAR stem, a checkpoint every epoch. */
export function pageConfig(s: PageSettings, data: PageData): TrainConfig {
  return resolveTrainConfig({
    method: 'simclr', data: [data.source], testData: data.test ? `${data.source} (test)` : null, format: data.format,
    out: 'browser storage', depth: 18, stem: 'cifar', checkpointEvery: 1, backend: 'webgpu', ...s,
  });
}

export function pageSplits(data: PageData): DataSplits {
  const { train, test } = data;
  return {
    format: data.format, pretrain: train, labelledTrain: train.labels ? train : null, test, classes: data.classes,
    description: `${data.source}: ${train.n} train${test ? ` / ${test.n} test` : ''}, ${train.height}x${train.width}x${train.channels}`,
    notes: [],
  };
}

/** RunSink into IndexedDB: everything is stored with each checkpoint and each epoch. */
export class BrowserSink implements RunSink {
  private log_: Record<string, unknown>[];
  checkpoint: Uint8Array | null;
  checkpointStep: number | null = null;

  constructor(readonly config: TrainConfig, readonly data: PageData, stored?: Pick<StoredRun, 'records' | 'checkpoint'>) {
    this.log_ = stored?.records ?? [];
    this.checkpoint = stored?.checkpoint ?? null;
    if (this.checkpoint) this.checkpointStep = decodeCheckpoint(this.checkpoint, 'browser storage').step;
  }

  get logged(): readonly Record<string, unknown>[] { return this.log_; }

  private persist(): Promise<void> {
    return saveRun({ config: this.config, data: this.data, records: this.log_, checkpoint: this.checkpoint, savedAt: Date.now() });
  }

  async start(): Promise<void> { if (!this.checkpoint) await this.persist(); }
  async log(record: object): Promise<void> { this.log_.push(JSON.parse(JSON.stringify(record)) as Record<string, unknown>); }
  async records(): Promise<Record<string, unknown>[]> { return [...this.log_]; }

  async saveCheckpoint(opts: SaveCheckpointOptions): Promise<string> {
    const name = `browser storage (step ${opts.step})`;
    this.checkpoint = await encodeCheckpoint(opts, name);
    this.checkpointStep = opts.step;
    await this.persist();
    return name;
  }

  async resume(opts: ResumeOptions): Promise<LoadedCheckpoint> {
    if (!this.checkpoint) throw new CheckpointError('no checkpoint in browser storage');
    return restoreCheckpoint(this.loaded(), opts);
  }

  async epochs(): Promise<void> { await this.persist(); }

  loaded(): LoadedCheckpoint { return decodeCheckpoint(this.checkpoint!, 'browser storage'); }

  /** The newest checkpoint's encoder as torchvision-named safetensors: the bytes Node's export writes. */
  encoderFile(): Uint8Array { return encodeEncoder(encoderEntries(this.loaded().model)); }

  /** The newest checkpoint's encoder on `backend` (the caller disposes it). */
  encoder(backend: Backend): ResNet {
    const enc = resnet18({ stem: this.config.stem, width: this.config.width, backend });
    enc.loadStateDict(new Map([...this.loaded().model].filter(([k]) => k.startsWith('0.')).map(([k, e]) => [k.slice(2), e])));
    return enc;
  }

  /** h of every image of `ds` by the newest checkpoint's encoder (eval mode). */
  async features(ds: ImageDataset, backend: Backend): Promise<{ h: Float32Array; dim: number }> {
    const enc = this.encoder(backend);
    try { return { h: await encodeImages(enc, ds, backend), dim: enc.features }; } finally { enc.dispose(); }
  }
}

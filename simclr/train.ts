/**
 * Pre-training from files, in Node: `train(options, hooks)`. It completes the options with the
 * method's defaults (resolveTrainConfig), opens the data named by `data` / `testData` / `format`
 * (openSplits; before the GPU starts, so bad data fail fast), and runs the shared machinery
 * (simclr/trainer.ts) with a DirectorySink on `out`:
 *
 *   out/config.json                  the run's settings (npm run eval -- --run <out> reads them)
 *   out/log.jsonl                    one JSON record per step, epoch, note, resume, interruption
 *   out/checkpoint-<step>.safetensors model (target networks and queues included), optimizer,
 *                                    RNG, loader, config (simclr/checkpoint.ts); atomic
 *   out/latest.json                  the newest checkpoint (where --resume starts)
 *   out/plot.png                     loss, accuracy, kNN top-1 and lr per epoch, redrawn each epoch
 *
 * The directory is opened with RunDir (simclr/run-dir.ts) for the whole run: locked against a
 * second process, refused when it already holds files and the run is neither resumed nor told to
 * overwrite, cleaned of temporary files a killed write left; after each checkpoint the older ones
 * are pruned to `keepCheckpoints`. Data paths are resolved to absolute ones first, so a resume
 * compares files, not spellings (`../x` and `/abs/./x` are one file), and config.json names the data
 * wherever `npm run eval` runs from. File-system errors name the file and the cause.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { init } from '../engine/runtime.js';
import { writeFileAtomic } from '../nn/files.js';
import { resumeFrom, saveCheckpoint, type LoadedCheckpoint, type ResumeOptions } from './checkpoint.js';
import { openSplits } from './data/splits.js';
import { withPath } from './fs-error.js';
import { methodDefaults, resolveTrainConfig, type TrainOptions } from './methods/index.js';
import { writeTrainingPlot } from './plot.js';
import { RunDir } from './run-dir.js';
import { runTraining, type RunSink, type TrainHooks, type TrainResult } from './trainer.js';
import type { TrainConfig } from './config.js';

export interface DirectorySinkOptions {
  /** The opened run directory: its checkpoints are pruned to `keepCheckpoints` after each save. */
  runDir?: RunDir;
  keepCheckpoints?: number;
  /** Notes of opening the directory (a stale lock, removed files), logged once the log starts. */
  notes?: readonly string[];
}

/** Stored data paths as absolute ones (checkpoints written before paths were resolved hold relative ones). */
function resolveDataPaths(stored: unknown): unknown {
  const o = stored as { data?: unknown } | null;
  if (!o || typeof o !== 'object' || !Array.isArray(o.data)) return stored;
  return { ...o, data: o.data.map((p) => (typeof p === 'string' ? resolve(p) : p)) };
}

/** A run's outputs as files in one directory. */
export class DirectorySink implements RunSink {
  constructor(readonly dir: string, private readonly opts: DirectorySinkOptions = {}) {}

  private get logPath(): string { return join(this.dir, 'log.jsonl'); }

  async start(config: Record<string, unknown>): Promise<void> {
    await withPath('create', this.dir, () => mkdir(this.dir, { recursive: true }));
    const file = join(this.dir, 'config.json');
    await withPath('write', file, () => writeFileAtomic(file, new TextEncoder().encode(JSON.stringify(config, null, 2) + '\n')));
    for (const message of this.opts.notes ?? []) await this.log({ type: 'note', message });
  }

  log(record: object): Promise<void> { return withPath('append to', this.logPath, () => appendFile(this.logPath, JSON.stringify(record) + '\n')); }

  async records(): Promise<Record<string, unknown>[]> {
    let text = '';
    try { text = await readFile(this.logPath, 'utf8'); } catch { return []; }
    const out: Record<string, unknown>[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try { out.push(JSON.parse(line) as Record<string, unknown>); } catch { /* a torn last line of a killed run */ }
    }
    return out;
  }

  saveCheckpoint: RunSink['saveCheckpoint'] = async (opts) => {
    const path = await saveCheckpoint(this.dir, opts);
    await this.opts.runDir?.prune(this.opts.keepCheckpoints ?? 3);
    return path;
  };

  resume(opts: ResumeOptions): Promise<LoadedCheckpoint> {
    const normalize = opts.normalizeStored;
    return resumeFrom(this.dir, { ...opts, normalizeStored: (s) => resolveDataPaths(normalize ? normalize(s) : s) });
  }

  epochs: NonNullable<RunSink['epochs']> = (history, title) => {
    const file = join(this.dir, 'plot.png');
    return withPath('write', file, () => writeTrainingPlot(file, history, { title }));
  };
}

/** SimCLR's complete default configuration (without data and out); other methods: methodDefaults(name). */
export const DEFAULT_TRAIN_CONFIG: Omit<TrainConfig, 'data' | 'out'> = methodDefaults('simclr');

export async function train(options: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
  const given = resolveTrainConfig(options);
  const config: TrainConfig = { ...given, data: given.data.map((p) => resolve(p)), testData: given.testData === null ? null : resolve(given.testData) };
  // Opened before the data are read: a refused or locked --out fails at once.
  const notes: string[] = [];
  const runDir = await RunDir.open(config.out, {
    resume: config.resume, overwrite: config.overwrite, onNote: (m) => { notes.push(m); hooks.onNote?.(m); },
  });
  try {
    const splits = openSplits(config.data, config.testData, config.format);
    hooks.onData?.(splits.description);
    const backend = hooks.backend ?? await init({ backend: config.backend, quiet: false });
    const sink = new DirectorySink(config.out, { runDir, keepCheckpoints: config.keepCheckpoints, notes });
    return await runTraining(config, splits, sink, backend, hooks);
  } finally {
    await runDir.release();
  }
}

export { TrainingError, type TrainHooks, type TrainResult, type StepMetrics, type EpochMetrics, type EpochSummary } from './trainer.js';
export { checkedConfig, validateConfig, type TrainConfig } from './config.js';
export type { TrainOptions } from './methods/index.js';

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
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { init } from '../engine/runtime.js';
import { writeFileAtomic } from '../nn/files.js';
import { resumeFrom, saveCheckpoint } from './checkpoint.js';
import { openSplits } from './data/splits.js';
import { methodDefaults, resolveTrainConfig, type TrainOptions } from './methods/index.js';
import { writeTrainingPlot } from './plot.js';
import { runTraining, type RunSink, type TrainHooks, type TrainResult } from './trainer.js';
import type { TrainConfig } from './config.js';

/** A run's outputs as files in one directory. */
export class DirectorySink implements RunSink {
  constructor(readonly dir: string) {}

  private get logPath(): string { return join(this.dir, 'log.jsonl'); }

  async start(config: Record<string, unknown>): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(join(this.dir, 'config.json'), new TextEncoder().encode(JSON.stringify(config, null, 2) + '\n'));
  }

  log(record: object): Promise<void> { return appendFile(this.logPath, JSON.stringify(record) + '\n'); }

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

  saveCheckpoint: RunSink['saveCheckpoint'] = (opts) => saveCheckpoint(this.dir, opts);
  resume: RunSink['resume'] = (opts) => resumeFrom(this.dir, opts);
  epochs: NonNullable<RunSink['epochs']> = (history, title) => writeTrainingPlot(join(this.dir, 'plot.png'), history, { title });
}

/** SimCLR's complete default configuration (without data and out); other methods: methodDefaults(name). */
export const DEFAULT_TRAIN_CONFIG: Omit<TrainConfig, 'data' | 'out'> = methodDefaults('simclr');

export async function train(options: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
  const config = resolveTrainConfig(options);
  const splits = openSplits(config.data, config.testData, config.format);
  hooks.onData?.(splits.description);
  const backend = hooks.backend ?? await init({ backend: config.backend, quiet: false });
  return runTraining(config, splits, new DirectorySink(config.out), backend, hooks);
}

export { TrainingError, type TrainHooks, type TrainResult, type StepMetrics, type EpochMetrics, type EpochSummary } from './trainer.js';
export { checkedConfig, validateConfig, type TrainConfig } from './config.js';
export type { TrainOptions } from './methods/index.js';

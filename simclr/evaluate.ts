/**
 * The evaluation report of `npm run eval` and the pretrain demo: one table of kNN top-1, linear
 * top-1 and fine-tuning top-1 for the pre-trained encoder next to the same numbers for a
 * random-init encoder of the same architecture and for raw pixels (kNN and linear only), all
 * computed by the same code (eval.ts) on the same splits. Results as JSON plus a text table.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend } from '../engine/backend.js';
import { EngineError } from '../engine/errors.js';
import { Random } from '../engine/random.js';
import type { Encoder } from '../nn/encoder.js';
import { writeFileAtomic } from '../nn/files.js';
import { loadCheckpoint, type LoadedCheckpoint } from './checkpoint.js';
import { SCHEMA_BY_KEY, type TrainConfig } from './config.js';
import { methodDefaults, methodOf } from './methods/index.js';
import { describeEncoder, type EncoderShape } from './methods/method.js';
import { labelCounts, type ImageDataset } from './data/index.js';
import {
  encodeImages, knnTop1, labelledFraction, linearEvalFeatures, numClassesOf, pixelFeatures, subsetDataset, trainOnImages,
} from './eval.js';

export class EvalError extends EngineError {
  constructor(detail: string) { super('eval', detail); }
}

/** A run's configuration as its config.json says (else its checkpoint's), completed with its method's defaults. */
export async function runConfig(runDir: string, fallback: Record<string, unknown> = {}): Promise<TrainConfig> {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(join(runDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    raw = fallback;
  }
  const method = methodOf(raw.method ?? 'simclr');
  const known = Object.fromEntries(Object.entries(raw).filter(([k]) => SCHEMA_BY_KEY.has(k)));
  return { ...methodDefaults(method.name), data: [], out: runDir, ...known, method: method.name } as TrainConfig;
}

export interface LoadedEncoder {
  /** The checkpoint's encoder (its '0.*' weights). */
  encoder: Encoder;
  /** A freshly initialized encoder of the same architecture (the random-init baseline, fine-tuning copies). */
  fresh(rng: Random): Encoder;
  /** e.g. 'ResNet-18 x0.125 (cifar stem)'. */
  description: string;
  /** The run's complete configuration. */
  config: TrainConfig;
  checkpoint: string;
  step: number;
  /** Why the checkpoint is not the one latest.json names (see loadCheckpoint), else null. */
  fallback: string | null;
}

/**
 * The encoder of the latest checkpoint in a pre-training output directory, for images of `shape`:
 * the run's method (config.json, else the checkpoint's config; SimCLR for runs that predate methods)
 * builds its encoder from the run's configuration (Method.encoder: a ResNet, the AMDIM encoder,
 * CPC's patch encoder), and the checkpoint's '0.*' entries load into it, strictly. A caller that has
 * read the checkpoint already passes it.
 */
export async function loadEncoder(runDir: string, backend: Backend, shape: EncoderShape, loadedCheckpoint?: LoadedCheckpoint): Promise<LoadedEncoder> {
  const ck = loadedCheckpoint ?? await loadCheckpoint(runDir);
  const config = await runConfig(runDir, (ck.config ?? {}) as Record<string, unknown>);
  const method = methodOf(config.method);
  const fresh = (rng: Random) => method.encoder(config, shape, rng, backend);
  const encoder = fresh(new Random(0));
  const entries = new Map([...ck.model].filter(([k]) => k.startsWith('0.')).map(([k, v]) => [k.slice(2), v]));
  const description = describeEncoder(encoder);
  try {
    encoder.loadStateDict(entries);
  } catch (e) {
    encoder.dispose();
    throw new EvalError(`${ck.path}: the encoder weights do not fit ${method.title}'s ${description}: ${(e as Error).message}`);
  }
  return { encoder, fresh, description, config, checkpoint: ck.path, step: ck.step, fallback: ck.fallback };
}

export interface EvaluateOptions {
  train: ImageDataset;
  test: ImageDataset;
  /** The pre-trained encoder (not modified: linear evaluation freezes it, fine-tuning trains a copy). */
  encoder: Encoder;
  /** A freshly initialized encoder of the same architecture (the random-init baseline, fine-tuning copies). */
  fresh(rng: Random): Encoder;
  /** What the encoder is, for the report's settings. */
  description: string;
  /** Label of the pre-trained row, e.g. 'SimCLR (checkpoint-930)'. */
  name: string;
  backend: Backend;
  k?: number;
  knnTemperature?: number;
  /** 'features' (default): frozen features computed once; 'augment': crop + flip views every step. */
  linearMode?: 'features' | 'augment';
  linearEpochs?: number;
  linearBatchSize?: number;
  /** Labelled fractions to fine-tune on, e.g. [0.01, 0.1]; [] for none. */
  finetuneFractions?: number[];
  /** Fine-tuning epochs per fraction (default: the paper's 60 for <= 1 %, 30 otherwise). */
  finetuneEpochs?: number;
  finetuneBatchSize?: number;
  /** Also evaluate a random-init encoder and raw pixels (default true). */
  baselines?: boolean;
  seed?: number;
  log?(line: string): void;
}

export interface EvalRow {
  name: string;
  knnTop1: number;
  linearTop1: number;
  linearTrainTop1: number;
  /** Fine-tuning test top-1 per labelled fraction ('1%': 0.31), absent for raw pixels. */
  finetune: Record<string, number> | null;
}

export interface EvalReport {
  dataset: { train: number; test: number; classes: number; image: string };
  settings: Record<string, unknown>;
  rows: EvalRow[];
  seconds: number;
}

const pct = (f: number) => `${(100 * f).toFixed(1)}%`;
const fractionName = (f: number) => `${Math.round(f * 1000) / 10}%`;

export async function evaluate(o: EvaluateOptions): Promise<EvalReport> {
  const t0 = performance.now();
  const log = o.log ?? (() => {});
  const numClasses = numClassesOf(o.train, o.test);
  const present = labelCounts(o.train.labels!, numClasses).flatMap((n, c) => (n > 0 ? [c] : []));
  if (present.length < 2) {
    throw new EvalError(`the labelled training split holds ${present.length === 0 ? 'no images' : `a single class (${o.train.classes?.[present[0]] ?? present[0]})`}: ` +
      'kNN and linear accuracy would be 100 % by construction, so nothing is reported; evaluate with labelled data of at least 2 classes');
  }
  const k = o.k ?? 200, temperature = o.knnTemperature ?? 0.1;
  const linearMode = o.linearMode ?? 'features';
  const linearEpochs = o.linearEpochs ?? 90;
  const linearBatchSize = o.linearBatchSize ?? 256;
  const fractions = o.finetuneFractions ?? [0.01, 0.1];
  const finetuneBatchSize = o.finetuneBatchSize ?? 64;
  const seed = o.seed ?? 0;
  const { backend } = o;
  const trainLabels = o.train.labels!, testLabels = o.test.labels!;
  const timed = async <T>(what: string, f: () => Promise<T>, show: (r: T) => string): Promise<T> => {
    const t = performance.now();
    const r = await f();
    log(`${what}: ${show(r)} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
    return r;
  };

  const linearOn = (name: string, train: Float32Array, test: Float32Array, dim: number) =>
    timed(`${name} linear (features, ${linearEpochs} epochs)`,
      () => linearEvalFeatures(train, trainLabels, test, testLabels, dim, { epochs: linearEpochs, batchSize: linearBatchSize, numClasses, backend, seed }),
      (r) => `top-1 ${pct(r.top1)} (train ${pct(r.trainTop1)})`);

  const encoderRow = async (name: string, encoder: Encoder): Promise<EvalRow> => {
    const dim = encoder.features;
    const [ftr, fte] = [await encodeImages(encoder, o.train, backend), await encodeImages(encoder, o.test, backend)];
    const knn = await timed(`${name} kNN (k=${k}, T=${temperature})`,
      () => knnTop1(ftr, trainLabels, fte, testLabels, dim, { k, temperature, numClasses, backend }), pct);
    const lin = linearMode === 'features'
      ? await linearOn(name, ftr, fte, dim)
      : await timed(`${name} linear (crop+flip, ${linearEpochs} epochs)`,
        () => trainOnImages(encoder, o.train, o.test, { mode: 'linear', epochs: linearEpochs, batchSize: linearBatchSize, numClasses, backend, seed }),
        (r) => `top-1 ${pct(r.top1)} (train ${pct(r.trainTop1)})`);
    const finetune: Record<string, number> = {};
    for (const f of fractions) {
      const subset = subsetDataset(o.train, labelledFraction(o.train, f, seed));
      const epochs = o.finetuneEpochs ?? (f <= 0.01 ? 60 : 30);
      // A copy: fine-tuning must not change the encoder the other rows (and the caller) use.
      const copy = o.fresh(new Random(seed));
      try {
        copy.loadStateDict(encoder.stateDict());
        const r = await timed(`${name} fine-tune ${fractionName(f)} (${subset.n} images, ${epochs} epochs)`,
          () => trainOnImages(copy, subset, o.test, { mode: 'finetune', epochs, batchSize: Math.min(finetuneBatchSize, subset.n), numClasses, backend, seed }),
          (r) => `top-1 ${pct(r.top1)} (train ${pct(r.trainTop1)})`);
        finetune[fractionName(f)] = r.top1;
      } finally {
        copy.dispose();
      }
    }
    return { name, knnTop1: knn, linearTop1: lin.top1, linearTrainTop1: lin.trainTop1, finetune };
  };

  const rows: EvalRow[] = [await encoderRow(o.name, o.encoder)];
  if (o.baselines ?? true) {
    const random = o.fresh(new Random(seed));
    try {
      rows.push(await encoderRow('random-init encoder', random));
    } finally {
      random.dispose();
    }
    const dim = o.train.channels * o.train.height * o.train.width;
    const [ptr, pte] = [pixelFeatures(o.train), pixelFeatures(o.test)];
    const knn = await timed(`raw pixels kNN (k=${k}, T=${temperature})`,
      () => knnTop1(ptr, trainLabels, pte, testLabels, dim, { k, temperature, numClasses, backend }), pct);
    const lin = await linearOn('raw pixels', ptr, pte, dim);
    rows.push({ name: 'raw pixels', knnTop1: knn, linearTop1: lin.top1, linearTrainTop1: lin.trainTop1, finetune: null });
  }
  return {
    dataset: { train: o.train.n, test: o.test.n, classes: numClasses, image: `${o.train.height}x${o.train.width}x${o.train.channels}` },
    settings: {
      encoder: o.description, k, knnTemperature: temperature, linearMode, linearEpochs, linearBatchSize, linearBaseLr: 0.1,
      finetuneFractions: fractions, finetuneEpochs: o.finetuneEpochs ?? 'paper (60 for 1%, 30 otherwise)', finetuneBatchSize, finetuneBaseLr: 0.05, seed,
    },
    rows,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** One human-readable table (Markdown) of a report. */
export function formatReport(r: EvalReport): string {
  const fractions = [...new Set(r.rows.flatMap((row) => Object.keys(row.finetune ?? {})))];
  const head = ['representation', 'kNN top-1', 'linear top-1', ...fractions.map((f) => `fine-tune ${f} labels`)];
  const lines = r.rows.map((row) => [row.name, pct(row.knnTop1), pct(row.linearTop1), ...fractions.map((f) => row.finetune?.[f] === undefined ? '-' : pct(row.finetune[f]))]);
  const fmt = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    `${r.dataset.train} train / ${r.dataset.test} test images (${r.dataset.image}, ${r.dataset.classes} classes); ${r.seconds.toFixed(0)} s`,
    '',
    fmt(head), fmt(head.map(() => '---')), ...lines.map(fmt),
  ].join('\n');
}

/** Writes `<dir>/eval.json` and `<dir>/eval.md` atomically; returns their paths. */
export async function writeReport(dir: string, r: EvalReport): Promise<{ json: string; table: string }> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, 'eval.json'), table = join(dir, 'eval.md');
  await writeFileAtomic(json, new TextEncoder().encode(JSON.stringify(r, null, 2) + '\n'));
  await writeFileAtomic(table, new TextEncoder().encode(formatReport(r) + '\n'));
  return { json, table };
}

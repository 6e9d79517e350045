/**
 * `npm run eval -- --run <pretrain output dir> [flags]`: kNN, linear evaluation and fine-tuning of
 * the latest checkpoint's encoder next to a random-init encoder and raw pixels (evaluate.ts);
 * writes eval.json and eval.md, prints the table; `--export` also writes the encoder alone as
 * torchvision-named safetensors.
 */
import { fileURLToPath } from 'node:url';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend } from '../engine/backend.js';
import { EngineError } from '../engine/errors.js';
import { init } from '../engine/runtime.js';
import { DATA_FORMATS, openSplits, type DataFormat } from './data/index.js';
import { flagHelp, parseFlags, UsageError, type FlagSpec } from './cli-flags.js';
import { loadCheckpoint } from './checkpoint.js';
import { evaluate, formatReport, loadEncoder, runConfig, writeReport, type EvalReport } from './evaluate.js';
import { exportEncoder } from './export.js';
import { checkWritableDir, checkWritableFile, uncaughtFileError } from './fs-error.js';
import { METHODS } from './methods/index.js';

/** The method's title for the report ('SimCLR' for runs written before methods existed). */
function methodTitle(name: unknown): string {
  return typeof name === 'string' && Object.hasOwn(METHODS, name) ? METHODS[name as keyof typeof METHODS].title : 'SimCLR';
}

export interface EvalCliConfig {
  run: string;
  data: string[] | null;
  testData: string | null;
  format: DataFormat | null;
  out: string | null;
  k: number;
  knnTemperature: number;
  linearMode: 'features' | 'augment';
  linearEpochs: number;
  linearBatchSize: number;
  /** Labelled percentages to fine-tune on; [] for none. */
  finetune: number[];
  finetuneEpochs: number | null;
  finetuneBatchSize: number;
  baselines: boolean;
  seed: number;
  backend: 'auto' | 'webgpu' | 'cpu';
  /** Also write the encoder alone (torchvision names) to this safetensors file. */
  export: string | null;
}

export const DEFAULT_EVAL_CONFIG: Omit<EvalCliConfig, 'run'> = {
  data: null, testData: null, format: null, out: null, k: 200, knnTemperature: 0.1, linearMode: 'features', linearEpochs: 90,
  linearBatchSize: 256, finetune: [1, 10], finetuneEpochs: null, finetuneBatchSize: 64, baselines: true, seed: 0, backend: 'auto', export: null,
};

const FLAGS: Record<string, FlagSpec<keyof EvalCliConfig>> = {
  run: { key: 'run', kind: 'string', arg: '<dir>', help: 'pre-training output directory (its latest.json checkpoint) (required)' },
  data: { key: 'data', kind: 'list', arg: '<path[,path]>', help: 'labelled training split: CIFAR file(s) or a directory (default: the run\'s --data)' },
  'test-data': { key: 'testData', kind: 'string', arg: '<path>', help: 'labelled test split (default: the run\'s --test-data)' },
  format: { key: 'format', kind: 'string', arg: '<name>', choices: DATA_FORMATS, help: `data format: ${DATA_FORMATS.join(' | ')} (default: the run's, else auto)` },
  out: { key: 'out', kind: 'string', arg: '<dir>', help: 'where eval.json / eval.md go (default: <run>/eval)' },
  k: { key: 'k', kind: 'int', help: 'kNN neighbours' },
  'knn-temperature': { key: 'knnTemperature', kind: 'number', help: 'kNN vote temperature' },
  'linear-mode': { key: 'linearMode', kind: 'string', choices: ['features', 'augment'], help: 'frozen features once, or crop+flip views every step' },
  'linear-epochs': { key: 'linearEpochs', kind: 'int', help: 'linear evaluation epochs' },
  'linear-batch-size': { key: 'linearBatchSize', kind: 'int', help: 'linear evaluation batch (lr 0.1 x B/256)' },
  finetune: { key: 'finetune', kind: 'list', arg: '<pct,pct|none>', help: 'labelled percentages to fine-tune on' },
  'finetune-epochs': { key: 'finetuneEpochs', kind: 'int', help: 'fine-tuning epochs (default: 60 for <= 1%, 30 otherwise)' },
  'finetune-batch-size': { key: 'finetuneBatchSize', kind: 'int', help: 'fine-tuning images per step (lr 0.05 x 2B/256)' },
  baselines: { key: 'baselines', kind: 'bool', help: 'also evaluate a random-init encoder and raw pixels (--baselines=false to skip)' },
  seed: { key: 'seed', kind: 'int', help: 'seed of the classifiers, fractions and views' },
  backend: { key: 'backend', kind: 'string', choices: ['auto', 'webgpu', 'cpu'], help: 'compute backend' },
  export: { key: 'export', kind: 'string', arg: '<file>', help: 'also write the encoder alone as torchvision-named safetensors' },
};

export function evalHelpText(): string {
  return [
    'Usage: npm run eval -- --run <pretrain output dir> [flags]',
    '',
    'Evaluates the latest checkpoint\'s encoder: weighted kNN, linear evaluation (frozen encoder,',
    'Nesterov SGD, cosine, no weight decay) and fine-tuning on class-balanced labelled fractions, next',
    'to a random-init encoder and raw pixels. Writes <out>/eval.json and <out>/eval.md.',
    '',
    ...flagHelp(FLAGS, DEFAULT_EVAL_CONFIG as unknown as Record<string, unknown>),
    '  --help'.padEnd(36) + 'print this help',
  ].join('\n');
}

export function parseEvalArgs(argv: readonly string[]): EvalCliConfig | null {
  const f = parseFlags(argv, FLAGS);
  if (f === null) return null;
  if (typeof f.run !== 'string') throw new UsageError('--run <dir> is required (see --help)');
  let finetune = DEFAULT_EVAL_CONFIG.finetune;
  if (f.finetune !== undefined) {
    const items = f.finetune as string[];
    finetune = items.length === 1 && items[0] === 'none' ? [] : items.map((s) => {
      const v = Number(s);
      if (!(Number.isFinite(v) && v > 0 && v <= 100)) throw new UsageError(`--finetune needs percentages in (0, 100] or 'none', got '${s}'`);
      return v;
    });
  }
  for (const key of ['k', 'linearEpochs', 'linearBatchSize', 'finetuneEpochs', 'finetuneBatchSize'] as const) {
    const v = f[key];
    if (v !== undefined && !((v as number) > 0)) throw new UsageError(`--${Object.keys(FLAGS).find((n) => FLAGS[n].key === key)} must be positive, got ${String(v)}`);
  }
  if (f.knnTemperature !== undefined && !((f.knnTemperature as number) > 0)) throw new UsageError(`--knn-temperature must be > 0, got ${String(f.knnTemperature)}`);
  return { ...DEFAULT_EVAL_CONFIG, ...f, finetune } as EvalCliConfig;
}

/** Runs the evaluation of `cfg`; `backend` overrides init({ backend: cfg.backend }) (tests). */
export async function runEval(cfg: EvalCliConfig, log: (line: string) => void = console.log, backendIn?: Backend): Promise<EvalReport> {
  const backend = backendIn ?? await init({ backend: cfg.backend, quiet: false });
  const outDir = cfg.out ?? join(cfg.run, 'eval');
  // What will be written is checked before the data are read and minutes of evaluation, not after.
  await checkWritableDir(outDir, cfg.out === null ? 'the evaluation directory' : '--out');
  if (cfg.export) await checkWritableFile(cfg.export, '--export');
  const ck = await loadCheckpoint(cfg.run);
  const runCfg = await runConfig(cfg.run, (ck.config ?? {}) as Record<string, unknown>);
  const data = cfg.data ?? (runCfg.data.length ? runCfg.data : null);
  const testData = cfg.testData ?? runCfg.testData;
  const format = cfg.format ?? runCfg.format;
  if (!data) throw new UsageError(`${ck.path} does not name its training data; pass --data`);
  const splits = openSplits(data, testData, format);
  const train = splits.labelledTrain, test = splits.test;
  if (!train) throw new UsageError(`${splits.description}: no labelled training split to evaluate with; pass --data`);
  if (!test) throw new UsageError(`${splits.description}: no labelled test split; pass --test-data`);
  // the run's method builds its encoder for these images (the AMDIM encoder's variant depends on their size)
  const loaded = await loadEncoder(cfg.run, backend, { channels: train.channels, size: train.height }, ck);
  try {
    if (loaded.fallback) log(`note: ${loaded.fallback}`);
    log(`encoder: ${loaded.description} from ${loaded.checkpoint} (step ${loaded.step})`);
    log(`data: ${splits.description}`);
    for (const n of splits.notes) log(`note: ${n}`);
    const report = await evaluate({
      train, test, encoder: loaded.encoder, fresh: loaded.fresh, description: loaded.description,
      name: `${methodTitle(runCfg.method)} (step ${loaded.step})`, backend,
      k: cfg.k, knnTemperature: cfg.knnTemperature, linearMode: cfg.linearMode, linearEpochs: cfg.linearEpochs,
      linearBatchSize: cfg.linearBatchSize, finetuneFractions: cfg.finetune.map((p) => p / 100),
      finetuneEpochs: cfg.finetuneEpochs ?? undefined, finetuneBatchSize: cfg.finetuneBatchSize, baselines: cfg.baselines, seed: cfg.seed, log,
    });
    const files = await writeReport(outDir, { ...report, settings: { ...report.settings, checkpoint: loaded.checkpoint } });
    log('');
    log(formatReport(report));
    log('');
    log(`results: ${files.json}, ${files.table}`);
    if (cfg.export) {
      const r = await exportEncoder(loaded.encoder, cfg.export);
      log(`encoder: ${r.file} (${r.tensors} tensors); for torchvision's resnet: missing ${r.missingForTorchvision.join(', ') || 'none'}, unexpected ${r.unexpected.join(', ') || 'none'}`);
      for (const n of r.notes) log(`  note: ${n}`);
    }
    return report;
  } finally {
    loaded.encoder.dispose();
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  let cfg: EvalCliConfig | null;
  try { cfg = parseEvalArgs(argv); } catch (e) {
    if (e instanceof UsageError) { console.error(`eval: ${e.message}`); return 2; }
    throw e;
  }
  if (cfg === null) { console.log(evalHelpText()); return 0; }
  try {
    await runEval(cfg);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) { console.error(`eval: ${e.message}`); return 2; }
    // A library or file-system error names what was wrong; anything else is a bug and keeps its stack.
    const err = uncaughtFileError(e, cfg.out ?? join(cfg.run, 'eval'));
    console.error(err instanceof EngineError ? `eval: ${err.message}` : err);
    return 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e: unknown) => { console.error(e); process.exit(1); });
}

/**
 * `npm run pretrain -- --data <file[,file]> --out <dir> [flags]`: SimCLR pre-training on CIFAR-10
 * format files (simclr/train.ts). Values come from the defaults, then a `--config <json file>`
 * (keys as in TrainConfig), then the flags. SIGINT writes a checkpoint after the current step and
 * exits with status 130 (a second SIGINT exits at once); `--resume` continues from it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_TRAIN_CONFIG, train, type StepMetrics, type TrainConfig } from './train.js';

interface Flag { key: keyof TrainConfig; kind: 'files' | 'file' | 'string' | 'int' | 'number' | 'bool' | 'backend'; help: string }

const FLAGS: Record<string, Flag> = {
  data: { key: 'data', kind: 'files', help: 'training CIFAR-10 binary file(s), comma-separated (required)' },
  'test-data': { key: 'testData', kind: 'file', help: 'held-out CIFAR-10 binary file for the kNN monitor' },
  out: { key: 'out', kind: 'string', help: 'output directory: log.jsonl, checkpoints, latest.json (required)' },
  epochs: { key: 'epochs', kind: 'int', help: 'training epochs' },
  'batch-size': { key: 'batchSize', kind: 'int', help: 'images per step (2x views)' },
  width: { key: 'width', kind: 'number', help: 'ResNet-18 width multiplier' },
  temperature: { key: 'temperature', kind: 'number', help: 'NT-Xent temperature' },
  lr: { key: 'lr', kind: 'number', help: 'base learning rate (scaled by batch-size / 256)' },
  'weight-decay': { key: 'weightDecay', kind: 'number', help: 'LARS weight decay' },
  'warmup-epochs': { key: 'warmupEpochs', kind: 'number', help: 'linear warm-up epochs before the cosine decay' },
  'checkpoint-every': { key: 'checkpointEvery', kind: 'int', help: 'checkpoint every N epochs (and at the end)' },
  seed: { key: 'seed', kind: 'int', help: 'seed of init, loader and augmentations' },
  resume: { key: 'resume', kind: 'bool', help: 'continue from <out>/latest.json' },
  backend: { key: 'backend', kind: 'backend', help: 'auto | webgpu | cpu' },
};

export function helpText(): string {
  const d = DEFAULT_TRAIN_CONFIG as unknown as Record<string, unknown>;
  const rows = Object.entries(FLAGS).map(([name, f]) => {
    const arg = f.kind === 'bool' ? '' : f.kind === 'files' ? ' <file[,file]>' : f.kind === 'file' ? ' <file>' : f.kind === 'string' ? ' <dir>' : ' <value>';
    const def = d[f.key] === undefined ? '' : ` (default: ${JSON.stringify(d[f.key])})`;
    return `  --${name}${arg}`.padEnd(34) + f.help + def;
  });
  return [
    'Usage: npm run pretrain -- --data <file[,file]> --out <dir> [flags]',
    '',
    'SimCLR pre-training (ResNet-18 CIFAR stem, projection head, LARS, NT-Xent) on CIFAR-10 binary files.',
    '',
    ...rows,
    '  --config <json file>'.padEnd(34) + 'JSON object of TrainConfig keys (e.g. "batchSize"); flags override it',
    '  --help'.padEnd(34) + 'print this help',
    '',
    'SIGINT (Ctrl-C) writes a checkpoint after the current step and exits; --resume continues from it.',
  ].join('\n');
}

export class UsageError extends Error {}

/** Parses argv (without node and script); returns null for --help. */
export function parseArgs(argv: readonly string[]): TrainConfig | null {
  const flags: Partial<Record<keyof TrainConfig, unknown>> = {};
  let configFile: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') return null;
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument '${a}'`);
    let name = a.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) { value = name.slice(eq + 1); name = name.slice(0, eq); }
    const take = () => {
      if (value !== undefined) return value;
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`--${name} needs a value`);
      return v;
    };
    if (name === 'config') { configFile = take(); continue; }
    const f = FLAGS[name];
    if (!f) throw new UsageError(`unknown flag --${name} (see --help)`);
    if (f.kind === 'bool') {
      if (value !== undefined && value !== 'true' && value !== 'false') throw new UsageError(`--${name} takes no value`);
      flags[f.key] = value !== 'false';
      continue;
    }
    const v = take();
    if (f.kind === 'files') flags[f.key] = v.split(',').filter((s) => s.length > 0);
    else if (f.kind === 'file' || f.kind === 'string') flags[f.key] = v;
    else if (f.kind === 'backend') {
      if (v !== 'auto' && v !== 'webgpu' && v !== 'cpu') throw new UsageError(`--${name} must be auto, webgpu or cpu, got '${v}'`);
      flags[f.key] = v;
    } else {
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n) || (f.kind === 'int' && !Number.isInteger(n))) {
        throw new UsageError(`--${name} needs ${f.kind === 'int' ? 'an integer' : 'a number'}, got '${v}'`);
      }
      flags[f.key] = n;
    }
  }
  let fromFile: Record<string, unknown> = {};
  if (configFile !== null) {
    let parsed: unknown;
    try { parsed = JSON.parse(readFileSync(configFile, 'utf8')); } catch (e) {
      throw new UsageError(`--config ${configFile}: ${(e as Error).message}`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`--config ${configFile}: expected a JSON object`);
    const known = new Set<string>([...Object.values(FLAGS).map((f) => f.key as string)]);
    for (const k of Object.keys(parsed)) if (!known.has(k)) throw new UsageError(`--config ${configFile}: unknown key '${k}'`);
    fromFile = parsed as Record<string, unknown>;
    if (typeof fromFile.data === 'string') fromFile.data = [fromFile.data];
  }
  const cfg = { ...DEFAULT_TRAIN_CONFIG, ...fromFile, ...flags } as TrainConfig;
  if (!cfg.data || cfg.data.length === 0) throw new UsageError('--data <file[,file]> is required (see --help)');
  if (!cfg.out) throw new UsageError('--out <dir> is required (see --help)');
  return cfg;
}

function fmtEta(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

export function progressLine(m: StepMetrics): string {
  return `epoch ${m.epoch + 1} step ${m.step + 1}/${m.totalSteps} (batch ${m.batch}/${m.batchesPerEpoch}) ` +
    `${m.imagesPerSec.toFixed(1)} img/s loss ${m.loss.toFixed(4)} acc ${m.accuracy.toFixed(3)} lr ${m.lr.toExponential(3)} ETA ${fmtEta(m.etaSec)}`;
}

export async function main(argv: readonly string[]): Promise<number> {
  let cfg: TrainConfig | null;
  try { cfg = parseArgs(argv); } catch (e) {
    if (e instanceof UsageError) { console.error(`pretrain: ${e.message}`); return 2; }
    throw e;
  }
  if (cfg === null) { console.log(helpText()); return 0; }
  let stop = false;
  const onSigint = () => {
    if (stop) { console.error('\npretrain: second SIGINT, exiting without a checkpoint'); process.exit(130); }
    stop = true;
    console.error('\npretrain: SIGINT, writing a checkpoint after this step (Ctrl-C again to exit at once)');
  };
  process.on('SIGINT', onSigint);
  const tty = Boolean(process.stdout.isTTY);
  try {
    const r = await train(cfg, {
      shouldStop: () => stop,
      onStep: (m) => {
        if (tty) process.stdout.write(`\r${progressLine(m)}\x1b[K`);
        else console.log(progressLine(m));
      },
      onEpoch: (m) => {
        if (tty) process.stdout.write('\n');
        console.log(`epoch ${m.epoch + 1} done: mean loss ${m.meanLoss.toFixed(4)} acc ${m.meanAccuracy.toFixed(3)}` +
          (m.knnTop1 === null ? '' : ` kNN top-1 ${(100 * m.knnTop1).toFixed(2)}%`) + (m.checkpoint ? ` checkpoint ${m.checkpoint}` : ''));
      },
    });
    if (tty) process.stdout.write('\n');
    if (r.interrupted) { console.log(`interrupted at step ${r.steps}; checkpoint ${r.lastCheckpoint}; continue with --resume`); return 130; }
    console.log(`done: ${r.steps} steps; checkpoint ${r.lastCheckpoint}`);
    return 0;
  } catch (e) {
    if (tty) process.stdout.write('\n');
    console.error(`pretrain: ${(e as Error).message}`); if (process.env.PRETRAIN_STACK) console.error((e as Error).stack);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e: unknown) => { console.error(e); process.exit(1); });
}

/**
 * `npm run pretrain [-- flags]`: contrastive pre-training (simclr/train.ts) with any method of
 * simclr/methods/ (`--method simclr|moco|byol|amdim|cpc|yadim`). With no arguments it runs the `demo` preset on the
 * shipped data/cifar10-demo files. Values come from the common defaults, then the method's
 * defaults, then a `--preset <name>` (simclr/presets.ts), then a `--config <json file>` (keys as in
 * config.json), then the flags; one schema (simclr/config.ts) checks them all. Progress: on a TTY one bar redrawn in place; otherwise plain lines, at most one per
 * 10 s plus one per epoch. `<out>/plot.png` is redrawn after every epoch. SIGINT or SIGTERM writes
 * a checkpoint after the current step and exits with status 130 / 143 (a second signal exits at
 * once); `--resume` continues from it. During `--evaluate` (training done, checkpoint written) a
 * signal stops the evaluation at once. Errors of the engine (EngineError: bad data, config
 * mismatch, ...) and file-system errors (a full disk, a read-only --out: path and cause) print one
 * line; anything else is a bug and prints its stack.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineError } from '../engine/errors.js';
import { getBackend } from '../engine/runtime.js';
import { formatProfile } from '../engine/webgpu/profiler.js';
import { DEFAULT_EVAL_CONFIG, runEval } from './eval-cli.js';
import {
  CONFIG_SCHEMA, ConfigError, METHOD_NAMES, checkConfigObject, checkMethodKeys, fieldHelp, parseConfigArgs, validateConfig,
  type FieldSpec, type MethodName, type TrainConfig,
} from './config.js';
import { METHODS, methodDefaults } from './methods/index.js';
import { PRESETS } from './presets.js';
import { UsageError } from './cli-flags.js';
import { train, type EpochMetrics, type StepMetrics } from './train.js';
import { uncaughtFileError } from './fs-error.js';

export function helpText(): string {
  const common = CONFIG_SCHEMA.filter((f) => !f.methods);
  const simclrDefaults = methodDefaults('simclr') as unknown as Record<string, unknown>;
  const presets = Object.entries(PRESETS).map(([name, p]) => `  ${name}`.padEnd(17) + p.summary);
  // keys of several methods (the ResNet's, the head's, the AMDIM encoder's): one section each
  const groups = new Map<string, FieldSpec[]>();
  for (const f of CONFIG_SCHEMA) {
    if (!f.methods || f.methods.length < 2) continue;
    const key = f.methods.join('|');
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  /** The defaults a section shows: simclr's for common keys, the group's first method's for shared keys. */
  const shownDefaults = (f: FieldSpec) => methodDefaults(f.methods?.[0] ?? 'simclr') as unknown as Record<string, unknown>;
  const groupSection = ([key, fields]: [string, FieldSpec[]]) =>
    [`Flags of --method ${key} (defaults shown for --method ${fields[0].methods![0]}):`, ...fields.map((f) => fieldHelp(f, shownDefaults(f))), ''];
  const methodSection = (m: MethodName) => {
    const d = methodDefaults(m) as unknown as Record<string, unknown>;
    const own = CONFIG_SCHEMA.filter((f) => f.methods?.length === 1 && f.methods[0] === m);
    // the method's recipe: the keys shown elsewhere whose default it changes
    const changed = CONFIG_SCHEMA.filter((f) => (!f.methods || (f.methods.length > 1 && f.methods.includes(m))) && f.key !== 'method')
      .filter((f) => JSON.stringify(d[f.key]) !== JSON.stringify(shownDefaults(f)[f.key]))
      .map((f) => `--${f.flag} ${shown(f, d[f.key])}`);
    return [
      `--method ${m}: ${METHODS[m].summary}`,
      ...own.map((f: FieldSpec) => fieldHelp(f, d)),
      ...(changed.length ? [`  defaults differing from those shown above: ${changed.join(' ')}`] : []),
      '',
    ];
  };
  return [
    'Usage: npm run pretrain                         the demo preset on the shipped CIFAR-10 sample',
    '       npm run pretrain -- --preset <name> [flags]',
    `       npm run pretrain -- [--method ${METHOD_NAMES.join('|')}] --data <path[,path]> --out <dir> [flags]`,
    '',
    'Contrastive pre-training of an encoder with a kNN monitor each epoch. Every method is a choice',
    'of augmentations, encoder, representation, similarity and loss (simclr/methods/<method>.ts).',
    'Values: defaults < the method\'s defaults < --preset < --config < flags; --config takes the same keys',
    'as config.json (e.g. "batchSize"), with JSON types. Per-view flags take one value or two (view 1,view 2).',
    '',
    'Common flags (defaults shown for --method simclr):',
    ...common.map((f) => fieldHelp(f, simclrDefaults)),
    '  --preset <name>'.padEnd(30) + `a recipe below (${Object.keys(PRESETS).join(' | ')})`,
    '  --config <json file>'.padEnd(30) + 'JSON object of configuration keys; flags override it',
    '  --help'.padEnd(30) + 'print this help',
    '',
    ...[...groups].flatMap(groupSection),
    ...METHOD_NAMES.flatMap(methodSection),
    'Presets (no arguments = demo):',
    ...presets,
    '',
    'Outputs in --out: log.jsonl (a JSON line per step and per epoch), plot.png (loss, accuracy,',
    'kNN top-1, lr per epoch), checkpoint-<step>.safetensors (the newest --keep-checkpoints and the one latest.json',
    'names), latest.json (the newest checkpoint), config.json, and .lock while a run holds the directory;',
    'the demo also evaluates the encoder (eval.json, eval.md; npm run eval -- --run <out> for any run).',
    'An --out that already holds files is refused unless --resume (continue it; a larger --epochs extends it)',
    'or --overwrite (removes the previous run\'s files, listing them). A second run on a locked --out is refused.',
    'SIGINT (Ctrl-C) or SIGTERM writes a checkpoint after the current step and exits (130 / 143); --resume continues from it.',
  ].join('\n');
}

function shown(f: FieldSpec, v: unknown): string {
  return fieldHelp(f, { [f.key]: v }).replace(/^.*\(default: (.*)\)$/, '$1');
}

export { UsageError };

/**
 * Parses argv (without node and script); returns null for --help. No arguments at all: the demo
 * preset. Every value is checked by the one schema (simclr/config.ts), whether it came from a flag,
 * the --config file or a preset; keys of another method than the chosen one are refused.
 */
export function parseArgs(argv: readonly string[]): TrainConfig | null {
  const a = parseConfigArgs(argv);
  if (a.help) return null;
  const presetName = a.preset ?? (argv.length === 0 ? 'demo' : null);
  if (presetName !== null && !Object.hasOwn(PRESETS, presetName)) throw new UsageError(`unknown preset '${presetName}' (one of ${Object.keys(PRESETS).join(', ')})`);
  const preset = presetName === null ? null : PRESETS[presetName];
  let fromFile: Partial<TrainConfig> = {};
  if (a.configFile !== null) {
    let json: unknown;
    try { json = JSON.parse(readFileSync(a.configFile, 'utf8')); } catch (e) {
      throw new UsageError(`--config ${a.configFile}: ${(e as Error).message}`);
    }
    fromFile = checkConfigObject(json, `--config ${a.configFile}`, null);
  }
  const presetMethod = preset?.values.method;
  const method: MethodName = a.values.method ?? fromFile.method ?? presetMethod ?? 'simclr';
  if (presetMethod && method !== presetMethod) throw new UsageError(`--preset ${presetName} is a --method ${presetMethod} recipe, not --method ${method}`);
  checkMethodKeys(a.values, method, (f) => `--${f.flag}`);
  checkMethodKeys(fromFile, method, (f) => `--config ${a.configFile}: "${f.key}"`);
  const cfg = { ...methodDefaults(method), ...preset?.values, ...fromFile, ...a.values, method } as TrainConfig;
  if (preset && preset.requiresData && !('data' in fromFile) && !('data' in a.values)) {
    throw new UsageError(`--preset ${presetName} needs --data (${preset.summary})`);
  }
  if (!cfg.data || cfg.data.length === 0) throw new UsageError('--data <path[,path]> is required (see --help), or run with no arguments for the demo');
  if (!cfg.out) throw new UsageError('--out <dir> is required (see --help)');
  validateConfig(cfg, presetName ? `--preset ${presetName}` : 'config');
  return cfg;
}

export function fmtEta(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

/** `epoch 3/20 [=====>    ] step 41/220 58.1 img/s loss 4.812 acc 0.231 lr 1.2e-1 ETA 6m10s` (step within the epoch). */
export function progressLine(m: StepMetrics, barWidth = 20): string {
  const epochs = Math.round(m.totalSteps / m.batchesPerEpoch);
  const filled = Math.min(barWidth, Math.floor((barWidth * m.batch) / m.batchesPerEpoch));
  const bar = filled >= barWidth ? '='.repeat(barWidth) : '='.repeat(filled) + '>' + ' '.repeat(barWidth - filled - 1);
  return `epoch ${m.epoch + 1}/${epochs} [${bar}] step ${m.batch}/${m.batchesPerEpoch} ${m.imagesPerSec.toFixed(1)} img/s ` +
    `loss ${m.loss.toFixed(3)} acc ${m.accuracy.toFixed(3)} lr ${m.lr.toExponential(1)} ETA ${fmtEta(m.etaSec)}`;
}

export function epochLine(m: EpochMetrics, epochs: number): string {
  return `epoch ${m.epoch + 1}/${epochs} done: mean loss ${m.meanLoss.toFixed(4)} acc ${m.meanAccuracy.toFixed(3)} lr ${m.lr.toExponential(2)}` +
    (m.knnTop1 === null ? '' : ` kNN top-1 ${(100 * m.knnTop1).toFixed(2)}% (${m.knnSec?.toFixed(1)} s)`) + (m.checkpoint ? ` checkpoint ${m.checkpoint}` : '');
}

/**
 * Progress output. On a TTY: the bar redrawn in place (carriage return + clear to end of line),
 * ended by a newline before any other line. Off a TTY: a plain progress line for the first step and
 * then at most one per `intervalMs` (10 s), plus every epoch line, so CI logs stay short.
 */
export class Progress {
  private last = -Infinity;
  private open = false;
  constructor(private readonly opts: { tty: boolean; write: (s: string) => void; now?: () => number; intervalMs?: number; epochs: number }) {}
  step(m: StepMetrics): void {
    if (this.opts.tty) { this.opts.write(`\r${progressLine(m)}\x1b[K`); this.open = true; return; }
    const now = (this.opts.now ?? Date.now)();
    if (now - this.last < (this.opts.intervalMs ?? 10_000)) return;
    this.last = now;
    this.opts.write(progressLine(m) + '\n');
  }
  /** A whole line (an epoch summary, a note). */
  line(s: string): void {
    this.endBar();
    this.opts.write(s + '\n');
  }
  epoch(m: EpochMetrics): void { this.line(epochLine(m, this.opts.epochs)); }
  endBar(): void { if (this.open) { this.opts.write('\n'); this.open = false; } }
}

/** The files a run left in `out`, for the closing message. */
export function outputsSummary(out: string): string[] {
  let files: string[] = [];
  try { files = readdirSync(out); } catch { return [`  ${out} (missing)`]; }
  const abs = resolve(out);
  const cks = files.filter((f) => /^checkpoint-\d+\.safetensors$/.test(f))
    .sort((a, b) => Number(a.match(/\d+/)![0]) - Number(b.match(/\d+/)![0]));
  const lines = [`results in ${abs}:`];
  if (files.includes('log.jsonl')) lines.push(`  ${join(abs, 'log.jsonl')}   per-step and per-epoch metrics (JSON lines)`);
  if (files.includes('plot.png')) lines.push(`  ${join(abs, 'plot.png')}    loss, contrastive accuracy, kNN top-1 and lr per epoch`);
  if (cks.length) lines.push(`  ${join(abs, cks[cks.length - 1])}   newest checkpoint (${cks.length} in all: ${cks.join(', ')})`);
  if (files.includes('latest.json')) lines.push(`  ${join(abs, 'latest.json')}   points at the newest checkpoint (--resume starts there)`);
  if (files.includes('config.json')) lines.push(`  ${join(abs, 'config.json')}   the run's settings (npm run eval -- --run ${out} reads them)`);
  if (files.includes('eval')) lines.push(`  ${join(abs, 'eval', 'eval.md')}   evaluation table (eval.json beside it)`);
  return lines;
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGTERM: 15 };

export async function main(argv: readonly string[]): Promise<number> {
  let cfg: TrainConfig | null;
  try { cfg = parseArgs(argv); } catch (e) {
    if (e instanceof UsageError) { console.error(`pretrain: ${e.message}`); return 2; }
    if (e instanceof ConfigError) { console.error(`pretrain: ${e.detail}`); return 2; }
    throw e;
  }
  if (cfg === null) { console.log(helpText()); return 0; }
  if (argv.length === 0) console.log('pretrain: no arguments, running the demo preset (npm run pretrain -- --help for the options)');
  const out = cfg.out;
  // SIGTERM (schedulers, docker stop) is treated as SIGINT; the exit status is 128 + the signal's number.
  let stopSignal: NodeJS.Signals | null = null;
  let phase: 'train' | 'evaluate' = 'train';
  let stepsTaken = 0;
  let lastCheckpoint: string | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    const code = 128 + (SIGNAL_NUMBERS[sig] ?? 0);
    if (phase === 'evaluate') {
      // Training is over and its checkpoint written; the evaluation writes nothing partial, so it just stops.
      console.error(`\npretrain: ${sig} during the evaluation: stopping it (no checkpoint is needed: training finished, ` +
        `${lastCheckpoint ?? 'its checkpoint'} is complete; npm run eval -- --run ${out} evaluates it)`);
      process.exit(code);
      return;
    }
    if (stopSignal) { console.error(`\npretrain: second signal (${sig}), exiting without a checkpoint`); process.exit(code); return; }
    stopSignal = sig;
    console.error(`\npretrain: ${sig}, writing a checkpoint after this step (${sig === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again to exit at once)`);
  };
  const onSigint = () => onSignal('SIGINT'), onSigterm = () => onSignal('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  const progress = new Progress({ tty: Boolean(process.stdout.isTTY), write: (s) => process.stdout.write(s), epochs: cfg.epochs });
  try {
    const r = await train(cfg, {
      shouldStop: () => stopSignal !== null,
      onData: (d) => progress.line(`data: ${d}`),
      onNote: (n) => progress.line(`note: ${n}`),
      onStep: (m) => { stepsTaken++; progress.step(m); },
      onEpoch: (m) => progress.epoch(m),
      onProfile: (report) => { for (const l of formatProfile(report, 15)) progress.line(l); },
    });
    progress.endBar();
    lastCheckpoint = r.lastCheckpoint;
    if (r.interrupted) console.log(`interrupted at step ${r.steps}; checkpoint ${r.lastCheckpoint}; continue with --resume`);
    else console.log(`done: ${r.steps} steps; checkpoint ${r.lastCheckpoint}`);
    if (!r.interrupted && cfg.evaluate) {
      phase = 'evaluate';
      console.log('evaluating the encoder: kNN and linear top-1 next to a random-init encoder and raw pixels (npm run eval adds fine-tuning)');
      await runEval({ ...DEFAULT_EVAL_CONFIG, run: out, finetune: [], backend: cfg.backend }, (l) => console.log(l), getBackend());
    }
    for (const l of outputsSummary(out)) console.log(l);
    return r.interrupted ? 128 + (SIGNAL_NUMBERS[stopSignal ?? 'SIGINT'] ?? 2) : 0;
  } catch (e) {
    progress.endBar();
    const err = uncaughtFileError(e, out);
    if (err instanceof EngineError) console.error(`pretrain: ${err.message}`);
    else console.error('pretrain: unexpected error (a bug; please report it with this stack):\n', (err as Error)?.stack ?? err);
    // Only a run that trained has results; files already in --out are not this run's.
    if (stepsTaken > 0 && existsSync(join(out, 'log.jsonl'))) for (const l of outputsSummary(out)) console.error(l);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e: unknown) => { console.error(e); process.exit(1); });
}

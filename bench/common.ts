import { writeFileSync } from 'node:fs';
/** Timing helpers shared by the benchmarks. */

export interface Sample { ms: number; reps: number }

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};

export const gflops = (flop: number, ms: number): number => flop / (ms * 1e6);

/**
 * Waits for the device, runs `body` reps times (awaiting it when it is async, e.g. a body that
 * syncs itself), waits for the device again: milliseconds per call. Every timing loop uses this.
 */
export async function timeCalls(body: () => void | Promise<void>, sync: () => Promise<void>, reps = 1): Promise<number> {
  await sync();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await body();
  await sync();
  return (performance.now() - t0) / reps;
}

/** Calls per sample so that one sample lasts about targetMs, from one call's duration. */
export const repsFor = (msPerCall: number, targetMs: number): number => Math.max(1, Math.min(2000, Math.round(targetMs / msPerCall)));

export function log(msg: string): void { process.stdout.write(msg + '\n'); }

export interface BenchArgs {
  quick: boolean; variants: boolean; convVariants: boolean;
  /** Matmul samples per size (>= 5). */
  samples: number;
  /** Conv samples per kernel (default 3: batch-32 convs are slow on a CPU adapter). */
  convSamples: number;
  /** Run only these sections (--only=a,b), in the bench's own order; null: all. */
  only: BenchSection[] | null;
  /** Profile one step per case (step section) and print the top kernel groups. */
  profile: boolean;
  /** Step section: ResNet widths (default 0.25, 0.5, 1), batch (default 256), samples (default 3). */
  widths: number[];
  batch: number;
  stepSamples: number;
  /** Step section: also the supervised ResNet-18 batch-32 step (default true; --no-supervised). */
  supervised: boolean;
  /** Conv shapes by index into the shape list (default all). */
  convShapes: number[] | null;
  /** Conv section: ResNet-18 width the shapes' channels are scaled by (default 1; the stem keeps 3 inputs). */
  convWidth: number;
  /** Pretrain section: CIFAR record files' directory, epochs (default 30), ResNet width (default 0.25). */
  runData: string;
  runEpochs: number;
  runWidth: number;
}

export const BENCH_SECTIONS = ['matmul', 'conv', 'resnet', 'ntxent', 'optim', 'augment', 'methods', 'step', 'pretrain'] as const;
export type BenchSection = (typeof BENCH_SECTIONS)[number];
/** Sections that run only when --only names them (a 30-epoch run takes about an hour here). */
export const OPT_IN_SECTIONS: readonly BenchSection[] = ['pretrain'];

export function parseArgs(argv: readonly string[]): BenchArgs {
  const quick = argv.includes('--quick');
  const val = (k: string) => argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1];
  const only = val('only')?.split(',') ?? null;
  const bad = only?.find((o) => !(BENCH_SECTIONS as readonly string[]).includes(o));
  if (bad !== undefined) throw new Error(`bench: --only takes sections from ${BENCH_SECTIONS.join(', ')} (comma-separated), got ${bad}`);
  const numbers = (k: string, ok: (n: number) => boolean, what: string): number[] | null => {
    const v = val(k);
    if (v === undefined) return null;
    const xs = v.split(',').map(Number);
    if (xs.length === 0 || !xs.every(ok)) throw new Error(`bench: --${k} must be ${what}, got ${v}`);
    return xs;
  };
  const widths = numbers('widths', (n) => n > 0 && Number.isFinite(n), 'positive numbers separated by commas') ?? [0.25, 0.5, 1];
  const convWidth = numbers('conv-width', (n) => n > 0 && Number.isFinite(n), 'a positive number')?.[0] ?? 1;
  const batch = numbers('batch', (n) => Number.isInteger(n) && n > 0, 'a positive integer')?.[0] ?? 256;
  const runEpochs = numbers('run-epochs', (n) => Number.isInteger(n) && n > 0, 'a positive integer')?.[0] ?? 30;
  const runWidth = numbers('run-width', (n) => n > 0 && Number.isFinite(n), 'a positive number')?.[0] ?? 0.25;
  return {
    quick, variants: argv.includes('--variants'), convVariants: argv.includes('--conv-variants'),
    samples: val('samples') ? Math.max(5, Number(val('samples'))) : 5,
    convSamples: val('conv-samples') ? Math.max(1, Number(val('conv-samples'))) : 3,
    only: only as BenchSection[] | null,
    convShapes: val('conv-shapes') ? val('conv-shapes')!.split(',').map(Number) : null,
    convWidth,
    profile: argv.includes('--profile'),
    widths,
    batch,
    stepSamples: val('step-samples') ? Math.max(1, Number(val('step-samples'))) : 3,
    supervised: !argv.includes('--no-supervised'),
    runData: val('run-data') ?? '../shared/data/cifar-10-partial',
    runEpochs,
    runWidth,
  };
}

/** Writes a section's JSON to bench/results/<name>-<date>.json and <name>-latest.json; returns the first path. */
export function writeResults(dir: string, name: string, out: { date: string; [k: string]: unknown }): string {
  const file = `${dir}${name}-${out.date.replace(/[:.]/g, '-')}.json`;
  const text = JSON.stringify(out, null, 2) + '\n';
  writeFileSync(file, text);
  writeFileSync(`${dir}${name}-latest.json`, text);
  return file;
}

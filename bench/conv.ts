/**
 * Convolution section of `npm run bench` (`-- --only=conv`): for each distinct conv shape of a
 * CIFAR-stem ResNet-18 at batch 32 (`--quick`: batch 8, five shapes), the forward, input-gradient
 * and weight-gradient GFLOP/s of this engine (NCHW) and of @tensorflow/tfjs-backend-webgpu (NHWC,
 * its native layout and fastest path: conv2d, the Conv2DBackpropInput and Conv2DBackpropFilter
 * kernels called directly) on the same Dawn adapter, ours and tfjs alternating per sample.
 * FLOPs per kernel = 2 * N * O * Ho * Wo * C * KH * KW. `--conv-variants` also times every conv
 * kernel variant of ours.
 */
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import { rand } from '../engine/ops/creation.js';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight, convKernelFor, setConvKernel, type ConvKernel } from '../engine/ops/conv.js';
import { hasSubgroups8 } from '../engine/ops/matmul.js';
import { Random } from '../engine/random.js';
import type { Tensor } from '../engine/tensor.js';
import { gflops, log, median, repsFor, timeCalls } from './common.js';

type Tf = typeof import('@tensorflow/tfjs-core');

/** [C, O, H (=W), kernel, stride, padding] */
export type ConvShape = [number, number, number, number, number, number];

export const RESNET18_CIFAR: ConvShape[] = [
  [3, 64, 32, 3, 1, 1],     // stem
  [64, 64, 32, 3, 1, 1],
  [64, 128, 32, 3, 2, 1],
  [128, 128, 16, 3, 1, 1],
  [64, 128, 32, 1, 2, 0],   // downsample
  [128, 256, 16, 3, 2, 1],
  [256, 256, 8, 3, 1, 1],
  [128, 256, 16, 1, 2, 0],
  [256, 512, 8, 3, 2, 1],
  [512, 512, 4, 3, 1, 1],
  [256, 512, 8, 1, 2, 0],
];
/** The shapes of a ResNet-18 at `width` (channels scaled and rounded, at least 1; the stem keeps its 3 inputs). */
export const atWidth = (shapes: readonly ConvShape[], width: number): ConvShape[] =>
  shapes.map(([C, O, ...rest]) => [C === 3 ? 3 : Math.max(1, Math.round(C * width)), Math.max(1, Math.round(O * width)), ...rest]);
export const QUICK_SHAPES: ConvShape[] = [RESNET18_CIFAR[0], RESNET18_CIFAR[1], RESNET18_CIFAR[4], RESNET18_CIFAR[6], RESNET18_CIFAR[9]];

export const KERNELS = ['forward', 'inputGrad', 'weightGrad'] as const;
export type ConvKernelName = (typeof KERNELS)[number];

export const CONV_VARIANTS: ConvKernel[] = [
  { kind: 'subgroup', tm: 16, tn: 4, wg: 64, sgn: 1 },
  { kind: 'subgroup', tm: 16, tn: 8, wg: 64, sgn: 1 },
  { kind: 'subgroup', tm: 32, tn: 4, wg: 64, sgn: 1 },
  { kind: 'subgroup', tm: 8, tn: 8, wg: 64, sgn: 1 },
  { kind: 'subgroup', tm: 24, tn: 8, wg: 64, sgn: 1 },
  { kind: 'subgroup', tm: 16, tn: 8, wg: 32, sgn: 1 },
  { kind: 'subgroup', tm: 16, tn: 8, wg: 128, sgn: 2 },
  { kind: 'tiled' },
];
/** null: the per-device choice, which on lavapipe runs conv_direct.wgsl where a shape fits it. */
export const convKernelName = (k: ConvKernel | null): string =>
  k === null ? 'per-device choice (direct where it fits)' : k.kind === 'tiled' ? 'tiled 64x64 wg256 (workgroup memory)' : `subgroup ${k.tm}x${k.tn * 8} wg${k.wg} sgn${k.sgn}`;

const geometry = ([C, O, H, k, s, p]: ConvShape) => {
  const Ho = Math.floor((H + 2 * p - k) / s) + 1;
  return { C, O, H, k, s, p, Ho };
};
export const shapeName = (sh: ConvShape): string => {
  const [C, O, H, k, s, p] = sh;
  return `${C}->${O} ${k}x${k} s${s} p${p} @${H}x${H}`;
};
export const convFlop = (N: number, sh: ConvShape): number => {
  const { C, O, k, Ho } = geometry(sh);
  return 2 * N * O * Ho * Ho * C * k * k;
};

interface Runner { run(): void; sync(): Promise<void>; dispose(): void }

/** Our three kernels for one shape (NCHW); `kernel` forces a variant. */
export function oursConv(backend: WebGpuBackend, N: number, sh: ConvShape, which: ConvKernelName, kernel: ConvKernel | null = null): Runner {
  const { C, O, H, k, s, p, Ho } = geometry(sh);
  const rng = new Random(1);
  const opt = { backend, rng, low: -1, high: 1 };
  const x = rand([N, C, H, H], opt), w = rand([O, C, k, k], opt), g = rand([N, O, Ho, Ho], opt);
  const opts = { stride: s, padding: p };
  const body: () => Tensor =
    which === 'forward' ? () => conv2d(x, w, null, opts)
      : which === 'inputGrad' ? () => conv2dBackwardInput(g, w, [H, H], opts)
        : () => conv2dBackwardWeight(x, g, [k, k], opts);
  return {
    run() {
      setConvKernel(kernel);
      try { body().dispose(); } finally { setConvKernel(null); }
    },
    sync: () => backend.sync(),
    dispose() { x.dispose(); w.dispose(); g.dispose(); },
  };
}

/** tfjs-webgpu's three kernels for one shape, NHWC (its native layout). */
export function tfjsConv(tf: Tf, sync: () => Promise<void>, N: number, sh: ConvShape, which: ConvKernelName): Runner {
  const { C, O, H, k, s, p, Ho } = geometry(sh);
  const x = tf.randomUniform([N, H, H, C], -1, 1, 'float32', 1) as import('@tensorflow/tfjs-core').Tensor4D;
  const f = tf.randomUniform([k, k, C, O], -1, 1, 'float32', 2) as import('@tensorflow/tfjs-core').Tensor4D;
  const dy = tf.randomUniform([N, Ho, Ho, O], -1, 1, 'float32', 3) as import('@tensorflow/tfjs-core').Tensor4D;
  const common = { strides: [s, s], pad: p, dataFormat: 'NHWC', dimRoundingMode: undefined };
  const body: () => { dispose(): void } =
    which === 'forward' ? () => tf.conv2d(x, f, s, p)
      : which === 'inputGrad' ? () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, { ...common, inputShape: [N, H, H, C] } as never) as never
        : () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...common, filterShape: [k, k, C, O] } as never) as never;
  return { run() { body().dispose(); }, sync, dispose() { x.dispose(); f.dispose(); dy.dispose(); } };
}

interface Side { ms: number; gflops: number; samplesMs: number[]; callsPerSample: number }
export interface ConvRecord { shape: string; N: number; C: number; O: number; H: number; kernelSize: number; stride: number; padding: number; kernel: ConvKernelName; gflop: number; ours: Side; tfjs: Side; ratio: number }

const SAMPLE_MS = 200;

export async function measureConv(backend: WebGpuBackend, tf: Tf, tfSync: () => Promise<void>, N: number, shapes: readonly ConvShape[], samples: number): Promise<ConvRecord[]> {
  const records: ConvRecord[] = [];
  for (const sh of shapes) {
    for (const which of KERNELS) {
      const flop = convFlop(N, sh);
      const ours = oursConv(backend, N, sh, which);
      const theirs = tfjsConv(tf, tfSync, N, sh, which);
      process.stdout.write(`${shapeName(sh).padEnd(28)} ${which.padEnd(10)} warm-up`);
      await timeCalls(ours.run, ours.sync, 1);
      await timeCalls(theirs.run, theirs.sync, 1);
      const oursReps = repsFor(await timeCalls(ours.run, ours.sync, 1), SAMPLE_MS);
      const tfReps = repsFor(await timeCalls(theirs.run, theirs.sync, 1), SAMPLE_MS);
      process.stdout.write(` (${oursReps}/${tfReps} calls per sample) `);
      const t: [number[], number[]] = [[], []];
      for (let i = 0; i < samples; i++) {
        t[0].push(await timeCalls(ours.run, ours.sync, oursReps));
        t[1].push(await timeCalls(theirs.run, theirs.sync, tfReps));
        process.stdout.write('.');
      }
      ours.dispose();
      theirs.dispose();
      const side = (xs: number[], reps: number): Side => ({ ms: median(xs), gflops: gflops(flop, median(xs)), samplesMs: xs, callsPerSample: reps });
      const [C, O, H, k, s, p] = sh;
      const r: ConvRecord = { shape: shapeName(sh), N, C, O, H, kernelSize: k, stride: s, padding: p, kernel: which, gflop: flop / 1e9, ours: side(t[0], oursReps), tfjs: side(t[1], tfReps), ratio: 0 };
      r.ratio = r.ours.gflops / r.tfjs.gflops;
      records.push(r);
      process.stdout.write(` ours ${r.ours.gflops.toFixed(2)}, tfjs ${r.tfjs.gflops.toFixed(2)} GFLOP/s (${r.ratio.toFixed(2)}x)\n`);
    }
  }
  return records;
}

export function convTable(records: readonly ConvRecord[]): string[] {
  const pad = (x: string, n: number) => x.padStart(n);
  const lines = [`${'shape (C->O kernel stride pad @HxW)'.padEnd(30)}${'kernel'.padEnd(11)}${pad('ours ms', 10)}${pad('GFLOP/s', 9)}${pad('tfjs ms', 10)}${pad('GFLOP/s', 9)}${pad('ours/tfjs', 11)}`];
  for (const r of records) {
    lines.push(`${r.shape.padEnd(30)}${r.kernel.padEnd(11)}${pad(r.ours.ms.toFixed(2), 10)}${pad(r.ours.gflops.toFixed(2), 9)}${pad(r.tfjs.ms.toFixed(2), 10)}${pad(r.tfjs.gflops.toFixed(2), 9)}${pad(r.ratio.toFixed(2) + 'x', 11)}`);
  }
  const tot = (k: ConvKernelName | null, side: 'ours' | 'tfjs') => records.filter((r) => k === null || r.kernel === k).reduce((a, r) => a + r[side].ms, 0);
  for (const k of [...KERNELS, null]) {
    const o = tot(k, 'ours'), t = tot(k, 'tfjs');
    lines.push(`total ${(k ?? 'all three').padEnd(35)}${pad(o.toFixed(1), 10)}${pad('', 9)}${pad(t.toFixed(1), 10)}${pad('', 9)}${pad((t / o).toFixed(2) + 'x', 11)}`);
  }
  return lines;
}

export interface ConvVariantResult { kernel: string; shape: string; which: ConvKernelName; ms: number; gflops: number; selected: boolean }

/** Every conv kernel variant of ours on a few shapes, interleaved per sample. */
export async function measureConvVariants(backend: WebGpuBackend, N: number, shapes: readonly ConvShape[], samples: number): Promise<ConvVariantResult[]> {
  const variants = [null, ...CONV_VARIANTS.filter((k) => k.kind !== 'subgroup' || hasSubgroups8(backend))];
  const out: ConvVariantResult[] = [];
  for (const sh of shapes) {
    for (const which of KERNELS) {
      log(`conv variants, ${shapeName(sh)} batch ${N}, ${which}, median of ${samples}:`);
      const runs = variants.map((k) => ({ k, r: oursConv(backend, N, sh, which, k), times: [] as number[], reps: 1 }));
      for (const r of runs) r.reps = repsFor(await timeCalls(r.r.run, r.r.sync, 1), SAMPLE_MS);
      for (let s = 0; s < samples; s++) for (const r of runs) r.times.push(await timeCalls(r.r.run, r.r.sync, r.reps));
      for (const r of runs) {
        const ms = median(r.times);
        const res = { kernel: convKernelName(r.k), shape: shapeName(sh), which, ms, gflops: gflops(convFlop(N, sh), ms), selected: r.k === null };
        out.push(res);
        log(`  ${res.kernel.padEnd(40)} ${ms.toFixed(2).padStart(9)} ms ${res.gflops.toFixed(2).padStart(7)} GFLOP/s${res.selected ? '  (selected)' : ''}`);
        r.r.dispose();
      }
    }
  }
  return out;
}

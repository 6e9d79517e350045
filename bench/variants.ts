/**
 * Matmul kernel variants on one device: every candidate configuration timed at the same sizes,
 * interleaved per sample, so the choice in engine/ops/matmul.ts rests on numbers from this run.
 * Standalone: `node dist/bench/variants.js [--size=1024 | --shape=MxKxN] [--samples=5] [--only=subgroup|register|tiled]`.
 */
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import { hasSubgroups8, matmulKernelFor, type MatmulKernel } from '../engine/ops/matmul.js';
import { gflops, log, median, repsFor, timeCalls } from './common.js';
import { createBackend, oursMatmul } from './ours.js';
import { fileURLToPath } from 'node:url';

export const SUBGROUP_VARIANTS: MatmulKernel[] = [
  { kind: 'subgroup', tm: 8, tn: 4, wg: 64, sgn: 1 },
  { kind: 'subgroup', tm: 16, tn: 4, wg: 64, sgn: 1 },
  { kind: 'subgroup', tm: 8, tn: 8, wg: 64, sgn: 1 },
  { kind: 'subgroup', tm: 16, tn: 8, wg: 64, sgn: 1 },
  { kind: 'subgroup', tm: 24, tn: 4, wg: 64, sgn: 1 },
  { kind: 'subgroup', tm: 16, tn: 4, wg: 128, sgn: 1 },
  { kind: 'subgroup', tm: 16, tn: 4, wg: 256, sgn: 1 },
  { kind: 'subgroup', tm: 16, tn: 4, wg: 32, sgn: 1 },
  { kind: 'subgroup', tm: 16, tn: 4, wg: 64, sgn: 2 },
  { kind: 'subgroup', tm: 16, tn: 4, wg: 64, sgn: 8 },
  { kind: 'subgroup', tm: 16, tn: 4, wg: 64, sgn: 1, vec: false },
];
export const REGISTER_VARIANTS: MatmulKernel[] = [
  // every invocation of a workgroup on the same rows (A's loads uniform)
  { kind: 'register', tm: 4, tn: 4, wg: 64, wgn: 64 },
  { kind: 'register', tm: 8, tn: 4, wg: 64, wgn: 64 },
  { kind: 'register', tm: 4, tn: 8, wg: 64, wgn: 64 },
  { kind: 'register', tm: 8, tn: 8, wg: 64, wgn: 64 },
  { kind: 'register', tm: 8, tn: 4, wg: 128, wgn: 128 },
  { kind: 'register', tm: 8, tn: 4, wg: 256, wgn: 256 },
  { kind: 'register', tm: 8, tn: 4, wg: 32, wgn: 32 },
  // 2-D layouts within the workgroup (A's loads per lane too)
  { kind: 'register', tm: 4, tn: 4, wg: 64, wgn: 8 },
  { kind: 'register', tm: 8, tn: 4, wg: 64, wgn: 16 },
  { kind: 'register', tm: 4, tn: 4, wg: 256, wgn: 16 },
  // scalar loads only
  { kind: 'register', tm: 8, tn: 8, wg: 64, wgn: 64, vec: false },
  { kind: 'register', tm: 4, tn: 4, wg: 64, wgn: 64, vec: false },
];
export const ALL_VARIANTS: MatmulKernel[] = [...SUBGROUP_VARIANTS, ...REGISTER_VARIANTS, { kind: 'tiled' }];

export const kernelName = (k: MatmulKernel): string =>
  k.kind === 'tiled' ? 'tiled 64x64 wg256 (workgroup memory)'
    : k.kind === 'register' ? `register ${k.tm}x${k.tn} wg${k.wg} wgn${k.wgn}${k.vec === false ? ' scalar' : ' vec4'}`
      : `subgroup ${k.tm}x${k.tn * 8} wg${k.wg} sgn${k.sgn}${k.vec === false ? ' scalar' : ' vec4'}`;

export interface VariantResult { kernel: string; M: number; K: number; N: number; ms: number; gflops: number; selected: boolean }

export async function measureVariants(backend: WebGpuBackend, sizes: readonly [number, number, number][], samples: number,
  variants: readonly MatmulKernel[] = ALL_VARIANTS): Promise<VariantResult[]> {
  const selected = kernelName(matmulKernelFor(backend));
  variants = variants.filter((k) => k.kind !== 'subgroup' || hasSubgroups8(backend));
  const results: VariantResult[] = [];
  for (const [M, K, N] of sizes) {
    log(`variants at ${M}x${K}x${N} (M x K x N), ${variants.length} kernels, median of ${samples}:`);
    const runs = variants.map((k) => ({ k, mm: oursMatmul(backend, M, K, N, k), times: [] as number[], reps: 1 }));
    for (const r of runs) r.reps = repsFor(await timeCalls(r.mm.run, r.mm.sync, 1), 300); // warm-up (pipeline compile)
    for (let s = 0; s < samples; s++) for (const r of runs) r.times.push(await timeCalls(r.mm.run, r.mm.sync, r.reps));
    for (const r of runs) {
      const ms = median(r.times);
      const name = kernelName(r.k);
      const res = { kernel: name, M, K, N, ms, gflops: gflops(2 * M * K * N, ms), selected: name === selected };
      results.push(res);
      log(`  ${name.padEnd(40)} ${ms.toFixed(2).padStart(9)} ms ${res.gflops.toFixed(2).padStart(7)} GFLOP/s${res.selected ? '  (selected for this device)' : ''}`);
      r.mm.dispose();
    }
  }
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (k: string) => process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1];
  const size = Number(arg('size') ?? 1024);
  const shape = (arg('shape')?.split('x').map(Number) ?? [size, size, size]) as [number, number, number];
  const samples = Number(arg('samples') ?? 5);
  const only = arg('only'); // 'subgroup' | 'register' | 'tiled'
  const backend = await createBackend();
  log(`adapter: ${backend.label}`);
  await measureVariants(backend, [shape], samples, only ? ALL_VARIANTS.filter((k) => k.kind === only) : ALL_VARIANTS);
  backend.destroy();
}

/**
 * `npm run augment-grid -- --data <cifar .bin[.gz]> --out grid.png [--n 8] [--seed 0]
 * [--preset cifar|imagenet] [--size S] [--cpu]`: writes a PNG with one row per image: the
 * original, then its two augmented views (rows i and i + B of augmentBatch), so a person can look
 * at what the augmentations do. Runs the WGSL kernels when a WebGPU adapter exists (else, or with
 * --cpu, the CPU reference).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { Random } from '../engine/random.js';
import { CpuBackend } from '../engine/cpu/backend.js';
import { WebGpuBackend } from '../engine/webgpu/backend.js';
import type { Backend } from '../engine/backend.js';
import { readCifar10 } from './data/binary.js';
import { augmentBatch, cifarAugment, imagenetAugment, type AugmentConfig, type ImageBatch } from './augment.js';

export interface GridOptions {
  n?: number;
  seed?: number;
  cfg?: AugmentConfig;
  /** Pixels between cells (default 2). */
  pad?: number;
}

/** Grid geometry: rows of [original | view 1 | view 2] cells, each cell max(H, S) square. */
export function gridSize(n: number, h: number, w: number, s: number, pad = 2): { width: number; height: number; cell: number } {
  const cell = Math.max(h, w, s);
  return { width: 3 * cell + 4 * pad, height: n * cell + (n + 1) * pad, cell };
}

/** Renders the grid as an encoded PNG. */
export async function augmentGrid(backend: Backend, batch: ImageBatch, opts: GridOptions = {}): Promise<Buffer> {
  const n = Math.min(opts.n ?? 8, batch.n);
  const pad = opts.pad ?? 2;
  const { channels: C, height: H, width: W } = batch;
  const cfg = opts.cfg ?? cifarAugment(Math.max(H, W));
  const sub: ImageBatch = { ...batch, n, images: batch.images.subarray(0, n * C * H * W) };
  const views = augmentBatch(backend, sub, new Random(opts.seed ?? 0), cfg);
  const data = await views.data();
  views.dispose();
  const S = cfg.size;
  const g = gridSize(n, H, W, S, pad);
  const png = new PNG({ width: g.width, height: g.height });
  png.data.fill(255);
  const put = (x: number, y: number, rgb: readonly number[]) => {
    const o = (y * g.width + x) * 4;
    for (let c = 0; c < 3; c++) png.data[o + c] = Math.max(0, Math.min(255, Math.round(rgb[C === 3 ? c : 0])));
    png.data[o + 3] = 255;
  };
  for (let i = 0; i < n; i++) {
    const y0 = pad + i * (g.cell + pad);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      const rgb = [0, 1, 2].slice(0, C).map((c) => batch.images[((i * C + c) * H + y) * W + x]);
      put(pad + x, y0 + y, rgb);
    }
    for (const [col, v] of [[1, i], [2, i + n]]) {
      const x0 = pad + col * (g.cell + pad);
      for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
        const rgb = [0, 1, 2].slice(0, C).map((c) => 255 * data[((v * C + c) * S + y) * S + x]);
        put(x0 + x, y0 + y, rgb);
      }
    }
  }
  return PNG.sync.write(png);
}

function parseArgs(argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const key = a.slice(2);
    if (key === 'cpu') { out.cpu = '1'; continue; }
    const v = argv[++i];
    if (v === undefined) throw new Error(`--${key} needs a value`);
    out[key] = v;
  }
  return out;
}

/** The command: reads a CIFAR-10 binary file and writes the grid PNG. */
export async function main(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv);
  if (!args.data || !args.out) throw new Error('usage: augment-grid --data <cifar .bin[.gz]> --out grid.png [--n 8] [--seed 0] [--preset cifar|imagenet] [--size S] [--cpu]');
  const ds = readCifar10(args.data);
  const size = args.size ? Number(args.size) : Math.max(ds.height, ds.width);
  const cfg = args.preset === 'imagenet' ? imagenetAugment(size) : cifarAugment(size);
  const gpu = args.cpu ? null : await WebGpuBackend.create();
  const backend: Backend = gpu ?? new CpuBackend();
  try {
    const png = await augmentGrid(backend, ds, { n: args.n ? Number(args.n) : 8, seed: args.seed ? Number(args.seed) : 0, cfg });
    writeFileSync(args.out, png);
    console.log(`wrote ${args.out} (${backend.label})`);
  } finally {
    backend.destroy();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((e: unknown) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
}

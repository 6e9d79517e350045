/**
 * SimCLR augmentations (simclr/augment.ts): the WGSL kernels against the float64 reference from
 * the same host-drawn parameters, statistics of the drawn parameters, hue preserving luma,
 * grayscale, seeding, and the PNG grid command.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { Random } from '../engine/random.js';
import {
  P, VIEW_PARAMS, augmentBatch, augmentCpu, augmentGpu, cifarAugment, drawAugmentParams, hueRotate,
  imagenetAugment, resolveAugment, sampleCrop, type AugmentConfig, type AugmentOptions, type ImageBatch,
} from '../simclr/augment.js';
import { augmentGrid, gridSize, main as gridMain } from '../simclr/augment-grid.js';
import { CpuBackend } from '../engine/cpu/backend.js';
import { gpu } from './helpers.js';

function synthetic(n: number, c: number, h: number, w: number, seed: number, lo = 0, hi = 256): ImageBatch {
  const rng = new Random(seed);
  const images = new Uint8Array(n * c * h * w);
  // smooth-ish images (a gradient plus noise) so crops and blurs see structure
  for (let i = 0; i < images.length; i++) {
    const x = i % w, y = Math.floor(i / w) % h;
    const base = lo + ((x * 7 + y * 5 + Math.floor(i / (h * w)) * 31) % (hi - lo));
    images[i] = Math.min(hi - 1, Math.max(lo, base + rng.int(9) - 4));
  }
  return { images, n, channels: c, height: h, width: w };
}

async function runGpu(batch: ImageBatch, params: Float32Array, cfg: AugmentConfig): Promise<Float32Array> {
  const b = await gpu();
  const s = augmentGpu(b, batch, params, cfg);
  const out = await b.read(s, 'f32', 2 * batch.n * batch.channels * cfg.size * cfg.size) as Float32Array;
  b.release(s);
  return out;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('augment: GPU against the CPU reference', () => {
  const cases: [string, ImageBatch, AugmentConfig][] = [
    ['rgb 20x28 -> 16, ImageNet preset (blur k=3)', synthetic(6, 3, 20, 28, 1), imagenetAugment(16)],
    ['rgb 32x32 -> 32, CIFAR preset', synthetic(8, 3, 32, 32, 2), cifarAugment(32)],
    ['rgb 40x24 -> 24, always jitter, gray p=0.5, blur k=7 always', synthetic(5, 3, 40, 24, 3),
      resolveAugment({ size: 24, jitterP: 1, grayP: 0.5, blurP: 1, blurKernel: 7 })],
    ['gray 28x28 -> 20, blur', synthetic(6, 1, 28, 28, 4), imagenetAugment(20, { blurP: 1, blurKernel: 5, jitterP: 1 })],
    ['upsampling 8x8 -> 24', synthetic(4, 3, 8, 8, 5), imagenetAugment(24, { jitterP: 1 })],
  ];
  for (const [name, batch, cfg] of cases) {
    it(name, async () => {
      for (const seed of [11, 12]) {
        const params = drawAugmentParams(new Random(seed), batch.n, batch.height, batch.width, cfg);
        const ref = augmentCpu(batch, params, cfg);
        const got = await runGpu(batch, params, cfg);
        expect(maxDiff(got, ref)).toBeLessThan(1e-5);
        for (const v of ref) { expect(v).toBeGreaterThanOrEqual(-1e-12); expect(v).toBeLessThanOrEqual(1 + 1e-12); }
      }
    });
  }

  it('66,000 views: the grid past 65535 views (z) in every per-element kernel (blur, translate, solarize)', async () => {
    const batch = synthetic(33000, 1, 3, 3, 6);
    const cfg = imagenetAugment(3, { jitterP: 1, blurP: 1, blurKernel: 3, translate: 1, translateP: 0.5, solarizeP: 0.5 });
    const params = drawAugmentParams(new Random(13), batch.n, batch.height, batch.width, cfg);
    const got = await runGpu(batch, params, cfg);
    expect(maxDiff(got, augmentCpu(batch, params, cfg))).toBeLessThan(1e-5);
  });
});

describe('augment: a recipe per view, solarization', () => {
  // BYOL's asymmetric pair: blur always / solarize never on the first view, blur 0.1 / solarize 0.2 on the second.
  const byol = (size: number, over: Partial<AugmentOptions> = {}) => [
    resolveAugment({ size, blurP: 1, solarizeP: 0, blurKernel: 5, ...over }),
    resolveAugment({ size, blurP: 0.1, solarizeP: 0.2, blurKernel: 5, ...over }),
  ] as const;
  it('GPU equals the CPU reference with a different recipe per view, solarization included', async () => {
    const batch = synthetic(8, 3, 24, 24, 21);
    const pair = byol(20, { solarizeP: 1 }); // every view of the pair solarized, so the kernel is exercised
    for (const seed of [31, 32]) {
      const params = drawAugmentParams(new Random(seed), batch.n, batch.height, batch.width, pair);
      for (let v = 0; v < 2 * batch.n; v++) {
        if (v < batch.n) expect(params[v * VIEW_PARAMS + P.blur], `view ${v} blur`).toBe(1);
        expect(params[v * VIEW_PARAMS + P.solarize], `view ${v} solarize`).toBe(1);
      }
      const ref = augmentCpu(batch, params, pair);
      const b = await gpu();
      const s = augmentGpu(b, batch, params, pair);
      const got = await b.read(s, 'f32', ref.length) as Float32Array;
      b.release(s);
      expect(maxDiff(got, ref)).toBeLessThan(2e-5);
      // solarized values are all <= 0.5 (v >= 0.5 became 1 - v)
      expect(Math.max(...got)).toBeLessThanOrEqual(0.5 + 1e-6);
    }
  });
  it('solarization is v -> 1 - v above 0.5 and nothing else: the same views without it differ exactly there', () => {
    const batch = synthetic(4, 3, 16, 16, 22);
    const on = resolveAugment({ size: 16, blurP: 0, solarizeP: 1 });
    const params = drawAugmentParams(new Random(5), batch.n, 16, 16, on);
    const plain = params.slice();
    for (let v = 0; v < 2 * batch.n; v++) plain[v * VIEW_PARAMS + P.solarize] = 0;
    const a = augmentCpu(batch, params, on), b = augmentCpu(batch, plain, on);
    let flipped = 0;
    for (let i = 0; i < a.length; i++) {
      if (b[i] >= 0.5) { expect(a[i]).toBeCloseTo(1 - b[i], 12); flipped++; } else expect(a[i]).toBe(b[i]);
    }
    expect(flipped).toBeGreaterThan(a.length / 10);
  });
  it('draws per view: view v < n from the first recipe, v >= n from the second; frequencies match', () => {
    const n = 4000;
    const params = drawAugmentParams(new Random(9), n, 32, 32, byol(32));
    const freq = (k: number, from: number) => {
      let c = 0;
      for (let v = from; v < from + n; v++) c += params[v * VIEW_PARAMS + k];
      return c / n;
    };
    expect(freq(P.blur, 0)).toBe(1);
    expect(freq(P.solarize, 0)).toBe(0);
    expect(Math.abs(freq(P.blur, n) - 0.1)).toBeLessThan(0.02);
    expect(Math.abs(freq(P.solarize, n) - 0.2)).toBeLessThan(0.02);
  });
  it('a recipe without solarization draws exactly the stream it drew before solarization existed', () => {
    const cfg = cifarAugment(32);
    const a = drawAugmentParams(new Random(3), 16, 32, 32, cfg);
    const b = drawAugmentParams(new Random(3), 16, 32, 32, [cfg, cfg]);
    expect(b).toEqual(a);
    for (let v = 0; v < 32; v++) expect(a[v * VIEW_PARAMS + P.solarize]).toBe(0);
    expect(() => drawAugmentParams(new Random(3), 2, 32, 32, [cfg, cifarAugment(16)])).toThrow(/one output size/);
    expect(() => resolveAugment({ size: 8, solarizeP: 1.5 })).toThrow(/solarizeP must be a probability/);
  });
});

describe('augment: parameters', () => {
  it('crop areas and aspect ratios fall in range over many draws; boxes stay inside the image', () => {
    const rng = new Random(7);
    const areas: number[] = [];
    for (let t = 0; t < 3000; t++) {
      const H = 224, W = 224;
      const c = sampleCrop(rng, H, W, [0.08, 1], [3 / 4, 4 / 3]);
      expect(c.top).toBeGreaterThanOrEqual(0);
      expect(c.left).toBeGreaterThanOrEqual(0);
      expect(c.top + c.height).toBeLessThanOrEqual(H);
      expect(c.left + c.width).toBeLessThanOrEqual(W);
      const a = (c.height * c.width) / (H * W);
      areas.push(a);
      expect(a).toBeGreaterThanOrEqual(0.075);
      expect(a).toBeLessThanOrEqual(1);
      const r = c.width / c.height;
      // rounding w and h to pixels moves the ratio slightly
      expect(r).toBeGreaterThanOrEqual(0.74);
      expect(r).toBeLessThanOrEqual(1.35);
    }
    // spread over the range, not stuck at the fallback
    expect(Math.min(...areas)).toBeLessThan(0.1);
    expect(areas.filter((a) => a < 0.5).length).toBeGreaterThan(1000);
  });

  it('falls back to a centered crop clamped to the ratio range when no try fits', () => {
    const rng = new Random(1);
    // a 4x200 strip: almost no sampled box fits
    for (let t = 0; t < 100; t++) {
      const c = sampleCrop(rng, 4, 200, [0.9, 1], [3 / 4, 4 / 3]);
      expect(c.top + c.height).toBeLessThanOrEqual(4);
      expect(c.left + c.width).toBeLessThanOrEqual(200);
    }
    const c = sampleCrop(new Random(2), 4, 200, [0.99, 1], [3 / 4, 4 / 3]);
    expect(c).toEqual({ top: 0, left: Math.floor((200 - 5) / 2), height: 4, width: 5 });
  });

  it('flips about half, jitter about 0.8, grayscale about 0.2, blur about 0.5; factors in range', () => {
    const cfg = imagenetAugment(32);
    const n = 2000;
    const p = drawAugmentParams(new Random(3), n, 32, 32, cfg);
    const frac = (k: number) => { let s = 0; for (let v = 0; v < 2 * n; v++) s += p[v * VIEW_PARAMS + k]; return s / (2 * n); };
    expect(Math.abs(frac(P.flip) - 0.5)).toBeLessThan(0.03);
    expect(Math.abs(frac(P.jitter) - 0.8)).toBeLessThan(0.03);
    expect(Math.abs(frac(P.gray) - 0.2)).toBeLessThan(0.03);
    expect(Math.abs(frac(P.blur) - 0.5)).toBeLessThan(0.03);
    const orders = new Set<number>();
    for (let v = 0; v < 2 * n; v++) {
      const q = p.subarray(v * VIEW_PARAMS, (v + 1) * VIEW_PARAMS);
      for (const k of [P.brightness, P.contrast, P.saturation]) { expect(q[k]).toBeGreaterThanOrEqual(0.2 - 1e-6); expect(q[k]).toBeLessThanOrEqual(1.8 + 1e-6); }
      expect(Math.abs(q[P.hue])).toBeLessThanOrEqual(0.2 + 1e-6);
      expect(q[P.sigma]).toBeGreaterThanOrEqual(0.1 - 1e-6);
      expect(q[P.sigma]).toBeLessThanOrEqual(2 + 1e-6);
      const ops = [0, 1, 2, 3].map((k) => (q[P.order] >> (2 * k)) & 3).sort();
      expect(ops).toEqual([0, 1, 2, 3]);
      orders.add(q[P.order]);
    }
    expect(orders.size).toBe(24);
    expect(cifarAugment().blurP).toBe(0);
    expect(cifarAugment().brightness).toBeCloseTo(0.4);
    expect(imagenetAugment(96).blurKernel).toBe(9);
    expect(imagenetAugment(224).blurKernel).toBe(23);
  });

  it('hue rotation alone preserves luma (CPU)', () => {
    const rng = new Random(5);
    for (let t = 0; t < 1000; t++) {
      // colors near gray stay in gamut under any rotation
      const rgb: [number, number, number] = [0.4 + 0.2 * rng.uniform(), 0.4 + 0.2 * rng.uniform(), 0.4 + 0.2 * rng.uniform()];
      const h = rng.uniform() - 0.5;
      const out = hueRotate(rgb, h);
      const l = (c: readonly number[]) => 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
      expect(Math.abs(l(out) - l(rgb))).toBeLessThan(1e-12);
      if (Math.abs(h) > 0.05) expect(Math.abs(out[0] - rgb[0]) + Math.abs(out[1] - rgb[1]) + Math.abs(out[2] - rgb[2])).toBeGreaterThan(0);
    }
    expect(hueRotate([0.3, 0.5, 0.6], 0)).toEqual([0.3, 0.5, 0.6].map((x) => expect.closeTo(x, 12)));
  });
});

describe('augment: GPU properties', () => {
  it('hue step alone preserves luma per pixel on the GPU', async () => {
    const batch = synthetic(4, 3, 24, 24, 9, 100, 156);
    const cfg = resolveAugment({ size: 16, jitterP: 1, brightness: 0, contrast: 0, saturation: 0, hue: 0.5, grayP: 0, blurP: 0 });
    const params = drawAugmentParams(new Random(4), batch.n, 24, 24, cfg);
    const plain = params.slice();
    for (let v = 0; v < 2 * batch.n; v++) plain[v * VIEW_PARAMS + P.jitter] = 0;
    const a = await runGpu(batch, params, cfg);
    const b = await runGpu(batch, plain, cfg);
    const ss = 16 * 16;
    let changed = 0;
    for (let v = 0; v < 2 * batch.n; v++) {
      for (let k = 0; k < ss; k++) {
        const o = v * 3 * ss + k;
        const la = 0.299 * a[o] + 0.587 * a[o + ss] + 0.114 * a[o + 2 * ss];
        const lb = 0.299 * b[o] + 0.587 * b[o + ss] + 0.114 * b[o + 2 * ss];
        expect(Math.abs(la - lb)).toBeLessThan(1e-5);
        changed += Math.abs(a[o] - b[o]) > 1e-3 ? 1 : 0;
      }
    }
    expect(changed).toBeGreaterThan(0);
  });

  it('contrast blends with the mean luma after the steps before it (contrast factor 0 gives that mean)', async () => {
    const batch = synthetic(3, 3, 20, 20, 14);
    const cfg = resolveAugment({ size: 12, jitterP: 1, grayP: 0, blurP: 0 });
    const params = drawAugmentParams(new Random(2), 3, 20, 20, cfg);
    const plain = params.slice();
    for (let v = 0; v < 6; v++) {
      const q = params.subarray(v * VIEW_PARAMS, (v + 1) * VIEW_PARAMS);
      plain[v * VIEW_PARAMS + P.jitter] = 0;
      // brightness 0.5, then contrast 0, then saturation 1 and hue 0 (identities)
      q[P.brightness] = 0.5; q[P.contrast] = 0; q[P.saturation] = 1; q[P.hue] = 0;
      q[P.order] = 0 + 4 * 1 + 16 * 2 + 64 * 3;
    }
    const crop = augmentCpu(batch, plain, cfg);
    const ss = 144;
    for (const out of [augmentCpu(batch, params, cfg), await runGpu(batch, params, cfg)]) {
      for (let v = 0; v < 6; v++) {
        let m = 0;
        for (let k = 0; k < ss; k++) { const o = v * 3 * ss + k; m += 0.5 * (0.299 * crop[o] + 0.587 * crop[o + ss] + 0.114 * crop[o + 2 * ss]); }
        m /= ss;
        for (let k = 0; k < 3 * ss; k++) expect(Math.abs(out[v * 3 * ss + k] - m)).toBeLessThan(1e-5);
      }
    }
  });

  it('grayscale makes the channels equal', async () => {
    const batch = synthetic(4, 3, 20, 20, 10);
    const cfg = imagenetAugment(12, { grayP: 1 });
    const out = await runGpu(batch, drawAugmentParams(new Random(1), 4, 20, 20, cfg), cfg);
    const ss = 144;
    for (let v = 0; v < 8; v++) for (let k = 0; k < ss; k++) {
      const o = v * 3 * ss + k;
      expect(out[o + ss]).toBe(out[o]);
      expect(out[o + 2 * ss]).toBe(out[o]);
    }
  });

  it('same seed gives the same views, different seeds differ; shape [2B, C, S, S]', async () => {
    const b = await gpu();
    const batch = synthetic(5, 3, 32, 32, 11);
    const cfg = cifarAugment(32);
    const t1 = augmentBatch(b, batch, new Random(42), cfg);
    const t2 = augmentBatch(b, batch, new Random(42), cfg);
    const t3 = augmentBatch(b, batch, new Random(43), cfg);
    expect(t1.shape).toEqual([10, 3, 32, 32]);
    const [a1, a2, a3] = await Promise.all([t1, t2, t3].map((t) => t.data()));
    expect(Array.from(a1)).toEqual(Array.from(a2));
    expect(maxDiff(a1, a3)).toBeGreaterThan(0.1);
    // the two views of one image differ
    const per = 3 * 32 * 32;
    expect(maxDiff(a1.subarray(0, per), a1.subarray(5 * per, 6 * per))).toBeGreaterThan(0.05);
    for (const t of [t1, t2, t3]) t.dispose();
  });
});

describe('augment: CPU backend and PNG grid', () => {
  it('augmentBatch on the CPU backend equals the WebGPU path', async () => {
    const batch = synthetic(3, 3, 24, 24, 12);
    const cfg = imagenetAugment(16);
    const cpu = new CpuBackend();
    const a = augmentBatch(cpu, batch, new Random(8), cfg);
    const b = augmentBatch(await gpu(), batch, new Random(8), cfg);
    expect(a.shape).toEqual(b.shape);
    expect(maxDiff(await a.data(), await b.data())).toBeLessThan(1e-5);
    a.dispose(); b.dispose();
  });

  it('augmentGrid renders originals and two views per row (synthetic images)', async () => {
    const batch = synthetic(4, 3, 20, 20, 13);
    const buf = await augmentGrid(await gpu(), batch, { n: 4, cfg: cifarAugment(24) });
    const png = PNG.sync.read(buf);
    const g = gridSize(4, 20, 20, 24);
    expect([png.width, png.height]).toEqual([g.width, g.height]);
    expect([g.width, g.height]).toEqual([3 * 24 + 8, 4 * 24 + 10]);
    // the first original's top-left pixel is the image's
    const o = (2 * png.width + 2) * 4;
    expect([png.data[o], png.data[o + 1], png.data[o + 2]]).toEqual([batch.images[0], batch.images[400], batch.images[800]]);
  });

  // The shipped demo test split: genuine CIFAR-10 records, present in every clone.
  const cifar = new URL('../data/cifar10-demo/test_batch.first500.bin.gz', import.meta.url);
  it('the augment-grid command writes a valid PNG of the expected size on genuine CIFAR-10 images', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'augment-grid-'));
    try {
      const out = join(dir, 'grid.png');
      await gridMain(['--data', cifar.pathname, '--out', out, '--n', '6', '--seed', '3']);
      const png = PNG.sync.read(readFileSync(out));
      expect([png.width, png.height]).toEqual([3 * 32 + 4 * 2, 6 * 32 + 7 * 2]);
      // not blank: the views hold varied pixels
      const values = new Set<number>();
      for (let i = 0; i < png.data.length; i += 4) values.add(png.data[i]);
      expect(values.size).toBeGreaterThan(100);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

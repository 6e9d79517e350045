/**
 * SimCLR augmentations, batched and seeded: every image of a batch gives two views (rows i and
 * i + B of the output, as ntXent expects), each with its own random parameters drawn on the host
 * from a seeded `Random` (same seed, same views) and uploaded as a small [2B, 16] f32 buffer.
 *
 * Per view, in SimCLR's order (with AMDIM's and CPC's translation after the flip):
 *  1. random resized crop (torchvision's `RandomResizedCrop.get_params`: area scale U(0.08, 1),
 *     aspect ratio log-uniform in [3/4, 4/3], 10 tries, then the whole image clamped to the ratio
 *     range, centered), resized to S x S with bilinear resampling (align_corners = false, no
 *     antialiasing);
 *  2. horizontal flip, p = 0.5;
 *     then random translation with reflection padding (AMDIM's and CPC's RandomTranslateWithReflect,
 *     p 0 by default): shifts tx, ty uniform integers in [-t, t], the uncovered border mirrors the
 *     view (no edge repeat);
 *  3. color jitter with p = 0.8: brightness, contrast, saturation (factors U(max(0, 1 - 0.8s),
 *     1 + 0.8s)) and hue (shift U(-0.2s, 0.2s) of a turn), in a random order per view, each
 *     clipped to [0, 1]. Contrast blends with the exact mean luma of the view after the steps
 *     before it (a per-view reduction pass). Hue is a rotation of the chroma plane of YIQ (exactly
 *     luma-preserving before clipping), not torchvision's HSV shift;
 *  4. grayscale, p = 0.2 (luma 0.299 R + 0.587 G + 0.114 B in every channel);
 *  5. Gaussian blur, p = 0.5, sigma U(0.1, 2), kernel about 10% of S (odd), separable, reflect
 *     padding;
 *  6. solarization, p = 0 (BYOL: 0.2 on its second view): every value v >= 0.5 becomes 1 - v.
 * The two views of an image may follow different recipes (BYOL's asymmetric blur and
 * solarization): augmentBatch takes one config for both or one per view. It can also draw one view
 * per image (CPC augments each patch once).
 * One-channel images give one-channel views (saturation and hue do nothing to them).
 *
 * The GPU path (shaders/augment_crop.wgsl, augment_translate.wgsl, augment_color.wgsl, augment_blur.wgsl) does one output
 * pixel per invocation; `augmentCpu` is the float64 reference of the same math from the same
 * parameters.
 *
 * The contrast mean takes two passes (row sums, one invocation per view row; then each view's S
 * row sums, one invocation per view).
 *
 * Limits: resizing has no antialiasing (torchvision
 * antialiases when it shrinks); parameter floats carry integers exactly up to 2^24.
 */
import { Random } from '../engine/random.js';
import { StorageRef, Tensor } from '../engine/tensor.js';
import type { Backend, Storage } from '../engine/backend.js';
import { CpuBackend } from '../engine/cpu/backend.js';
import { WebGpuBackend, grid, u32, type GpuStorage } from '../engine/webgpu/backend.js';
import { ArgumentError } from '../engine/errors.js';

export interface AugmentOptions {
  /** Output side S. */
  size: number;
  /** Crop area range as a fraction of the image (default [0.08, 1]). */
  scale?: readonly [number, number];
  /** Crop aspect-ratio range (default [3/4, 4/3]); sampled log-uniformly. */
  ratio?: readonly [number, number];
  /** Horizontal flip probability (default 0.5). */
  flipP?: number;
  /** Color-jitter strength s (default 1): brightness/contrast/saturation 0.8 s, hue 0.2 s. */
  strength?: number;
  brightness?: number;
  contrast?: number;
  saturation?: number;
  hue?: number;
  /** Probability of applying the color jitter (default 0.8). */
  jitterP?: number;
  /** Grayscale probability (default 0.2). */
  grayP?: number;
  /** Gaussian blur probability (default 0.5; 0 disables it). */
  blurP?: number;
  /** Blur sigma range (default [0.1, 2]). */
  blurSigma?: readonly [number, number];
  /** Blur kernel size (odd); default floor(0.1 S), made odd, at least 3. */
  blurKernel?: number;
  /** Solarization probability (default 0). */
  solarizeP?: number;
  /** Largest translation in pixels per axis (default 0), reflection-padded; less than the size. */
  translate?: number;
  /** Translation probability (default 0). */
  translateP?: number;
}

/** Fully resolved options. */
export interface AugmentConfig {
  size: number; scale: [number, number]; ratio: [number, number]; flipP: number;
  brightness: number; contrast: number; saturation: number; hue: number; jitterP: number;
  grayP: number; blurP: number; blurSigma: [number, number]; blurKernel: number; solarizeP: number;
  translate: number; translateP: number;
}

/** CIFAR preset: s = 0.5, no blur. */
export function cifarAugment(size = 32, over: Partial<AugmentOptions> = {}): AugmentConfig {
  return resolveAugment({ size, strength: 0.5, blurP: 0, ...over });
}

/** ImageNet / STL-10 preset: s = 1, blur p = 0.5. */
export function imagenetAugment(size = 224, over: Partial<AugmentOptions> = {}): AugmentConfig {
  return resolveAugment({ size, strength: 1, blurP: 0.5, ...over });
}
export const stlAugment = (size = 96, over: Partial<AugmentOptions> = {}): AugmentConfig => imagenetAugment(size, over);

export function resolveAugment(o: AugmentOptions): AugmentConfig {
  const s = o.strength ?? 1;
  if (!Number.isInteger(o.size) || o.size < 1) throw new ArgumentError('augment', `size must be a positive integer, got ${o.size}`);
  let k = o.blurKernel ?? Math.floor(0.1 * o.size);
  if (o.blurKernel === undefined) { if (k % 2 === 0) k += 1; k = Math.max(k, 3); }
  if (!Number.isInteger(k) || k < 1 || k % 2 === 0) throw new ArgumentError('augment', `blurKernel must be a positive odd integer, got ${k}`);
  const cfg: AugmentConfig = {
    size: o.size,
    scale: [...(o.scale ?? [0.08, 1])] as [number, number],
    ratio: [...(o.ratio ?? [3 / 4, 4 / 3])] as [number, number],
    flipP: o.flipP ?? 0.5,
    brightness: o.brightness ?? 0.8 * s,
    contrast: o.contrast ?? 0.8 * s,
    saturation: o.saturation ?? 0.8 * s,
    hue: o.hue ?? 0.2 * s,
    jitterP: o.jitterP ?? 0.8,
    grayP: o.grayP ?? 0.2,
    blurP: o.blurP ?? 0.5,
    blurSigma: [...(o.blurSigma ?? [0.1, 2])] as [number, number],
    blurKernel: k,
    solarizeP: o.solarizeP ?? 0,
    translate: o.translate ?? 0,
    translateP: o.translateP ?? 0,
  };
  if (!(cfg.scale[0] > 0 && cfg.scale[0] <= cfg.scale[1])) throw new ArgumentError('augment', `bad scale range ${cfg.scale}`);
  if (!(cfg.ratio[0] > 0 && cfg.ratio[0] <= cfg.ratio[1])) throw new ArgumentError('augment', `bad ratio range ${cfg.ratio}`);
  if (!(cfg.hue >= 0 && cfg.hue <= 0.5)) throw new ArgumentError('augment', `hue must be in [0, 0.5], got ${cfg.hue}`);
  if (!(Number.isInteger(cfg.translate) && cfg.translate >= 0 && cfg.translate < cfg.size)) {
    throw new ArgumentError('augment', `translate must be an integer in [0, size ${cfg.size}), got ${cfg.translate}`);
  }
  for (const k of ['flipP', 'jitterP', 'grayP', 'blurP', 'solarizeP', 'translateP'] as const) {
    if (!(cfg[k] >= 0 && cfg[k] <= 1)) throw new ArgumentError('augment', `${k} must be a probability in [0, 1], got ${cfg[k]}`);
  }
  return cfg;
}

/** Floats per view in the parameter buffer (shaders/lib/augment_view.wgsl says the same). */
export const VIEW_PARAMS = 20;
/** Offsets in one view's parameters (18 and 19 are unused). */
export const P = {
  top: 0, left: 1, height: 2, width: 3, flip: 4, jitter: 5, brightness: 6, contrast: 7,
  saturation: 8, hue: 9, order: 10, gray: 11, blur: 12, sigma: 13, radius: 14, solarize: 15, tx: 16, ty: 17,
} as const;

/** One config for both views, or one per view ([first, second]); both give views of one size. */
export type ViewConfigs = AugmentConfig | readonly [AugmentConfig, AugmentConfig];

function perViewConfigs(cfg: ViewConfigs): readonly [AugmentConfig, AugmentConfig] {
  const pair = Array.isArray(cfg) ? cfg as readonly [AugmentConfig, AugmentConfig] : [cfg as AugmentConfig, cfg as AugmentConfig] as const;
  if (pair.length !== 2) throw new ArgumentError('augment', `expected one config or one per view (2), got ${pair.length}`);
  if (pair[0].size !== pair[1].size) throw new ArgumentError('augment', `both views need one output size, got ${pair[0].size} and ${pair[1].size}`);
  return pair;
}

export interface CropBox { top: number; left: number; height: number; width: number }

/** torchvision's RandomResizedCrop.get_params. */
export function sampleCrop(rng: Random, height: number, width: number, scale: readonly [number, number], ratio: readonly [number, number]): CropBox {
  const area = height * width;
  const lr0 = Math.log(ratio[0]), lr1 = Math.log(ratio[1]);
  for (let t = 0; t < 10; t++) {
    const target = area * (scale[0] + (scale[1] - scale[0]) * rng.uniform());
    const aspect = Math.exp(lr0 + (lr1 - lr0) * rng.uniform());
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.int(height - h + 1);
      const left = rng.int(width - w + 1);
      return { top, left, height: h, width: w };
    }
  }
  const inRatio = width / height;
  let w: number, h: number;
  if (inRatio < ratio[0]) { w = width; h = Math.round(w / ratio[0]); }
  else if (inRatio > ratio[1]) { h = height; w = Math.round(h * ratio[1]); }
  else { w = width; h = height; }
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/** Views per image: two (the contrastive pair, the default) or one (CPC's patches). */
export type ViewsPerImage = 1 | 2;

function checkViews(views: number): void {
  if (views !== 1 && views !== 2) throw new ArgumentError('augment', `views per image must be 1 or 2, got ${views}`);
}

/**
 * Draws the parameters of views x n views ([views n, VIEW_PARAMS]); view v is a view of image v mod n,
 * drawn with the first config for v < n and the second for v >= n.
 */
export function drawAugmentParams(rng: Random, n: number, height: number, width: number, cfgs: ViewConfigs, views: ViewsPerImage = 2): Float32Array {
  const pair = perViewConfigs(cfgs);
  checkViews(views);
  const out = new Float32Array(views * n * VIEW_PARAMS);
  const factor = (x: number) => Math.max(0, 1 - x) + (1 + x - Math.max(0, 1 - x)) * rng.uniform();
  for (let v = 0; v < views * n; v++) {
    const cfg = pair[v < n ? 0 : 1];
    const p = out.subarray(v * VIEW_PARAMS, (v + 1) * VIEW_PARAMS);
    const c = sampleCrop(rng, height, width, cfg.scale, cfg.ratio);
    p[P.top] = c.top; p[P.left] = c.left; p[P.height] = c.height; p[P.width] = c.width;
    p[P.flip] = rng.uniform() < cfg.flipP ? 1 : 0;
    // every draw happens whatever the coin says, so each view uses a fixed amount of the stream
    p[P.jitter] = rng.uniform() < cfg.jitterP ? 1 : 0;
    p[P.brightness] = factor(cfg.brightness);
    p[P.contrast] = factor(cfg.contrast);
    p[P.saturation] = factor(cfg.saturation);
    p[P.hue] = -cfg.hue + 2 * cfg.hue * rng.uniform();
    const perm = [0, 1, 2, 3];
    for (let i = 3; i > 0; i--) { const j = rng.int(i + 1); [perm[i], perm[j]] = [perm[j], perm[i]]; }
    p[P.order] = perm[0] + 4 * perm[1] + 16 * perm[2] + 64 * perm[3];
    p[P.gray] = rng.uniform() < cfg.grayP ? 1 : 0;
    p[P.blur] = rng.uniform() < cfg.blurP ? 1 : 0;
    p[P.sigma] = cfg.blurSigma[0] + (cfg.blurSigma[1] - cfg.blurSigma[0]) * rng.uniform();
    p[P.radius] = p[P.blur] ? (cfg.blurKernel - 1) / 2 : 0;
    // drawn only when the recipe can solarize or translate, so recipes without them keep their old stream
    if (cfg.solarizeP > 0) p[P.solarize] = rng.uniform() < cfg.solarizeP ? 1 : 0;
    if (cfg.translateP > 0 && cfg.translate > 0) {
      const on = rng.uniform() < cfg.translateP;
      const tx = rng.int(2 * cfg.translate + 1) - cfg.translate, ty = rng.int(2 * cfg.translate + 1) - cfg.translate;
      if (on) { p[P.tx] = tx; p[P.ty] = ty; }
    }
  }
  return out;
}

/** A batch of uint8 images, N x C x H x W planar (C = 1 or 3). */
export interface ImageBatch { images: Uint8Array; n: number; channels: number; height: number; width: number }

function checkBatch(b: ImageBatch): void {
  if (b.channels !== 1 && b.channels !== 3) throw new ArgumentError('augment', `images need 1 or 3 channels, got ${b.channels}`);
  if (b.images.length < b.n * b.channels * b.height * b.width) throw new ArgumentError('augment', `images hold ${b.images.length} bytes, fewer than ${b.n}x${b.channels}x${b.height}x${b.width}`);
  if (b.n < 1 || b.height < 1 || b.width < 1) throw new ArgumentError('augment', 'empty batch');
}

// Inverse YIQ columns for I and Q (exact inverse of the rows used below; luma of each is 0).
const EI = [0.9561706854041453, -0.2726886023301063, -1.1037440821760263];
const EQ = [0.6214325663465856, -0.6468132370201739, 1.7006230946773064];
const luma = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;
const clip = (x: number) => Math.min(Math.max(x, 0), 1);

/** One color-jitter step on a pixel (in place). mean is the contrast mean (ignored otherwise). */
function jitterStep(op: number, px: number[], p: Float32Array, mean: number): void {
  const n = px.length;
  if (op === 0) { for (let c = 0; c < n; c++) px[c] = clip(px[c] * p[P.brightness]); }
  else if (op === 1) { const f = p[P.contrast]; for (let c = 0; c < n; c++) px[c] = clip(f * px[c] + (1 - f) * mean); }
  else if (n === 3 && op === 2) {
    const f = p[P.saturation], g = luma(px[0], px[1], px[2]);
    for (let c = 0; c < 3; c++) px[c] = clip(f * px[c] + (1 - f) * g);
  } else if (n === 3 && op === 3) {
    const [r, g, b] = px;
    const y = luma(r, g, b);
    const i = 0.596 * r - 0.274 * g - 0.322 * b;
    const q = 0.211 * r - 0.523 * g + 0.312 * b;
    const th = 2 * Math.PI * p[P.hue], cs = Math.cos(th), sn = Math.sin(th);
    const i2 = cs * i - sn * q, q2 = sn * i + cs * q;
    for (let c = 0; c < 3; c++) px[c] = clip(y + EI[c] * i2 + EQ[c] * q2);
  }
}

/** Hue step alone on one RGB pixel (no clipping of the input), for tests. */
export function hueRotate(rgb: readonly [number, number, number], hue: number): number[] {
  const p = new Float32Array(VIEW_PARAMS); p[P.hue] = hue;
  const px = [...rgb]; jitterStep(3, px, p, 0); return px;
}

/** Views drawn in a parameter buffer, checked against the batch (one or two per image). */
function viewCount(params: Float32Array, n: number): number {
  const v = params.length / VIEW_PARAMS;
  if (v !== n && v !== 2 * n) throw new ArgumentError('augment', `${params.length} parameters hold ${v} views, not one or two per image of ${n}`);
  return v;
}

/** The float64 reference: [V, C, S, S] in [0, 1] (V = 2n, or n) from the same parameters as the GPU path. */
export function augmentCpu(batch: ImageBatch, params: Float32Array, cfgs: ViewConfigs): Float64Array {
  checkBatch(batch);
  const { images, n, channels: C, height: H, width: W } = batch;
  const S = perViewConfigs(cfgs)[0].size, V = viewCount(params, n), SS = S * S;
  const out = new Float64Array(V * C * SS);
  const px = new Array<number>(C).fill(0);
  for (let v = 0; v < V; v++) {
    const p = params.subarray(v * VIEW_PARAMS, (v + 1) * VIEW_PARAMS);
    const img = v % n;
    const top = p[P.top], left = p[P.left], ch = p[P.height], cw = p[P.width];
    const o = v * C * SS;
    // crop + flip
    for (let oy = 0; oy < S; oy++) {
      const sy = Math.max((oy + 0.5) * ch / S - 0.5, 0);
      const y0 = Math.min(Math.floor(sy), ch - 1), y1 = Math.min(y0 + 1, ch - 1), ly = sy - y0;
      for (let ox = 0; ox < S; ox++) {
        const x = p[P.flip] > 0.5 ? S - 1 - ox : ox;
        const sx = Math.max((x + 0.5) * cw / S - 0.5, 0);
        const x0 = Math.min(Math.floor(sx), cw - 1), x1 = Math.min(x0 + 1, cw - 1), lx = sx - x0;
        for (let c = 0; c < C; c++) {
          const base = (img * C + c) * H * W;
          const at = (yy: number, xx: number) => images[base + (top + yy) * W + left + xx] / 255;
          const a = at(y0, x0) * (1 - lx) + at(y0, x1) * lx;
          const b = at(y1, x0) * (1 - lx) + at(y1, x1) * lx;
          out[o + c * SS + oy * S + ox] = a * (1 - ly) + b * ly;
        }
      }
    }
    // translation with reflection padding
    if (p[P.tx] !== 0 || p[P.ty] !== 0) {
      const moved = new Float64Array(C * SS);
      for (let c = 0; c < C; c++) for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
        moved[c * SS + y * S + x] = out[o + c * SS + reflect(y - p[P.ty], S) * S + reflect(x - p[P.tx], S)];
      }
      out.set(moved, o);
    }
    // color jitter + grayscale
    const order = [0, 1, 2, 3].map((k) => (p[P.order] >> (2 * k)) & 3);
    let mean = 0;
    if (p[P.jitter] > 0.5) {
      const before = order.slice(0, order.indexOf(1));
      for (let i = 0; i < SS; i++) {
        for (let c = 0; c < C; c++) px[c] = out[o + c * SS + i];
        for (const op of before) jitterStep(op, px, p, 0);
        mean += C === 3 ? luma(px[0], px[1], px[2]) : px[0];
      }
      mean /= SS;
    }
    for (let i = 0; i < SS; i++) {
      for (let c = 0; c < C; c++) px[c] = out[o + c * SS + i];
      if (p[P.jitter] > 0.5) for (const op of order) jitterStep(op, px, p, mean);
      if (C === 3 && p[P.gray] > 0.5) { const g = luma(px[0], px[1], px[2]); px[0] = px[1] = px[2] = g; }
      for (let c = 0; c < C; c++) out[o + c * SS + i] = px[c];
    }
    // blur: horizontal then vertical
    const r = p[P.radius];
    if (r > 0) {
      const wts = blurWeights(p[P.sigma], r);
      const tmp = new Float64Array(SS);
      for (let c = 0; c < C; c++) {
        const plane = out.subarray(o + c * SS, o + (c + 1) * SS);
        for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
          let acc = 0;
          for (let k = -r; k <= r; k++) acc += wts[k + r] * plane[y * S + reflect(x + k, S)];
          tmp[y * S + x] = acc;
        }
        for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
          let acc = 0;
          for (let k = -r; k <= r; k++) acc += wts[k + r] * tmp[reflect(y + k, S) * S + x];
          plane[y * S + x] = acc;
        }
      }
    }
    if (p[P.solarize] > 0.5) for (let i = o; i < o + C * SS; i++) if (out[i] >= 0.5) out[i] = 1 - out[i];
  }
  return out;
}

/** Normalized Gaussian weights for offsets -r..r. */
export function blurWeights(sigma: number, r: number): number[] {
  const w = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-0.5 * ((i - r) / sigma) ** 2));
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / s);
}

/** Reflect padding without repeating the edge (torch's 'reflect'), clamped for tiny images. */
function reflect(i: number, n: number): number {
  if (i < 0) i = -i;
  if (i >= n) i = 2 * (n - 1) - i;
  return Math.min(Math.max(i, 0), n - 1);
}

const WG = 256;

/** lib/augment_view.wgsl's per-view grid: x over a view's `items` (WG per workgroup), y + 65535 z over the V views. */
function viewGrid(V: number, items: number): [number, number, number] {
  const MAX = 65535;
  if (Math.ceil(items / WG) > MAX) throw new ArgumentError('augment', `a view of ${items} values is too large for the device path (at most ${MAX * WG})`);
  return [Math.ceil(items / WG), Math.min(V, MAX), Math.ceil(V / MAX)];
}

/** Packs bytes into u32 words (little-endian), padded with zeros. */
function packBytes(bytes: Uint8Array): Uint32Array {
  const words = new Uint32Array(Math.max(1, Math.ceil(bytes.length / 4)));
  new Uint8Array(words.buffer).set(bytes);
  return words;
}

/** The GPU path: returns the [V, C, S, S] views (V = 2n, or n) as an f32 storage on the backend. */
export function augmentGpu(backend: WebGpuBackend, batch: ImageBatch, params: Float32Array, cfgs: ViewConfigs): GpuStorage {
  checkBatch(batch);
  const pair = perViewConfigs(cfgs);
  const { n, channels: C, height: H, width: W } = batch;
  const S = pair[0].size, V = viewCount(params, n), SS = S * S;
  const total = V * C * SS;
  const src = backend.upload(packBytes(batch.images.subarray(0, n * C * H * W)));
  const vp = backend.upload(params);
  let crop = backend.alloc(total, 'f32');
  backend.run({
    shader: 'augment_crop', inputs: [src, vp], outputs: [crop],
    params: [u32(n), u32(C), u32(H), u32(W), u32(S), u32(C * S)],
    constants: { WG }, workgroups: viewGrid(V, C * S),
  });
  if ((pair[0].translateP > 0 && pair[0].translate > 0) || (pair[1].translateP > 0 && pair[1].translate > 0)) {
    const moved = backend.alloc(total, 'f32');
    backend.run({
      shader: 'augment_translate', inputs: [crop, vp], outputs: [moved],
      params: [u32(C), u32(S), u32(C * SS)], constants: { WG }, workgroups: viewGrid(V, C * SS),
    });
    backend.release(crop);
    crop = moved;
  }
  const means = backend.alloc(V, 'f32');
  const colored = backend.alloc(total, 'f32');
  // the contrast means: row sums (into colored, which the main pass then overwrites), then per view
  backend.run({
    shader: 'augment_color', inputs: [crop, vp], outputs: [means, colored],
    entry: 'row_sums', params: [u32(C), u32(S), u32(V * S)], constants: { WG }, workgroups: grid(Math.ceil((V * S) / WG)),
  });
  backend.run({
    shader: 'augment_color', inputs: [crop, vp], outputs: [means, colored],
    entry: 'means_main', params: [u32(C), u32(S), u32(V)], constants: { WG }, workgroups: grid(Math.ceil(V / WG)),
  });
  backend.run({
    shader: 'augment_color', inputs: [crop, vp], outputs: [means, colored],
    params: [u32(C), u32(S), u32(V)], constants: { WG }, workgroups: viewGrid(V, SS),
  });
  let result = colored;
  if (pair[0].blurP > 0 || pair[1].blurP > 0) {
    // horizontal pass into crop (free now), vertical pass back into colored
    for (const [from, to, axis] of [[colored, crop, 0], [crop, colored, 1]] as const) {
      backend.run({
        shader: 'augment_blur', inputs: [from, vp], outputs: [to],
        params: [u32(C), u32(S), u32(C * SS)], constants: { WG, AXIS: axis }, workgroups: viewGrid(V, C * SS),
      });
    }
    result = colored;
  }
  if (pair[0].solarizeP > 0 || pair[1].solarizeP > 0) {
    backend.run({
      shader: 'augment_solarize', inputs: [vp], outputs: [result],
      params: [u32(C * SS)], constants: { WG }, workgroups: viewGrid(V, C * SS),
    });
  }
  backend.release(src);
  backend.release(vp);
  backend.release(means);
  backend.release(crop);
  return result;
}

/**
 * Augments a batch: draws the parameters from rng and returns the [2n, C, S, S] f32 views on the
 * backend (the WGSL kernels on WebGPU, the reference on the CPU backend); with views = 1, one view
 * per image [n, C, S, S] from the first config.
 */
export function augmentBatch(backend: Backend, batch: ImageBatch, rng: Random, cfg: ViewConfigs, views: ViewsPerImage = 2): Tensor {
  const params = drawAugmentParams(rng, batch.n, batch.height, batch.width, cfg, views);
  const size = perViewConfigs(cfg)[0].size;
  const shape = [views * batch.n, batch.channels, size, size];
  let storage: Storage;
  if (backend instanceof WebGpuBackend) storage = augmentGpu(backend, batch, params, cfg);
  else {
    const ref = augmentCpu(batch, params, cfg);
    // the CPU backend keeps float64 storage, so the reference's values pass through unrounded
    storage = backend instanceof CpuBackend ? backend.upload(ref) : backend.upload(Float32Array.from(ref));
  }
  return new Tensor(new StorageRef(backend, storage), shape, 'f32');
}

/**
 * Folders of PNG images: one subfolder per class (classes = sorted subfolder names, labels their
 * indices) or a flat folder of unlabeled images. Decoded with pngjs; grayscale images give 1
 * channel, RGB/RGBA 3 (alpha dropped), palette images by their colors.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { DataError } from './errors.js';
import { readBytes, type ImageDataset } from './dataset.js';
import { ArgumentError } from '../../engine/errors.js';

export type ResizeMode = 'nearest' | 'bilinear';

export interface ImageFolderOptions {
  /** Resize every image to this size; without it, images of different sizes are an error. */
  resize?: { height: number; width: number; mode?: ResizeMode };
  /** Force 1 (luma) or 3 channels; default 1 if every image is grayscale, else 3. */
  channels?: 1 | 3;
}

interface Decoded { file: string; rgba: Uint8Array; width: number; height: number; gray: boolean }

function listPngs(dir: string): string[] {
  return readdir(dir).filter((e) => /\.png$/i.test(e) && isFile(join(dir, e))).sort();
}

/** Entries of a folder, hidden ones (starting with '.') left out. */
function readdir(dir: string): string[] {
  try {
    return readdirSync(dir).filter((e) => !e.startsWith('.'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError(dir, 'folder not found');
    if (code === 'ENOTDIR') throw new DataError(dir, 'is a file, expected a folder');
    throw new DataError(dir, `cannot read folder (${(e as Error).message})`);
  }
}

function isFile(p: string): boolean { try { return statSync(p).isFile(); } catch { return false; } }
function isDir(p: string): boolean { try { return statSync(p).isDirectory(); } catch { return false; } }

/** Decode one PNG file to RGBA8; errors name the file. */
export function decodePng(file: string): Decoded {
  const bytes = readBytes(file);
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new DataError(file, `cannot decode PNG (${(e as Error).message})`);
  }
  const { width, height } = png;
  const data = png.data as Buffer;
  if (!width || !height || data.length < width * height * 4) {
    throw new DataError(file, `cannot decode PNG (bad dimensions ${width}x${height} or pixel data)`);
  }
  // colorType bit 1 = color (2 RGB, 3 palette, 6 RGBA); 0 and 4 are grayscale (with alpha).
  const gray = (png.colorType & 2) === 0;
  return { file, rgba: new Uint8Array(data.buffer, data.byteOffset, width * height * 4), width, height, gray };
}

/**
 * Read a folder of PNGs. With subfolders, each is a class (sorted by name) and only PNG files in
 * them are read; PNGs directly in the folder are then an error. Without subfolders, the folder's
 * PNGs are read unlabeled. Files are read in name order; hidden entries (names starting with '.')
 * are skipped.
 */
export function readImageFolder(dir: string, opts: ImageFolderOptions = {}): ImageDataset {
  if (opts.resize) {
    const { height, width } = opts.resize;
    if (!(Number.isInteger(height) && height > 0 && Number.isInteger(width) && width > 0)) {
      throw new ArgumentError('readImageFolder', `resize size must be positive integers, got ${height}x${width}`);
    }
  }
  const entries = readdir(dir).sort();
  const subdirs = entries.filter((e) => isDir(join(dir, e)));
  const topPngs = listPngs(dir);
  let files: string[];
  let labelOf: number[] | null = null;
  let classes: string[] | undefined;
  if (subdirs.length > 0) {
    if (topPngs.length > 0) {
      throw new DataError(dir, `holds both class subfolders (${subdirs.join(', ')}) and PNG files (${topPngs[0]}, ...); ` +
        'use one subfolder per class, or a flat folder of unlabeled images');
    }
    classes = subdirs;
    files = [];
    labelOf = [];
    subdirs.forEach((c, ci) => {
      for (const f of listPngs(join(dir, c))) { files.push(join(dir, c, f)); labelOf!.push(ci); }
    });
  } else {
    files = topPngs.map((f) => join(dir, f));
  }
  if (files.length === 0) throw new DataError(dir, 'no PNG images found');

  const decoded = files.map(decodePng);
  let height: number, width: number;
  if (opts.resize) {
    ({ height, width } = opts.resize);
  } else {
    ({ height, width } = decoded[0]);
    const odd = decoded.find((d) => d.height !== height || d.width !== width);
    if (odd) {
      throw new DataError(dir, `images differ in size: ${decoded[0].file} is ${width}x${height} but ${odd.file} is ` +
        `${odd.width}x${odd.height} (width x height); pass a resize option to read them at one size`);
    }
  }
  const channels = opts.channels ?? (decoded.every((d) => d.gray) ? 1 : 3);
  const size = channels * height * width;
  const images = new Uint8Array(decoded.length * size);
  decoded.forEach((d, i) => {
    let chw = rgbaToPlanar(d, channels);
    if (d.height !== height || d.width !== width) {
      chw = resizeImage(chw, channels, d.height, d.width, height, width, opts.resize?.mode ?? 'bilinear');
    }
    images.set(chw, i * size);
  });
  const out: ImageDataset = {
    images, labels: labelOf ? Int32Array.from(labelOf) : null, n: decoded.length, channels, height, width,
  };
  if (classes) out.classes = classes;
  return out;
}

function rgbaToPlanar(d: Decoded, channels: number): Uint8Array {
  const hw = d.width * d.height;
  const out = new Uint8Array(channels * hw);
  const px = d.rgba;
  if (channels === 3) {
    for (let i = 0; i < hw; i++) {
      out[i] = px[4 * i]; out[hw + i] = px[4 * i + 1]; out[2 * hw + i] = px[4 * i + 2];
    }
  } else if (d.gray) {
    for (let i = 0; i < hw; i++) out[i] = px[4 * i];
  } else {
    for (let i = 0; i < hw; i++) {
      out[i] = Math.round(0.299 * px[4 * i] + 0.587 * px[4 * i + 1] + 0.114 * px[4 * i + 2]);
    }
  }
  return out;
}

/**
 * Resize a channel-planar uint8 image (C x H x W) to C x outH x outW. 'nearest' picks the source
 * pixel whose area holds the output pixel's center; 'bilinear' interpolates with half-pixel
 * centers (PyTorch's align_corners=false), clamped at the borders, rounded to the nearest integer.
 */
export function resizeImage(src: Uint8Array, channels: number, height: number, width: number,
                            outH: number, outW: number, mode: ResizeMode = 'bilinear'): Uint8Array {
  if (src.length !== channels * height * width) {
    throw new ArgumentError('resizeImage', `source holds ${src.length} bytes, expected ${channels}x${height}x${width}`);
  }
  if (mode !== 'nearest' && mode !== 'bilinear') throw new ArgumentError('resizeImage', `unknown mode '${String(mode)}'`);
  const out = new Uint8Array(channels * outH * outW);
  const sy = height / outH, sx = width / outW;
  if (mode === 'nearest') {
    const xs = Array.from({ length: outW }, (_, x) => Math.min(width - 1, Math.floor((x + 0.5) * sx)));
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < outH; y++) {
        const row = c * height * width + Math.min(height - 1, Math.floor((y + 0.5) * sy)) * width;
        const o = (c * outH + y) * outW;
        for (let x = 0; x < outW; x++) out[o + x] = src[row + xs[x]];
      }
    }
    return out;
  }
  const coord = (i: number, scale: number, n: number): [number, number, number] => {
    const f = Math.min(Math.max((i + 0.5) * scale - 0.5, 0), n - 1);
    const i0 = Math.floor(f);
    return [i0, Math.min(i0 + 1, n - 1), f - i0];
  };
  const xc = Array.from({ length: outW }, (_, x) => coord(x, sx, width));
  for (let c = 0; c < channels; c++) {
    const base = c * height * width;
    for (let y = 0; y < outH; y++) {
      const [y0, y1, fy] = coord(y, sy, height);
      const r0 = base + y0 * width, r1 = base + y1 * width;
      const o = (c * outH + y) * outW;
      for (let x = 0; x < outW; x++) {
        const [x0, x1, fx] = xc[x];
        const top = src[r0 + x0] + (src[r0 + x1] - src[r0 + x0]) * fx;
        const bot = src[r1 + x0] + (src[r1 + x1] - src[r1 + x0]) * fx;
        out[o + x] = Math.round(top + (bot - top) * fy);
      }
    }
  }
  return out;
}

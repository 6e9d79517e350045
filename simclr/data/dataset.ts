/**
 * The in-memory image data set every reader returns, and file reading shared by the readers
 * (missing files, gzip) with errors that name the file.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DataError } from './errors.js';

/**
 * N images of C x H x W uint8 pixels, channel-planar (all of channel 0, then channel 1, ...) and
 * row-major within a channel, like CIFAR's records. `labels[i]` is the class of image i (0-based),
 * or `labels` is null for an unlabeled set.
 */
export interface ImageDataset {
  images: Uint8Array;
  labels: Int32Array | null;
  n: number;
  channels: number;
  height: number;
  width: number;
  classes?: string[];
}

/** Bytes of one image of the data set. */
export function imageSize(ds: Pick<ImageDataset, 'channels' | 'height' | 'width'>): number {
  return ds.channels * ds.height * ds.width;
}

/**
 * Read a whole file. Gzip data (by its magic bytes; a `.gz` name demands them) is decompressed.
 * Missing files, unreadable files and corrupt or truncated gzip streams throw DataError.
 */
export function readBytes(file: string): Uint8Array {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError(file, 'file not found');
    if (code === 'EISDIR') throw new DataError(file, 'is a directory, expected a file');
    throw new DataError(file, `cannot read file (${(e as Error).message})`);
  }
  const isGzip = raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b;
  if (!isGzip) {
    if (/\.gz$/i.test(file)) throw new DataError(file, 'named .gz but is not gzip data (no 1f 8b magic bytes)');
    return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  }
  try {
    const out = gunzipSync(raw);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    throw new DataError(file, `corrupt or truncated gzip data (${(e as Error).message})`);
  }
}

/** Class names from a text file, one per line (blank lines ignored), e.g. CIFAR's batches.meta.txt. */
export function readClassNames(file: string): string[] {
  const text = new TextDecoder().decode(readBytes(file));
  return text.split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0);
}

/** Concatenate data sets of one image shape (labels kept only if every part has them). */
export function concatDatasets(parts: readonly ImageDataset[]): ImageDataset {
  if (parts.length === 0) throw new DataError(null, 'concatDatasets: no data sets given');
  const { channels, height, width } = parts[0];
  const size = channels * height * width;
  let n = 0;
  for (const p of parts) {
    if (p.channels !== channels || p.height !== height || p.width !== width) {
      throw new DataError(null, `concatDatasets: image shapes differ: ${channels}x${height}x${width} vs ${p.channels}x${p.height}x${p.width}`);
    }
    n += p.n;
  }
  const images = new Uint8Array(n * size);
  const labeled = parts.every((p) => p.labels !== null);
  const labels = labeled ? new Int32Array(n) : null;
  let at = 0;
  for (const p of parts) {
    images.set(p.images.subarray(0, p.n * size), at * size);
    if (labels) labels.set(p.labels!.subarray(0, p.n), at);
    at += p.n;
  }
  const out: ImageDataset = { images, labels, n, channels, height, width };
  if (parts[0].classes) out.classes = parts[0].classes;
  return out;
}

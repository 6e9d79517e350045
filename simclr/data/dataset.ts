/**
 * The in-memory image data set every reader returns, and file reading shared by the readers
 * (missing files, gzip) with errors that name the file.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DataError } from './errors.js';
import type { ImageDataset } from './image-set.js';

export { type ImageDataset, imageSize, labelCounts } from './image-set.js';

/**
 * Read a whole file. A file named `.gz` must be gzip data and is decompressed; another file that
 * starts with gzip's magic bytes is decompressed if it is valid gzip, else taken as it is (raw
 * pixel data may start with 1f 8b by chance). Missing files, unreadable files and corrupt or
 * truncated `.gz` files throw DataError.
 */
export function readBytes(file: string): Uint8Array {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (e) {
    throw fileError(file, e);
  }
  const named = /\.gz$/i.test(file);
  const isGzip = raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b;
  const asIs = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  if (!isGzip) {
    if (named) throw new DataError(file, 'named .gz but is not gzip data (no 1f 8b magic bytes)');
    return asIs;
  }
  try {
    const out = gunzipSync(raw);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    if (!named) return asIs;
    throw new DataError(file, `corrupt or truncated gzip data (${(e as Error).message})`);
  }
}

function fileError(file: string, e: unknown): DataError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new DataError(file, 'file not found');
  if (code === 'EISDIR') return new DataError(file, 'is a directory, expected a file');
  return new DataError(file, `cannot read file (${(e as Error).message})`);
}

/** A range of records: the first `start` are skipped, then `count` (default: all the rest) read. */
export interface RecordRange { start?: number; count?: number }

/**
 * Records [start, start + count) of a file of fixed-size records. The whole file must be a whole
 * number of records (`what` names the record in the error). Plain files are read by range, so files
 * over 2 GiB (STL-10's unlabeled_X.bin) work; gzip files are decompressed whole.
 */
export function readRecords(file: string, recordSize: number, what: string, range: RecordRange = {}):
    { data: Uint8Array; total: number; start: number; count: number } {
  let fd: number;
  try { fd = openSync(file, 'r'); } catch (e) { throw fileError(file, e); }
  let whole: Uint8Array | null = null;
  let size: number;
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new DataError(file, 'is a directory, expected a file');
    const head = Buffer.alloc(2);
    const got = readSync(fd, head, 0, 2, 0);
    const magic = got === 2 && head[0] === 0x1f && head[1] === 0x8b;
    if (/\.gz$/i.test(file) || (magic && st.size < 2 ** 31)) {
      whole = readBytes(file);
      size = whole.length;
    } else {
      size = st.size;
    }
    if (size === 0) throw new DataError(file, 'file is empty');
    if (size % recordSize !== 0) {
      throw new DataError(file, `size ${size} is not a multiple of the ${recordSize}-byte ${what} ` +
        `(${Math.floor(size / recordSize)} whole records and ${size % recordSize} bytes of a truncated one)`);
    }
    const total = size / recordSize;
    const start = range.start ?? 0;
    const count = range.count ?? total - start;
    if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > total) {
      throw new DataError(file, `asks for records ${start}..${start + count - 1} but the file holds ${total} (0..${total - 1})`);
    }
    if (whole) return { data: whole.subarray(start * recordSize, (start + count) * recordSize), total, start, count };
    const data = new Uint8Array(count * recordSize);
    const CHUNK = 1 << 30;
    for (let done = 0; done < data.length;) {
      const n = readSync(fd, data, done, Math.min(CHUNK, data.length - done), start * recordSize + done);
      if (n <= 0) throw new DataError(file, `file ended early at byte ${start * recordSize + done}`);
      done += n;
    }
    return { data, total, start, count };
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw fileError(file, e);
  } finally {
    closeSync(fd);
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

/**
 * `openSplits(data, testData, format)`: the one place that turns the CLI's `--data`, `--test-data`
 * and `--format` into the data sets training and evaluation need: images for contrastive
 * pre-training, the labelled training split (kNN bank, linear-eval training set) and the labelled
 * held-out split.
 *
 * Formats:
 *  - cifar10 / cifar100: `data` is a list of binary batch files (.bin or .bin.gz); pretrain =
 *    labelledTrain = them; test = the `testData` file, or null.
 *  - stl10: `data[0]` is the directory of the official binary files (train_X.bin, train_y.bin,
 *    test_X.bin, test_y.bin, unlabeled_X.bin, each optionally .gz; a `stl10_binary/` subdirectory
 *    is entered); whatever exists is used: pretrain = unlabeled + train images, labelledTrain =
 *    train, test = test (`testData`, when given, is a directory searched for test_X.bin instead).
 *  - idx (MNIST / Fashion-MNIST): `data[0]` is a directory with train-images-idx3-ubyte[.gz],
 *    train-labels-idx1-ubyte[.gz] and t10k-images / t10k-labels (test; `testData`, when given, is
 *    a directory searched for the t10k files instead). Class names are Fashion-MNIST's when the path
 *    says "fashion", else the digits.
 *  - folder: `data[0]` is a directory of class subfolders of PNGs (labelled), a flat folder of PNGs
 *    (unlabeled), or a directory with `train/` and `test/` subdirectories of either kind;
 *    `testData` (a folder) overrides `test/`.
 *  - auto: decided from the names: a directory with train_X.bin / unlabeled_X.bin is stl10, one
 *    with train-images-idx3-ubyte is idx, one with PNGs (directly, in subfolders or in train/) is
 *    folder; files are CIFAR binaries: by the record size of the first file (whole 3073-byte records
 *    CIFAR-10, 3074-byte CIFAR-100; the gzip trailer gives the size of .gz files), and when both fit
 *    by name (data_batch* / test_batch* CIFAR-10, train.bin / test.bin CIFAR-100).
 *
 * One-channel images (idx files, grayscale PNGs) are replicated to 3 identical channels at load.
 * augment.ts and resnet.ts could run 1-channel end to end (1-channel views; ResNet `inChannels`),
 * but replicating keeps every encoder 3-channel, so checkpoints and exported weights load into a
 * stock torchvision ResNet and evaluation code never branches on channels; the augmentations give
 * the same result (saturation and hue leave gray pixels gray, grayscale is the identity), and the
 * cost is only the first conv's 3x input and 3x the host memory of 28x28 images.
 */
import { closeSync, fstatSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FASHION_MNIST_CLASSES, MNIST_CLASSES, readCifar10, readCifar100, readIdx, readStl10 } from './binary.js';
import type { ImageDataset } from './dataset.js';
import { DataError } from './errors.js';
import { readImageFolder } from './png.js';

import { DATA_FORMATS, type DataFormat } from './formats.js';

export { DATA_FORMATS, type DataFormat };

export interface DataSplits {
  format: Exclude<DataFormat, 'auto'>;
  /** images for contrastive pre-training (labels not needed) */
  pretrain: ImageDataset;
  /** labelled training images: the kNN bank, linear-eval training set (null if the data has no labels) */
  labelledTrain: ImageDataset | null;
  /** labelled held-out images (null if none given/found) */
  test: ImageDataset | null;
  classes: string[] | null;
  /** one line for logs, e.g. "cifar10: 8068 train / 1017 test, 32x32x3" */
  description: string;
}

const LOOKED_FOR = 'CIFAR-10/100 binary batch files (*.bin, *.bin.gz), a directory with STL-10 binaries ' +
  '(train_X.bin, unlabeled_X.bin), a directory with idx files (train-images-idx3-ubyte[.gz]) or a directory of PNG ' +
  'images (<dir>/<class>/*.png, <dir>/*.png or <dir>/train/...)';

function isDir(p: string): boolean { try { return statSync(p).isDirectory(); } catch { return false; } }
function isFile(p: string): boolean { try { return statSync(p).isFile(); } catch { return false; } }
function list(dir: string): string[] { try { return readdirSync(dir).filter((e) => !e.startsWith('.')); } catch { return []; } }

/** `<dir>/<name>` or `<dir>/<name>.gz`, whichever exists, else null. */
function findFile(dir: string, name: string): string | null {
  for (const n of [name, `${name}.gz`]) if (isFile(join(dir, n))) return join(dir, n);
  return null;
}

function stlDir(dir: string): string {
  return !findFile(dir, 'train_X.bin') && !findFile(dir, 'unlabeled_X.bin') && isDir(join(dir, 'stl10_binary'))
    ? join(dir, 'stl10_binary') : dir;
}

function hasPngs(dir: string, depth: number): boolean {
  for (const e of list(dir)) {
    const p = join(dir, e);
    if (/\.png$/i.test(e) && isFile(p)) return true;
    if (depth > 0 && isDir(p) && hasPngs(p, depth - 1)) return true;
  }
  return false;
}

/** Uncompressed size of a file: its size, or for gzip the trailer's ISIZE (size mod 2^32). */
function payloadSize(file: string): number | null {
  let fd: number;
  try { fd = openSync(file, 'r'); } catch { return null; }
  try {
    const size = fstatSync(fd).size;
    if (!/\.gz$/i.test(file)) return size;
    if (size < 18) return null;
    const b = Buffer.alloc(4);
    readSync(fd, b, 0, 4, size - 4);
    return b.readUInt32LE(0);
  } finally {
    closeSync(fd);
  }
}

/** The format of `data` (see the file comment); throws a DataError naming what it looked for. */
export function detectFormat(data: readonly string[]): Exclude<DataFormat, 'auto'> {
  if (data.length === 0) throw new DataError(null, `no data given; expected ${LOOKED_FOR}`);
  const first = data[0];
  if (isDir(first)) {
    const stl = stlDir(first);
    if (findFile(stl, 'train_X.bin') || findFile(stl, 'unlabeled_X.bin')) return 'stl10';
    if (findFile(first, 'train-images-idx3-ubyte')) return 'idx';
    if (hasPngs(first, 2)) return 'folder';
    const seen = list(first);
    throw new DataError(first, `cannot detect the data format of this directory (it holds ${seen.length === 0 ? 'nothing' : seen.slice(0, 8).join(', ') + (seen.length > 8 ? ', ...' : '')}); ` +
      `looked for ${LOOKED_FOR}; pass --format`);
  }
  if (!isFile(first)) throw new DataError(first, `not found (looked for ${LOOKED_FOR})`);
  const name = basename(first).toLowerCase();
  if (/(idx3|idx1)-ubyte/.test(name)) {
    throw new DataError(first, 'is an idx file; pass the directory that holds train-images-idx3-ubyte[.gz] and its label/t10k files');
  }
  if (!/\.bin(\.gz)?$/.test(name)) {
    throw new DataError(first, `cannot detect the data format from this file name; looked for ${LOOKED_FOR}; pass --format`);
  }
  const size = payloadSize(first);
  if (size !== null && size > 0) {
    const c10 = size % 3073 === 0, c100 = size % 3074 === 0;
    if (c10 && !c100) return 'cifar10';
    if (c100 && !c10) return 'cifar100';
  }
  if (/^(data_batch|test_batch)/.test(name)) return 'cifar10';
  if (/^(train|test)\.bin/.test(name)) return 'cifar100';
  throw new DataError(first, 'a .bin file that is neither sized as whole 3073-byte (CIFAR-10) or 3074-byte (CIFAR-100) records only nor ' +
    'named like CIFAR-10 (data_batch*, test_batch*) or CIFAR-100 (train.bin, test.bin); pass --format cifar10 or cifar100');
}

/** A 1-channel data set as 3 identical channels (same object when it has 3 already). */
export function toThreeChannels(ds: ImageDataset): ImageDataset {
  if (ds.channels === 3) return ds;
  if (ds.channels !== 1) throw new DataError(null, `images with ${ds.channels} channels are not supported (1 or 3)`);
  const hw = ds.height * ds.width;
  const images = new Uint8Array(ds.n * 3 * hw);
  for (let i = 0; i < ds.n; i++) {
    const src = ds.images.subarray(i * hw, (i + 1) * hw);
    for (let c = 0; c < 3; c++) images.set(src, (3 * i + c) * hw);
  }
  return { ...ds, images, channels: 3 };
}

function sameShape(a: ImageDataset, b: ImageDataset, what: string): void {
  if (a.channels !== b.channels || a.height !== b.height || a.width !== b.width) {
    throw new DataError(what, `images are ${b.height}x${b.width}x${b.channels} but the training images are ${a.height}x${a.width}x${a.channels}`);
  }
}

/** All images of STL-10's unlabeled and train files in one buffer; plain files are read by ranges. */
function stlPretrain(unlabeled: string | null, trainX: string | null): { ds: ImageDataset; parts: string } {
  const per = 3 * 96 * 96;
  const sources = [unlabeled, trainX].filter((f): f is string => f !== null);
  // gzip files are decompressed whole (once); plain ones counted from their size and read 10,000 images at a time
  const whole = sources.map((f) => /\.gz$/i.test(f) ? readStl10(f) : null);
  const counts = sources.map((f, i) => whole[i]?.n ?? Math.floor((payloadSize(f) ?? 0) / per));
  const n = counts.reduce((a, b) => a + b, 0);
  const images = new Uint8Array(n * per);
  let at = 0;
  const CHUNK = 10000;
  sources.forEach((f, si) => {
    const w = whole[si];
    if (w) { images.set(w.images, at * per); at += w.n; return; }
    if (counts[si] === 0) readStl10(f); // throws the reader's error (empty file, partial record)
    for (let s = 0; s < counts[si]; s += CHUNK) {
      const part = readStl10(f, null, { start: s, count: Math.min(CHUNK, counts[si] - s) });
      images.set(part.images, at * per);
      at += part.n;
    }
  });
  const parts = sources.map((f, i) => `${counts[i]} ${f === unlabeled ? 'unlabeled' : 'train'}`).join(' + ');
  return { ds: { images, labels: null, n, channels: 3, height: 96, width: 96 }, parts };
}

function openStl10(dir: string, testDir: string | null) {
  const d = stlDir(dir);
  const trainX = findFile(d, 'train_X.bin'), trainY = findFile(d, 'train_y.bin'), unl = findFile(d, 'unlabeled_X.bin');
  if (!trainX && !unl) throw new DataError(d, 'holds neither train_X.bin nor unlabeled_X.bin (STL-10 binary files, optionally .gz)');
  const labelledTrain = trainX && trainY ? readStl10(trainX, trainY) : null;
  const { ds: pretrain, parts } = stlPretrain(unl, trainX);
  const td = testDir === null ? d : stlDir(testDir);
  const testX = findFile(td, 'test_X.bin'), testY = findFile(td, 'test_y.bin');
  if (testDir !== null && !(testX && testY)) throw new DataError(testDir, 'holds no test_X.bin + test_y.bin (STL-10 test split)');
  const test = testX && testY ? readStl10(testX, testY) : null;
  return { pretrain, labelledTrain, test, parts };
}

function openIdx(dir: string, testDir: string | null) {
  if (!isDir(dir)) throw new DataError(dir, 'idx data must be a directory holding train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]');
  const classes = /fashion/i.test(dir) ? FASHION_MNIST_CLASSES.slice() : MNIST_CLASSES.slice();
  const images = findFile(dir, 'train-images-idx3-ubyte');
  if (!images) throw new DataError(dir, 'holds no train-images-idx3-ubyte[.gz]');
  const labels = findFile(dir, 'train-labels-idx1-ubyte');
  const train = toThreeChannels(readIdx(images, labels, { classes }));
  const td = testDir ?? dir;
  const ti = findFile(td, 't10k-images-idx3-ubyte'), tl = findFile(td, 't10k-labels-idx1-ubyte');
  if (testDir !== null && !(ti && tl)) throw new DataError(testDir, 'holds no t10k-images-idx3-ubyte[.gz] + t10k-labels-idx1-ubyte[.gz]');
  const test = ti && tl ? toThreeChannels(readIdx(ti, tl, { classes })) : null;
  return { pretrain: train, labelledTrain: train.labels ? train : null, test };
}

function openFolder(dir: string, testDir: string | null) {
  if (!isDir(dir)) throw new DataError(dir, 'folder data must be a directory of PNGs or of class subfolders of PNGs');
  const split = isDir(join(dir, 'train'));
  const train = toThreeChannels(readImageFolder(split ? join(dir, 'train') : dir, { channels: 3 }));
  const td = testDir ?? (split && isDir(join(dir, 'test')) ? join(dir, 'test') : null);
  let test: ImageDataset | null = null;
  if (td !== null) {
    test = readImageFolder(td, { channels: 3 });
    if (!test.labels) throw new DataError(td, 'test images must be labelled (one subfolder per class)');
    if (train.classes && test.classes && train.classes.join('\n') !== test.classes.join('\n')) {
      throw new DataError(td, `class folders (${test.classes.join(', ')}) differ from the training ones (${train.classes.join(', ')})`);
    }
  }
  return { pretrain: train, labelledTrain: train.labels ? train : null, test };
}

function openCifar(format: 'cifar10' | 'cifar100', data: readonly string[], testData: string | null) {
  const read = (f: string | readonly string[]) => format === 'cifar10' ? readCifar10(f) : readCifar100(f);
  for (const f of data) if (isDir(f)) throw new DataError(f, `is a directory; ${format} data are binary batch files (.bin or .bin.gz)`);
  const train = read(data);
  const test = testData === null ? null : read(testData);
  return { pretrain: train, labelledTrain: train, test };
}

/** Opens the data sets of `--data` / `--test-data` / `--format` (see the file comment). */
export function openSplits(data: readonly string[], testData: string | null, format: DataFormat = 'auto'): DataSplits {
  if (!DATA_FORMATS.includes(format)) throw new DataError(null, `unknown data format '${String(format)}' (one of ${DATA_FORMATS.join(', ')})`);
  if (data.length === 0) throw new DataError(null, `no data given; expected ${LOOKED_FOR}`);
  const fmt = format === 'auto' ? detectFormat(data) : format;
  if (fmt !== 'cifar10' && fmt !== 'cifar100' && data.length > 1) {
    throw new DataError(data[1], `${fmt} data is one directory, got ${data.length} paths`);
  }
  let r: { pretrain: ImageDataset; labelledTrain: ImageDataset | null; test: ImageDataset | null; parts?: string };
  if (fmt === 'cifar10' || fmt === 'cifar100') r = openCifar(fmt, data, testData);
  else if (fmt === 'stl10') r = openStl10(data[0], testData);
  else if (fmt === 'idx') r = openIdx(data[0], testData);
  else r = openFolder(data[0], testData);
  const { pretrain, labelledTrain, test } = r;
  if (labelledTrain) sameShape(pretrain, labelledTrain, 'labelled training set');
  if (test) sameShape(pretrain, test, testData ?? 'test split');
  const classes = labelledTrain?.classes ?? test?.classes ?? pretrain.classes ?? null;
  const shape = `${pretrain.height}x${pretrain.width}x${pretrain.channels}`;
  const trainPart = r.parts ? `${pretrain.n} pretrain (${r.parts})` :
    labelledTrain === pretrain ? `${pretrain.n} train` : `${pretrain.n} train${labelledTrain ? '' : ' (unlabelled)'}`;
  const testPart = test ? `${test.n} test` : 'no test';
  const description = `${fmt}: ${trainPart} / ${testPart}, ${shape}` + (classes ? `, ${classes.length} classes` : '');
  return { format: fmt, pretrain, labelledTrain, test, classes, description };
}

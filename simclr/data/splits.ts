/**
 * `openSplits(data, testData, format)`: the one place that turns the CLI's `--data`, `--test-data`
 * and `--format` into the data sets training and evaluation need: images for contrastive
 * pre-training, the labelled training split (kNN bank, linear-eval training set) and the labelled
 * held-out split.
 *
 * Formats:
 *  - cifar10 / cifar100: `data` is a list of binary batch files (.bin or .bin.gz), or one directory
 *    as the official archives unpack (cifar-10-batches-bin/: data_batch_1.bin .. data_batch_5.bin,
 *    test_batch.bin, batches.meta.txt; cifar-100-binary/: train.bin, test.bin, fine_label_names.txt;
 *    the folder is entered from its parent; other file-name suffixes before .bin are allowed, as in
 *    data/cifar10-demo). pretrain = labelledTrain = the training files; test = `testData` (a file, or
 *    a directory searched for the test batch), else the directory's test batch, else null. Class
 *    names come from batches.meta.txt / fine_label_names.txt when present.
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
 *    with train-images-idx3-ubyte is idx, one with data_batch*.bin or train.bin (directly or in
 *    cifar-10-batches-bin/ / cifar-100-binary/) CIFAR-10 / CIFAR-100, one with PNGs (directly, in
 *    subfolders or in train/) is folder; files are CIFAR binaries: by the record size of the first
 *    file (whole 3073-byte records CIFAR-10, 3074-byte CIFAR-100; the gzip trailer gives the size of
 *    .gz files), and when both fit by name (data_batch* / test_batch* CIFAR-10, train.bin / test.bin
 *    CIFAR-100). When the size decided against the name, or the name decided, `notes` says which
 *    format was guessed and why, and a reader error that follows carries the same explanation.
 *
 * `notes` also warns when a labelled split holds a single class or has classes without images.
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
import { labelCounts, readClassNames, type ImageDataset } from './dataset.js';
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
  /** warnings for the user: a format guessed from a file size, a single class, classes without images */
  notes: string[];
}

const LOOKED_FOR = 'CIFAR-10/100 binary batch files (*.bin, *.bin.gz) or their directory (data_batch_1.bin ..., test_batch.bin; ' +
  'train.bin, test.bin), a directory with STL-10 binaries ' +
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

type CifarFormat = 'cifar10' | 'cifar100';
const CIFAR_SUBDIRS = ['cifar-10-batches-bin', 'cifar-100-binary'];
const CIFAR_FILES: Record<CifarFormat, { train: RegExp; test: RegExp; names: string; classes: string; count: number }> = {
  cifar10: { train: /^data_batch.*\.bin(\.gz)?$/i, test: /^test_batch.*\.bin(\.gz)?$/i, names: 'data_batch_*.bin, test_batch.bin', classes: 'batches.meta.txt', count: 10 },
  cifar100: { train: /^train(\.[^_]*)?\.bin(\.gz)?$/i, test: /^test(\.[^_]*)?\.bin(\.gz)?$/i, names: 'train.bin, test.bin', classes: 'fine_label_names.txt', count: 100 },
};

interface CifarFolder { dir: string; train: string[]; test: string[]; classes: string[] | null }

/**
 * The CIFAR files of `format` in `dir` or in the archive's folder inside it (cifar-10-batches-bin/,
 * cifar-100-binary/), in natural order (data_batch_2 before data_batch_10); null if it has no
 * training file. Class names from the folder's names file when it has one.
 */
function cifarFolder(dir: string, format: CifarFormat): CifarFolder | null {
  const f = CIFAR_FILES[format];
  for (const d of [dir, ...CIFAR_SUBDIRS.map((s) => join(dir, s))]) {
    const names = list(d).filter((e) => isFile(join(d, e))).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    const train = names.filter((e) => f.train.test(e)).map((e) => join(d, e));
    if (train.length === 0) continue;
    const test = names.filter((e) => f.test.test(e)).map((e) => join(d, e));
    const classFile = findFile(d, f.classes);
    let classes: string[] | null = null;
    if (classFile) {
      classes = readClassNames(classFile);
      if (classes.length !== f.count) throw new DataError(classFile, `holds ${classes.length} class names, expected ${f.count} for ${format}`);
    }
    return { dir: d, train, test, classes };
  }
  return null;
}

/** 'a.bin', 'a.bin, b.bin' or 'a.bin .. e.bin (5 files)'. */
function fileNames(files: readonly string[]): string {
  const n = files.map((f) => basename(f));
  return n.length <= 2 ? n.join(', ') : `${n[0]} .. ${n[n.length - 1]} (${n.length} files)`;
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

/** A detected format and, when it was a guess (size against name, or name alone), why. */
interface Detected { format: Exclude<DataFormat, 'auto'>; guess: string | null }

/** The format of `data` (see the file comment); throws a DataError naming what it looked for. */
export function detectFormat(data: readonly string[]): Exclude<DataFormat, 'auto'> {
  return detect(data).format;
}

function detect(data: readonly string[]): Detected {
  const sure = (format: Exclude<DataFormat, 'auto'>): Detected => ({ format, guess: null });
  if (data.length === 0) throw new DataError(null, `no data given; expected ${LOOKED_FOR}`);
  const first = data[0];
  if (isDir(first)) {
    const stl = stlDir(first);
    if (findFile(stl, 'train_X.bin') || findFile(stl, 'unlabeled_X.bin')) return sure('stl10');
    if (findFile(first, 'train-images-idx3-ubyte')) return sure('idx');
    if (cifarFolder(first, 'cifar10')) return sure('cifar10');
    if (cifarFolder(first, 'cifar100')) return sure('cifar100');
    if (hasPngs(first, 2)) return sure('folder');
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
  const byName: CifarFormat | null = /^(data_batch|test_batch)/.test(name) ? 'cifar10' : /^(train|test)\.bin/.test(name) ? 'cifar100' : null;
  const label = (f: CifarFormat) => (f === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100');
  if (size !== null && size > 0) {
    const c10 = size % 3073 === 0, c100 = size % 3074 === 0;
    const bySize: CifarFormat | null = c10 && !c100 ? 'cifar10' : c100 && !c10 ? 'cifar100' : null;
    if (bySize !== null) {
      const [rec, other] = bySize === 'cifar10' ? [3073, 3074] : [3074, 3073];
      const why = `${basename(first)} holds ${size} bytes, a whole number of ${rec}-byte ${label(bySize)} records but not of ${other}-byte ones`;
      if (byName === bySize) return sure(bySize);
      return {
        format: bySize,
        guess: `the format was guessed as ${bySize} from the size: ${why}` +
          (byName ? ` (the name looks like ${label(byName)}; a truncated ${label(byName)} file can have this size)` : '') +
          `; pass --format cifar10 or cifar100 if that is wrong`,
      };
    }
    if (byName !== null && c10 && c100) {
      return { format: byName, guess: `the format was guessed as ${byName} from the name ${basename(first)}: its size fits whole records of both CIFAR-10 and CIFAR-100; pass --format if that is wrong` };
    }
  }
  if (byName !== null) return sure(byName);
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

function openCifar(format: CifarFormat, data: readonly string[], testData: string | null) {
  const names = CIFAR_FILES[format].names;
  const folderOf = (dir: string, what: 'train' | 'test') => {
    const c = cifarFolder(dir, format);
    if (!c || c[what].length === 0) {
      const seen = list(dir);
      throw new DataError(dir, `holds no ${format} ${what === 'train' ? 'training' : 'test'} files (${names}, optionally .gz; ` +
        `also looked in ${CIFAR_SUBDIRS.join('/, ')}/); it holds ${seen.length === 0 ? 'nothing' : seen.slice(0, 8).join(', ') + (seen.length > 8 ? ', ...' : '')}`);
    }
    return c;
  };
  let trainFiles: readonly string[] = data, folder: CifarFolder | null = null;
  if (data.length === 1 && isDir(data[0])) {
    folder = folderOf(data[0], 'train');
    trainFiles = folder.train;
  } else {
    for (const f of data) if (isDir(f)) throw new DataError(f, `is a directory; pass it alone, or ${format} binary batch files (.bin or .bin.gz)`);
  }
  const testFiles = testData === null ? folder?.test ?? [] : isDir(testData) ? folderOf(testData, 'test').test : [testData];
  const classes = folder?.classes ?? (testData !== null && isDir(testData) ? cifarFolder(testData, format)?.classes : null) ?? null;
  const read = (f: readonly string[]) => {
    const ds = format === 'cifar10' ? readCifar10(f) : readCifar100(f);
    if (classes) ds.classes = classes;
    return ds;
  };
  const train = read(trainFiles);
  const test = testFiles.length === 0 ? null : read(testFiles);
  // what was found, when a directory was searched
  const from = (files: readonly string[]) => ` (${fileNames(files)})`;
  return {
    pretrain: train, labelledTrain: train, test,
    trainFrom: folder ? ` (${fileNames(trainFiles)} in ${folder.dir})` : '',
    testFrom: test && (folder || (testData !== null && isDir(testData))) ? from(testFiles) : '',
  };
}

/** Warnings for a labelled split with a single class or with classes that have no images. */
function classNotes(what: string, ds: ImageDataset | null, classes: string[] | null, numClasses: number): string[] {
  if (!ds?.labels || ds.n === 0) return [];
  const counts = labelCounts(ds.labels, numClasses);
  const name = (c: number) => classes?.[c] ?? String(c);
  const present = counts.flatMap((n, c) => (n > 0 ? [c] : []));
  if (present.length === 1) {
    return [`the ${what} holds a single class (${name(present[0])}): kNN and linear accuracy would be 100 % by construction; evaluation needs at least 2 classes`];
  }
  const empty = counts.flatMap((n, c) => (n === 0 ? [c] : []));
  if (empty.length === 0) return [];
  const shown = empty.slice(0, 10).map(name).join(', ') + (empty.length > 10 ? ', ...' : '');
  return [`the ${what} has no images of ${empty.length} of its ${numClasses} classes (${shown})`];
}

/** Opens the data sets of `--data` / `--test-data` / `--format` (see the file comment). */
export function openSplits(data: readonly string[], testData: string | null, format: DataFormat = 'auto'): DataSplits {
  if (!DATA_FORMATS.includes(format)) throw new DataError(null, `unknown data format '${String(format)}' (one of ${DATA_FORMATS.join(', ')})`);
  if (data.length === 0) throw new DataError(null, `no data given; expected ${LOOKED_FOR}`);
  const { format: fmt, guess } = format === 'auto' ? detect(data) : { format, guess: null };
  if (fmt !== 'cifar10' && fmt !== 'cifar100' && data.length > 1) {
    throw new DataError(data[1], `${fmt} data is one directory, got ${data.length} paths`);
  }
  let r: { pretrain: ImageDataset; labelledTrain: ImageDataset | null; test: ImageDataset | null; parts?: string; trainFrom?: string; testFrom?: string };
  try {
    if (fmt === 'cifar10' || fmt === 'cifar100') r = openCifar(fmt, data, testData);
    else if (fmt === 'stl10') r = openStl10(data[0], testData);
    else if (fmt === 'idx') r = openIdx(data[0], testData);
    else r = openFolder(data[0], testData);
  } catch (e) {
    if (guess !== null && e instanceof DataError) throw new DataError(e.file, `${e.detail} (${guess})`);
    throw e;
  }
  const { pretrain, labelledTrain, test } = r;
  if (labelledTrain) sameShape(pretrain, labelledTrain, 'labelled training set');
  if (test) sameShape(pretrain, test, testData ?? 'test split');
  const classes = labelledTrain?.classes ?? test?.classes ?? pretrain.classes ?? null;
  const shape = `${pretrain.height}x${pretrain.width}x${pretrain.channels}`;
  const trainPart = r.parts ? `${pretrain.n} pretrain (${r.parts})` :
    labelledTrain === pretrain ? `${pretrain.n} train${r.trainFrom ?? ''}` : `${pretrain.n} train${labelledTrain ? '' : ' (unlabelled)'}`;
  const testPart = test ? `${test.n} test${r.testFrom ?? ''}` : 'no test';
  const description = `${fmt}: ${trainPart} / ${testPart}, ${shape}` + (classes ? `, ${classes.length} classes` : '');
  const labelled = [labelledTrain, test].filter((d): d is ImageDataset => d?.labels != null);
  const numClasses = classes?.length ?? (fmt === 'cifar100' ? 100 : 1 + Math.max(0, ...labelled.map((d) => d.labels!.reduce((m, v) => Math.max(m, v), 0))));
  const notes = [
    ...(guess === null ? [] : [guess]),
    ...classNotes('labelled training split', labelledTrain, classes, numClasses),
    ...classNotes('test split', test, classes, numClasses),
  ];
  return { format: fmt, pretrain, labelledTrain, test, classes, description, notes };
}

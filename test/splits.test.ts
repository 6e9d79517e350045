/**
 * openSplits (simclr/data/splits.ts): every format from tiny fixture files in a temporary directory
 * (CIFAR-10/100 plain and gzip, STL-10 binaries, idx files, PNG class folders), auto-detection,
 * 1-channel images replicated to 3 channels, the error messages; and the installed Fashion-MNIST.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError } from '../simclr/data/errors.js';
import { detectFormat, openSplits, toThreeChannels } from '../simclr/data/splits.js';

let dir = '';
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'simclr-splits-')); });
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

function write(name: string, bytes: Uint8Array, gz = false): string {
  const p = join(dir, name);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, gz ? gzipSync(bytes) : bytes);
  return p;
}
function mkdir(name: string): string { const p = join(dir, name); mkdirSync(p, { recursive: true }); return p; }

function expectDataError(fn: () => unknown, ...fragments: (string | RegExp)[]): void {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, 'expected a DataError').toBeInstanceOf(DataError);
  const msg = (err as Error).message;
  for (const f of fragments) {
    if (typeof f === 'string') expect(msg).toContain(f); else expect(msg).toMatch(f);
  }
}

/** n CIFAR records with `labelBytes` label bytes (label i % 10), pixel k of record i = (i + k) & 255. */
function cifar(n: number, labelBytes = 1): Uint8Array {
  const rec = labelBytes + 3072;
  const out = new Uint8Array(n * rec);
  for (let i = 0; i < n; i++) {
    out.fill(i % 10, i * rec, i * rec + labelBytes);
    for (let k = 0; k < 3072; k++) out[i * rec + labelBytes + k] = (i + k) & 255;
  }
  return out;
}

function stlImages(n: number, seed = 0): Uint8Array {
  const out = new Uint8Array(n * 3 * 96 * 96);
  for (let k = 0; k < out.length; k++) out[k] = (k * 7 + seed) & 255;
  return out;
}
const stlLabels = (n: number) => Uint8Array.from({ length: n }, (_, i) => 1 + (i % 10));

function idxImages(n: number, rows: number, cols: number): Uint8Array {
  const out = new Uint8Array(16 + n * rows * cols);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 2051); dv.setUint32(4, n); dv.setUint32(8, rows); dv.setUint32(12, cols);
  for (let k = 0; k < n * rows * cols; k++) out[16 + k] = (k * 5) & 255;
  return out;
}
function idxLabels(n: number): Uint8Array {
  const out = new Uint8Array(8 + n);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 2049); dv.setUint32(4, n);
  for (let i = 0; i < n; i++) out[8 + i] = i % 10;
  return out;
}

function writePng(name: string, w: number, h: number, colorType: 0 | 2, v: number): string {
  const png = new PNG({ width: w, height: h });
  for (let k = 0; k < w * h; k++) png.data.set([v, colorType === 0 ? v : 255 - v, colorType === 0 ? v : 7, 255], k * 4);
  return write(name, new Uint8Array(PNG.sync.write(png, { colorType })));
}

describe('openSplits: CIFAR', () => {
  it('cifar10 files (plain and gzip): pretrain = labelledTrain = the files, test = --test-data', () => {
    const a = write('c10/data_batch_1.bin', cifar(5));
    const b = write('c10/data_batch_2.bin.gz', cifar(3), true);
    const t = write('c10/test_batch.bin', cifar(4));
    const s = openSplits([a, b], t);
    expect(s.format).toBe('cifar10');
    expect(s.pretrain.n).toBe(8);
    expect(s.labelledTrain).toBe(s.pretrain);
    expect(s.test!.n).toBe(4);
    expect([...s.test!.labels!]).toEqual([0, 1, 2, 3]);
    expect(s.classes![0]).toBe('airplane');
    expect(s.description).toBe('cifar10: 8 train / 4 test, 32x32x3, 10 classes');
    const noTest = openSplits([a], null, 'cifar10');
    expect(noTest.test).toBeNull();
    expect(noTest.description).toContain('no test');
  });

  it('cifar100 by name (train.bin) and by record size; cifar10 by record size', () => {
    const tr = write('c100/train.bin', cifar(3, 2));
    expect(detectFormat([tr])).toBe('cifar100');
    const s = openSplits([tr], null);
    expect(s.format).toBe('cifar100');
    expect(s.pretrain.n).toBe(3);
    expect(s.classes).toBeNull();
    expect(detectFormat([write('odd/mine100.bin.gz', cifar(2, 2), true)])).toBe('cifar100');
    expect(detectFormat([write('odd/mine10.bin', cifar(2))])).toBe('cifar10');
    expect(detectFormat([write('odd/train.bin', cifar(2))])).toBe('cifar10'); // the size decides before the name
    expect(detectFormat([write('odd2/data_batch_1.bin', cifar(3073 * 2, 1).subarray(0, 3073 * 3074))])).toBe('cifar10'); // both sizes fit: the name
  });

  it('the shipped demo files are CIFAR-10', () => {
    const demo = join(import.meta.dirname, '..', 'data', 'cifar10-demo');
    const s = openSplits([join(demo, 'data_batch_1.first1500.bin.gz')], join(demo, 'test_batch.first500.bin.gz'));
    expect(s.description).toBe('cifar10: 1500 train / 500 test, 32x32x3, 10 classes');
  });
});

describe('openSplits: CIFAR folders as downloaded (issue 15)', () => {
  it('the official cifar-10-batches-bin/ (entered from its parent): training batches in natural order, test_batch as the test split, batches.meta.txt class names, what was found in the description', () => {
    for (let b = 1; b <= 5; b++) write(`dl/cifar-10-batches-bin/data_batch_${b}.bin`, cifar(b)); // 1..5 records
    write('dl/cifar-10-batches-bin/test_batch.bin', cifar(4));
    writeFileSync(join(dir, 'dl/cifar-10-batches-bin/batches.meta.txt'), 'a0\na1\na2\na3\na4\na5\na6\na7\na8\na9\n\n');
    writeFileSync(join(dir, 'dl/cifar-10-batches-bin/readme.html'), '<html></html>');
    const root = join(dir, 'dl');
    const folder = join(root, 'cifar-10-batches-bin');
    for (const d of [root, folder]) {
      expect(detectFormat([d])).toBe('cifar10');
      const s = openSplits([d], null);
      expect(s.format).toBe('cifar10');
      expect(s.pretrain.n).toBe(15);
      expect(s.labelledTrain).toBe(s.pretrain);
      expect(s.test!.n).toBe(4);
      expect(s.classes![3]).toBe('a3');
      expect(s.description).toBe(`cifar10: 15 train (data_batch_1.bin .. data_batch_5.bin (5 files) in ${folder}) / 4 test (test_batch.bin), 32x32x3, 10 classes`);
      // data_batch_2's first record (label 0, pixels (0 + k) & 255) follows data_batch_1's one record
      expect(s.pretrain.images[3072 + 5]).toBe(5);
    }
    // --test-data overrides the folder's test batch; --format cifar10 takes the directory too
    const other = write('dl-test/mytest.bin', cifar(2));
    expect(openSplits([root], other).test!.n).toBe(2);
    expect(openSplits([root], null, 'cifar10').pretrain.n).toBe(15);
    expect(openSplits([root], join(dir, 'dl'), 'cifar10').test!.n).toBe(4); // a directory as --test-data: its test batch
    expectDataError(() => openSplits([root], null, 'cifar100'), 'holds no cifar100 training files', 'train.bin', 'cifar-10-batches-bin');
    expectDataError(() => openSplits([root, other], null, 'cifar10'), root, 'is a directory; pass it alone');
  });

  it('the CIFAR-100 folder (cifar-100-binary/: train.bin, test.bin, fine_label_names.txt)', () => {
    write('dl100/cifar-100-binary/train.bin', cifar(6, 2));
    write('dl100/cifar-100-binary/test.bin', cifar(3, 2));
    writeFileSync(join(dir, 'dl100/cifar-100-binary/fine_label_names.txt'), Array.from({ length: 100 }, (_, i) => `c${i}`).join('\n'));
    const s = openSplits([join(dir, 'dl100')], null);
    expect(s.format).toBe('cifar100');
    expect(s.pretrain.n).toBe(6);
    expect(s.test!.n).toBe(3);
    expect(s.classes![99]).toBe('c99');
    expect(s.description).toContain('6 train (train.bin in');
    expect(s.description).toContain('/ 3 test (test.bin), 32x32x3, 100 classes');
  });

  it('the shipped data/cifar10-demo directory as --data', () => {
    const demo = join(import.meta.dirname, '..', 'data', 'cifar10-demo');
    const s = openSplits([demo], null);
    expect(s.description).toBe(`cifar10: 1500 train (data_batch_1.first1500.bin.gz in ${demo}) / 500 test (test_batch.first500.bin.gz), 32x32x3, 10 classes`);
    expect(s.notes).toEqual([]);
  });
});

describe('openSplits: notes (issue 15)', () => {
  it('a format guessed from the size says so; a reader error after a size guess explains the guess', () => {
    // A CIFAR-10 file of 2 records cut to 3074 bytes: whole CIFAR-100 records by size, and the
    // second byte (read as the fine label) is a pixel.
    const rec = cifar(2);
    rec[1] = 126;
    const cut = write('guess/data_batch_1.bin', rec.subarray(0, 3074));
    expectDataError(() => openSplits([cut], null), cut, 'record 0: label 126 is out of range 0..99',
      'guessed as cifar100 from the size', 'holds 3074 bytes, a whole number of 3074-byte CIFAR-100 records but not of 3073-byte ones',
      'the name looks like CIFAR-10; a truncated CIFAR-10 file can have this size', '--format');
    const mine = write('guess/mine.bin', cifar(2, 2));
    expect(openSplits([mine], null).notes[0]).toBe(
      'the format was guessed as cifar100 from the size: mine.bin holds 6148 bytes, a whole number of 3074-byte CIFAR-100 records but not of 3073-byte ones; pass --format cifar10 or cifar100 if that is wrong');
    const both = write('guess/test_batch.bin', cifar(3073 * 2, 1).subarray(0, 3073 * 3074));
    expect(openSplits([both], null).notes[0]).toMatch(/^the format was guessed as cifar10 from the name test_batch\.bin: its size fits whole records of both/);
    expect(openSplits([write('guess/data_batch_2.bin', cifar(10))], null).notes).toEqual([]); // name and size agree
    expect(openSplits([mine], null, 'cifar100').notes[0]).toMatch(/^the labelled training split has no images of 98 of its 100 classes/); // --format given: no guess
  });

  it('a single class, or classes without images, in a labelled split are warned about', () => {
    const one = cifar(4);
    for (let i = 0; i < 4; i++) one[i * 3073] = 3;
    const s = openSplits([write('cls1/data_batch_1.bin', one)], write('cls1/test_batch.bin', cifar(10)));
    expect(s.notes).toEqual([
      'the labelled training split holds a single class (cat): kNN and linear accuracy would be 100 % by construction; evaluation needs at least 2 classes',
    ]);
    const t = openSplits([write('cls2/data_batch_1.bin', cifar(10))], write('cls2/test_batch.bin', cifar(5)));
    expect(t.notes).toEqual(['the test split has no images of 5 of its 10 classes (dog, frog, horse, ship, truck)']);
  });
});

describe('openSplits: STL-10', () => {
  it('pretrain = unlabeled + train images, labelledTrain = train, test = test; stl10_binary/ is entered', () => {
    const root = mkdir('stl');
    write('stl/stl10_binary/train_X.bin', stlImages(3, 1));
    write('stl/stl10_binary/train_y.bin', stlLabels(3));
    write('stl/stl10_binary/test_X.bin.gz', stlImages(2, 2), true);
    write('stl/stl10_binary/test_y.bin', stlLabels(2));
    write('stl/stl10_binary/unlabeled_X.bin', stlImages(4, 3));
    expect(detectFormat([root])).toBe('stl10');
    const s = openSplits([root], null);
    expect(s.format).toBe('stl10');
    expect(s.pretrain.n).toBe(7);
    expect(s.pretrain.labels).toBeNull();
    expect(s.labelledTrain!.n).toBe(3);
    expect([...s.labelledTrain!.labels!]).toEqual([0, 1, 2]);
    expect(s.test!.n).toBe(2);
    expect(s.classes![7]).toBe('monkey');
    // the train images are the last 3 of pretrain, the same pixels as labelledTrain
    const per = 3 * 96 * 96;
    expect(s.pretrain.images.subarray(4 * per)).toEqual(s.labelledTrain!.images);
    expect(s.description).toBe('stl10: 7 pretrain (4 unlabeled + 3 train) / 2 test, 96x96x3, 10 classes');
  });

  it('uses what exists: unlabeled only gives no labelled split and no test', () => {
    const root = mkdir('stl-unl');
    write('stl-unl/unlabeled_X.bin', stlImages(2));
    const s = openSplits([root], null, 'stl10');
    expect(s.pretrain.n).toBe(2);
    expect(s.labelledTrain).toBeNull();
    expect(s.test).toBeNull();
  });

  it('a truncated file names the file', () => {
    const root = mkdir('stl-bad');
    write('stl-bad/train_X.bin', stlImages(2).subarray(0, 1000));
    expectDataError(() => openSplits([root], null), 'train_X.bin', 'not a multiple');
  });
});

describe('openSplits: idx (MNIST-style)', () => {
  it('train + t10k files (gzip), 1 channel replicated to 3, Fashion-MNIST class names by path', () => {
    const root = mkdir('fashion-idx');
    write('fashion-idx/train-images-idx3-ubyte.gz', idxImages(6, 4, 5), true);
    write('fashion-idx/train-labels-idx1-ubyte.gz', idxLabels(6), true);
    write('fashion-idx/t10k-images-idx3-ubyte', idxImages(2, 4, 5));
    write('fashion-idx/t10k-labels-idx1-ubyte', idxLabels(2));
    expect(detectFormat([root])).toBe('idx');
    const s = openSplits([root], null);
    expect(s.format).toBe('idx');
    expect(s.pretrain.channels).toBe(3);
    expect(s.labelledTrain).toBe(s.pretrain);
    expect(s.test!.channels).toBe(3);
    const hw = 20;
    const img1 = s.pretrain.images.subarray(3 * hw, 6 * hw);
    const gray = Uint8Array.from({ length: hw }, (_, k) => ((hw + k) * 5) & 255);
    expect([...img1]).toEqual([...gray, ...gray, ...gray]);
    expect(s.classes![0]).toBe('T-shirt/top');
    expect(s.description).toBe('idx: 6 train / 2 test, 4x5x3, 10 classes');
  });

  it('a directory without the label file gives no labelled split; names the missing image file', () => {
    const root = mkdir('digits');
    write('digits/train-images-idx3-ubyte', idxImages(2, 3, 3));
    const s = openSplits([root], null, 'idx');
    expect(s.labelledTrain).toBeNull();
    expect(s.classes![0]).toBe('0');
    expectDataError(() => openSplits([mkdir('empty-idx')], null, 'idx'), 'empty-idx', 'train-images-idx3-ubyte');
  });
});

describe('openSplits: PNG folders', () => {
  it('class subfolders; grayscale PNGs give 3 channels', () => {
    writePng('pngs/cat/a.png', 4, 3, 0, 10);
    writePng('pngs/dog/b.png', 4, 3, 0, 20);
    const root = join(dir, 'pngs');
    expect(detectFormat([root])).toBe('folder');
    const s = openSplits([root], null);
    expect(s.format).toBe('folder');
    expect(s.pretrain.channels).toBe(3);
    expect(s.classes).toEqual(['cat', 'dog']);
    expect(s.labelledTrain).toBe(s.pretrain);
    expect(s.test).toBeNull();
    expect(s.pretrain.images[12 * 2 + 5]).toBe(10);
  });

  it('train/ and test/ subdirectories; a flat folder is unlabelled', () => {
    writePng('tt/train/a/1.png', 2, 2, 2, 1);
    writePng('tt/train/b/2.png', 2, 2, 2, 2);
    writePng('tt/test/a/3.png', 2, 2, 2, 3);
    writePng('tt/test/b/4.png', 2, 2, 2, 4);
    const s = openSplits([join(dir, 'tt')], null);
    expect(s.pretrain.n).toBe(2);
    expect(s.test!.n).toBe(2);
    expect(s.description).toBe('folder: 2 train / 2 test, 2x2x3, 2 classes');
    writePng('flat/x.png', 2, 2, 2, 5);
    const f = openSplits([join(dir, 'flat')], null);
    expect(f.labelledTrain).toBeNull();
    expect(f.description).toContain('(unlabelled)');
  });

  it('test images of another size or other classes are refused', () => {
    writePng('mis/train/a/1.png', 2, 2, 2, 1);
    writePng('mis/test/a/1.png', 3, 3, 2, 1);
    expectDataError(() => openSplits([join(dir, 'mis')], null), 'test', '3x3x3', '2x2x3');
    writePng('cls/train/a/1.png', 2, 2, 2, 1);
    writePng('cls/test/z/1.png', 2, 2, 2, 1);
    expectDataError(() => openSplits([join(dir, 'cls')], null), 'class folders (z) differ');
  });
});

describe('openSplits: detection and errors', () => {
  it('auto-detection failures say what was looked for', () => {
    const empty = mkdir('nothing');
    expectDataError(() => openSplits([empty], null), 'nothing', 'cannot detect', 'train_X.bin', 'train-images-idx3-ubyte', '.png', '--format');
    writeFileSync(join(empty, 'readme.txt'), 'hi');
    expectDataError(() => detectFormat([empty]), 'readme.txt');
    expectDataError(() => openSplits([write('x.npy', new Uint8Array(10))], null), 'x.npy', 'cannot detect', '*.bin');
    expectDataError(() => openSplits([join(dir, 'missing.bin')], null), 'missing.bin', 'not found');
    expectDataError(() => openSplits([write('weird.bin', new Uint8Array(100))], null), 'weird.bin', '3073', '--format');
    expectDataError(() => openSplits([write('i/train-images-idx3-ubyte', idxImages(1, 2, 2))], null), 'pass the directory');
    expectDataError(() => openSplits([], null), 'no data given');
  });

  it('explicit format errors: bad name, directory for CIFAR, several paths for a directory format', () => {
    expectDataError(() => openSplits(['a'], null, 'jpeg' as never), "unknown data format 'jpeg'");
    expectDataError(() => openSplits([mkdir('cdir')], null, 'cifar10'), 'cdir', 'holds no cifar10 training files', 'data_batch_*.bin', 'it holds nothing');
    expectDataError(() => openSplits([mkdir('s1'), mkdir('s2')], null, 'stl10'), 'one directory');
    expectDataError(() => openSplits([write('c/data_batch_9.bin', cifar(1))], write('c/t.bin', new Uint8Array(5)), 'cifar10'), 't.bin', 'not a multiple');
  });

  it('toThreeChannels copies the plane; 3-channel sets are returned as they are', () => {
    const ds = { images: Uint8Array.of(1, 2, 3, 4), labels: null, n: 2, channels: 1, height: 1, width: 2 };
    expect([...toThreeChannels(ds).images]).toEqual([1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4]);
    const rgb = { ...ds, images: new Uint8Array(6), n: 1, channels: 3 };
    expect(toThreeChannels(rgb)).toBe(rgb);
  });
});

const FASHION = '/usr/share/datasets/fashion-mnist';
describe('openSplits: the installed Fashion-MNIST (Debian dataset-fashion-mnist)', () => {
  it.skipIf(!existsSync(FASHION))(`opens ${FASHION}: 60000 train / 10000 test, 28x28x3`, () => {
    const s = openSplits([FASHION], null);
    expect(s.format).toBe('idx');
    expect(s.description).toBe('idx: 60000 train / 10000 test, 28x28x3, 10 classes');
    expect(s.classes![9]).toBe('Ankle boot');
    const counts = new Array<number>(10).fill(0);
    for (const l of s.test!.labels!) counts[l]++;
    expect(counts).toEqual(new Array<number>(10).fill(1000));
  });
  if (!existsSync(FASHION)) console.warn(`skipping the Fashion-MNIST test: ${FASHION} not found (apt-get install dataset-fashion-mnist)`);
});

/**
 * Data sets (simclr/data): every reader on tiny files written here (plain and .gz), every error
 * case, the shipped genuine CIFAR-10 demo files, the partial CIFAR-10 in ../shared/data (skipped when absent), Debian's
 * Fashion-MNIST (skipped when absent), and the batch loader's order, prefetch and resumable state.
 */
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync, gunzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import {
  DataError, readCifar10, readCifar100, readStl10, readIdx, readFashionMnist, readImageFolder, resizeImage,
  readClassNames, readBytes, concatDatasets, BatchLoader, CIFAR10_CLASSES, FASHION_MNIST_CLASSES,
  type ImageDataset, type Batch,
} from '../simclr/data/index.js';
import { EngineError } from '../engine/errors.js';

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'simclr-data-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

function write(name: string, bytes: Uint8Array, gz = false): string {
  const p = join(dir, name);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, gz ? gzipSync(bytes) : bytes);
  return p;
}

/** Expect fn to throw a DataError whose message contains every fragment. */
function expectDataError(fn: () => unknown, ...fragments: (string | RegExp)[]): DataError {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, 'expected a DataError').toBeInstanceOf(DataError);
  expect(err).toBeInstanceOf(EngineError);
  const msg = (err as Error).message;
  for (const f of fragments) {
    if (typeof f === 'string') expect(msg).toContain(f); else expect(msg).toMatch(f);
  }
  return err as DataError;
}

// ---------------------------------------------------------------- CIFAR

/** Pixel value of CIFAR-style test image i at plane offset k. */
const pix = (i: number, k: number) => (i * 31 + k * 7) & 255;

function cifarRecords(labels: number[][], offset = 0): Uint8Array {
  const lb = labels[0].length, rec = lb + 3072;
  const out = new Uint8Array(labels.length * rec);
  labels.forEach((ls, r) => {
    out.set(ls, r * rec);
    for (let k = 0; k < 3072; k++) out[r * rec + lb + k] = pix(r + offset, k);
  });
  return out;
}

function expectImages(ds: ImageDataset, n: number, offset = 0): void {
  const per = ds.channels * ds.height * ds.width;
  for (let i = 0; i < n; i++) {
    for (const k of [0, 1, 1023, 1024, 2048, 3071]) expect(ds.images[i * per + k]).toBe(pix(i + offset, k));
  }
}

describe('CIFAR readers', () => {
  it('reads CIFAR-10 records, plain and gzipped, from one or several files', () => {
    const a = write('c10/a.bin', cifarRecords([[3], [8], [0]]));
    const agz = write('c10/a.bin.gz', cifarRecords([[3], [8], [0]]), true);
    for (const f of [a, agz]) {
      const ds = readCifar10(f);
      expect([ds.n, ds.channels, ds.height, ds.width]).toEqual([3, 3, 32, 32]);
      expect(ds.images.length).toBe(3 * 3072);
      expect(Array.from(ds.labels!)).toEqual([3, 8, 0]);
      expect(ds.classes).toEqual(CIFAR10_CLASSES);
      expectImages(ds, 3);
    }
    const b = write('c10/b.bin', cifarRecords([[9], [1]], 3));
    const both = readCifar10([a, b]);
    expect(both.n).toBe(5);
    expect(Array.from(both.labels!)).toEqual([3, 8, 0, 9, 1]);
    expectImages(both, 5);
    expect(readCifar10(a, { classes: ['x'] }).classes).toEqual(['x']);
    const merged = concatDatasets([readCifar10(a), readCifar10(b)]);
    expect(Array.from(merged.images)).toEqual(Array.from(both.images));
    expect(Array.from(merged.labels!)).toEqual([3, 8, 0, 9, 1]);
  });

  it('reads CIFAR-100 fine and coarse labels', () => {
    const f = write('c100/train.bin.gz', cifarRecords([[11, 99], [19, 0]]), true);
    const fine = readCifar100(f);
    expect(fine.n).toBe(2);
    expect(Array.from(fine.labels!)).toEqual([99, 0]);
    expectImages(fine, 2);
    expect(Array.from(readCifar100(f, { label: 'coarse' }).labels!)).toEqual([11, 19]);
    const bad = write('c100/bad.bin', cifarRecords([[20, 5]]));
    expectDataError(() => readCifar100(bad, { label: 'coarse' }), bad, 'label 20', '0..19');
  });

  it('reports missing, truncated, empty, corrupt and out-of-range CIFAR files by name', () => {
    const missing = join(dir, 'c10/nope.bin');
    expectDataError(() => readCifar10(missing), missing, 'file not found');
    const full = cifarRecords([[1], [2]]);
    const cut = write('c10/cut.bin', full.subarray(0, 3073 + 100));
    expectDataError(() => readCifar10(cut), cut, 'not a multiple of the 3073-byte', '100 bytes of a truncated');
    const cutgz = write('c10/cut.bin.gz', full.subarray(0, 3073 + 5), true);
    expectDataError(() => readCifar10(cutgz), cutgz, 'not a multiple');
    const empty = write('c10/empty.bin', new Uint8Array(0));
    expectDataError(() => readCifar10(empty), empty, 'empty');
    const gz = gzipSync(full);
    const badgz = write('c10/corrupt.bin.gz', gz.subarray(0, gz.length >> 1));
    expectDataError(() => readCifar10(badgz), badgz, 'gzip');
    const notgz = write('c10/plain.bin.gz', full);
    expectDataError(() => readCifar10(notgz), notgz, 'not gzip');
    const corruptNoName = write('c10/corrupt-unnamed.bin', gz.subarray(0, gz.length - 3));
    expectDataError(() => readCifar10(corruptNoName), corruptNoName, 'not a multiple');
    const lab = write('c10/label.bin', cifarRecords([[1], [10]]));
    expectDataError(() => readCifar10(lab), lab, 'record 1', 'label 10', '0..9');
    expectDataError(() => readCifar10(dir), dir, 'directory');
    expectDataError(() => readCifar10([]), 'no CIFAR files');
  });
});

// ---------------------------------------------------------------- STL-10

const STL = 96;
const stlPix = (i: number, c: number, y: number, x: number) => (i * 13 + c * 101 + y * 3 + x * 7) & 255;

function stlImages(n: number): Uint8Array {
  const out = new Uint8Array(n * 3 * STL * STL);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) for (let y = 0; y < STL; y++) for (let x = 0; x < STL; x++) {
    out[((i * 3 + c) * STL + x) * STL + y] = stlPix(i, c, y, x); // column-major per channel, as in the files
  }
  return out;
}

describe('STL-10 reader', () => {
  it('transposes the column-major planes to row-major and maps labels 1..10 to 0..9', () => {
    const x = stlImages(2);
    for (const gz of [false, true]) {
      const xf = write(`stl/train_X.bin${gz ? '.gz' : ''}`, x, gz);
      const yf = write(`stl/train_y.bin${gz ? '.gz' : ''}`, new Uint8Array([1, 10]), gz);
      const ds = readStl10(xf, yf);
      expect([ds.n, ds.channels, ds.height, ds.width]).toEqual([2, 3, 96, 96]);
      expect(Array.from(ds.labels!)).toEqual([0, 9]);
      expect(ds.classes![0]).toBe('airplane');
      for (let i = 0; i < 2; i++) for (let c = 0; c < 3; c++) for (const [y, x2] of [[0, 0], [0, 1], [1, 0], [5, 90], [95, 3], [95, 95]]) {
        expect(ds.images[((i * 3 + c) * STL + y) * STL + x2]).toBe(stlPix(i, c, y, x2));
      }
    }
    const u = readStl10(write('stl/unlabeled_X.bin', stlImages(1)));
    expect(u.labels).toBeNull();
    expect(u.n).toBe(1);
    // raw pixels that happen to start with gzip's magic bytes are read as they are
    const magic = stlImages(1);
    magic[0] = 0x1f; magic[1] = 0x8b;
    const m = readStl10(write('stl/magic_X.bin', magic));
    expect([m.images[0], m.images[96]]).toEqual([0x1f, 0x8b]); // (y 0, x 0) and (y 1, x 0)
    expect(Array.from(readBytes(join(dir, 'stl/magic_X.bin')).subarray(0, 2))).toEqual([0x1f, 0x8b]);
  });

  it('reads a range of images (by file range for plain files, from the decompressed data for .gz)', () => {
    const x = stlImages(4);
    const full = readStl10(write('stl/four_X.bin', x), write('stl/four_y.bin', new Uint8Array([3, 1, 4, 10])));
    for (const gz of [false, true]) {
      const xf = write(`stl/r_X.bin${gz ? '.gz' : ''}`, x, gz);
      const yf = write(`stl/r_y.bin${gz ? '.gz' : ''}`, new Uint8Array([3, 1, 4, 10]), gz);
      const part = readStl10(xf, yf, { start: 1, count: 2 });
      expect(part.n).toBe(2);
      expect(Array.from(part.labels!)).toEqual([0, 3]);
      expect(Array.from(part.images)).toEqual(Array.from(full.images.subarray(27648, 3 * 27648)));
      expect(readStl10(xf, null, { start: 3 }).n).toBe(1);
      expectDataError(() => readStl10(xf, yf, { start: 3, count: 2 }), xf, 'records 3..4', 'holds 4');
    }
  });

  it('reports truncated images, label count mismatches and bad labels', () => {
    const x = stlImages(2);
    const cut = write('stl/cut_X.bin', x.subarray(0, x.length - 10));
    expectDataError(() => readStl10(cut), cut, 'not a multiple of the 27648-byte STL-10 image', '1 whole records');
    const xf = write('stl/ok_X.bin', x);
    const y3 = write('stl/three_y.bin', new Uint8Array([1, 2, 3]));
    expectDataError(() => readStl10(xf, y3), y3, '3 labels', '2 images');
    const y0 = write('stl/zero_y.bin', new Uint8Array([1, 0]));
    expectDataError(() => readStl10(xf, y0), y0, 'label 1 is 0', '1..10');
    const missing = join(dir, 'stl/missing_y.bin');
    expectDataError(() => readStl10(xf, missing), missing, 'not found');
    const missingX = join(dir, 'stl/missing_X.bin');
    expectDataError(() => readStl10(missingX), missingX, 'not found');
    const empty = write('stl/empty_X.bin', new Uint8Array(0));
    expectDataError(() => readStl10(empty), empty, 'empty');
    const gz = gzipSync(x);
    const badgz = write('stl/bad_X.bin.gz', gz.subarray(0, 100));
    expectDataError(() => readStl10(badgz), badgz, 'gzip');
    expectDataError(() => readStl10(join(dir, 'stl')), join(dir, 'stl'), 'directory');
  });
});

// ---------------------------------------------------------------- idx (MNIST)

function idxImages(n: number, rows: number, cols: number, magic = 2051): Uint8Array {
  const out = new Uint8Array(16 + n * rows * cols);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, magic); dv.setUint32(4, n); dv.setUint32(8, rows); dv.setUint32(12, cols);
  for (let k = 0; k < n * rows * cols; k++) out[16 + k] = (k * 5) & 255;
  return out;
}

function idxLabels(labels: number[], magic = 2049): Uint8Array {
  const out = new Uint8Array(8 + labels.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, magic); dv.setUint32(4, labels.length);
  out.set(labels, 8);
  return out;
}

describe('idx reader (MNIST / Fashion-MNIST)', () => {
  it('reads images and labels, plain and gzipped', () => {
    for (const gz of [false, true]) {
      const s = gz ? '.gz' : '';
      const imf = write(`idx/images-idx3-ubyte${s}`, idxImages(3, 4, 5), gz);
      const lbf = write(`idx/labels-idx1-ubyte${s}`, idxLabels([7, 0, 9]), gz);
      const ds = readIdx(imf, lbf);
      expect([ds.n, ds.channels, ds.height, ds.width]).toEqual([3, 1, 4, 5]);
      expect(Array.from(ds.labels!)).toEqual([7, 0, 9]);
      expect(Array.from(ds.images.subarray(0, 4))).toEqual([0, 5, 10, 15]);
      expect(ds.images[59]).toBe((59 * 5) & 255);
      expect(readIdx(imf).labels).toBeNull();
      expect(readFashionMnist(imf, lbf).classes).toEqual(FASHION_MNIST_CLASSES);
    }
  });

  it('reports wrong magic numbers, truncation and count mismatches', () => {
    const imf = write('idx/ok-images', idxImages(3, 4, 5));
    const lbf = write('idx/ok-labels', idxLabels([1, 2, 3]));
    expectDataError(() => readIdx(lbf), lbf, 'wrong magic number 2049', 'expected 2051', 'label file');
    expectDataError(() => readIdx(imf, imf), imf, 'wrong magic number 2051', 'expected 2049');
    const junk = write('idx/junk', idxImages(1, 2, 2, 0x12345678));
    expectDataError(() => readIdx(junk), junk, 'wrong magic number 305419896');
    const full = idxImages(3, 4, 5);
    const cut = write('idx/cut-images.gz', full.subarray(0, full.length - 1), true);
    expectDataError(() => readIdx(cut), cut, 'size 75', '76 bytes', 'truncated');
    const tiny = write('idx/tiny', new Uint8Array([0, 0, 8]));
    expectDataError(() => readIdx(tiny), tiny, 'too short');
    const two = write('idx/two-labels', idxLabels([1, 2]));
    expectDataError(() => readIdx(imf, two), two, '2 labels', '3 images');
    const cutl = write('idx/cut-labels', idxLabels([1, 2, 3]).subarray(0, 10));
    expectDataError(() => readIdx(imf, cutl), cutl, 'truncated');
    // labels are range-checked against the classes, as CIFAR's and STL-10's are (issue 15)
    const big = write('idx/big-labels', idxLabels([1, 200, 3]));
    expectDataError(() => readIdx(imf, big), big, 'label 1 is 200, out of range 0..9 (10 classes)');
    expect([...readIdx(imf, big, { classes: Array.from({ length: 201 }, String) }).labels!]).toEqual([1, 200, 3]);
  });
});

// ---------------------------------------------------------------- PNG folders

/** Write a PNG from an RGBA pixel function. colorType 0 gray, 2 RGB, 6 RGBA. */
function writePng(name: string, w: number, h: number, colorType: 0 | 2 | 6,
                  f: (x: number, y: number) => [number, number, number, number]): string {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) png.data.set(f(x, y), (y * w + x) * 4);
  return write(name, new Uint8Array(PNG.sync.write(png, { colorType })));
}

describe('PNG folder reader', () => {
  it('reads one subfolder per class, RGB and RGBA to 3 planar channels', () => {
    const rgb = (s: number) => (x: number, y: number): [number, number, number, number] => [s + x, s + 10 * y, s + 100, 255];
    writePng('cls/dog/b.png', 3, 2, 2, rgb(1));
    writePng('cls/dog/a.png', 3, 2, 6, (x, y) => [2 + x, 2 + 10 * y, 102, 40 * x]); // alpha dropped
    writePng('cls/cat/z.png', 3, 2, 2, rgb(3));
    write('cls/cat/notes.txt', new TextEncoder().encode('not an image'));
    writePng('cls/.hidden/x.png', 1, 1, 2, () => [0, 0, 0, 255]);
    writePng('cls/dog/.y.png', 3, 2, 2, rgb(9));
    const ds = readImageFolder(join(dir, 'cls'));
    expect(ds.classes).toEqual(['cat', 'dog']);
    expect([ds.n, ds.channels, ds.height, ds.width]).toEqual([3, 3, 2, 3]);
    expect(Array.from(ds.labels!)).toEqual([0, 1, 1]);
    // image order: cat/z (s=3), dog/a (s=2), dog/b (s=1)
    const per = 18;
    [3, 2, 1].forEach((s, i) => {
      const img = Array.from(ds.images.subarray(i * per, (i + 1) * per));
      expect(img).toEqual([s, s + 1, s + 2, s, s + 1, s + 2, s, s, s, s + 10, s + 10, s + 10, ...Array(6).fill(s + 100)]);
    });
  });

  it('reads a flat folder unlabeled; grayscale gives 1 channel; channels can be forced', () => {
    writePng('flat/g1.png', 2, 2, 0, (x, y) => [x * 50 + y, x * 50 + y, x * 50 + y, 255]);
    writePng('flat/g2.png', 2, 2, 0, () => [200, 200, 200, 255]);
    const ds = readImageFolder(join(dir, 'flat'));
    expect(ds.labels).toBeNull();
    expect(ds.classes).toBeUndefined();
    expect([ds.n, ds.channels, ds.height, ds.width]).toEqual([2, 1, 2, 2]);
    expect(Array.from(ds.images)).toEqual([0, 50, 1, 51, 200, 200, 200, 200]);
    const as3 = readImageFolder(join(dir, 'flat'), { channels: 3 });
    expect(as3.channels).toBe(3);
    expect(Array.from(as3.images.subarray(0, 12))).toEqual([0, 50, 1, 51, 0, 50, 1, 51, 0, 50, 1, 51]);
    const ga = new PNG({ width: 2, height: 1 });
    ga.data.set([30, 30, 30, 0, 90, 90, 90, 128]);
    write('grayalpha/ga.png', new Uint8Array(PNG.sync.write(ga, { colorType: 4 })));
    const gads = readImageFolder(join(dir, 'grayalpha'));
    expect([gads.channels, ...gads.images]).toEqual([1, 30, 90]); // gray + alpha: 1 channel, alpha dropped
    writePng('color/c.png', 1, 1, 2, () => [100, 200, 50, 255]);
    expect(Array.from(readImageFolder(join(dir, 'color'), { channels: 1 }).images))
      .toEqual([Math.round(0.299 * 100 + 0.587 * 200 + 0.114 * 50)]);
  });

  it('rejects mixed sizes unless resized; resizes nearest or bilinear', () => {
    writePng('mixed/a.png', 2, 2, 0, (x) => [x * 100, x * 100, x * 100, 255]);
    writePng('mixed/b.png', 4, 3, 0, () => [7, 7, 7, 255]);
    const m = join(dir, 'mixed');
    expectDataError(() => readImageFolder(m), m, 'differ in size', 'a.png is 2x2', 'b.png is 4x3', 'resize');
    const near = readImageFolder(m, { resize: { height: 4, width: 4, mode: 'nearest' } });
    expect([near.n, near.channels, near.height, near.width]).toEqual([2, 1, 4, 4]);
    expect(Array.from(near.images.subarray(0, 4))).toEqual([0, 0, 100, 100]);
    expect(Array.from(near.images.subarray(16))).toEqual(Array(16).fill(7));
    const bil = readImageFolder(m, { resize: { height: 4, width: 4 } });
    expect(Array.from(bil.images.subarray(0, 4))).toEqual([0, 25, 75, 100]);
  });

  it('resizeImage: identity, nearest and bilinear (half-pixel centers) on known values', () => {
    const src = Uint8Array.from([0, 100, 200, 40]); // 1x2x2
    expect(Array.from(resizeImage(src, 1, 2, 2, 2, 2, 'bilinear'))).toEqual([0, 100, 200, 40]);
    expect(Array.from(resizeImage(src, 1, 2, 2, 2, 2, 'nearest'))).toEqual([0, 100, 200, 40]);
    expect(Array.from(resizeImage(src, 1, 2, 2, 4, 4, 'nearest')))
      .toEqual([0, 0, 100, 100, 0, 0, 100, 100, 200, 200, 40, 40, 200, 200, 40, 40]);
    const up = resizeImage(src, 1, 2, 2, 4, 4, 'bilinear');
    expect(Array.from(up.subarray(0, 4))).toEqual([0, 25, 75, 100]);
    expect(Array.from(up.subarray(12, 16))).toEqual([200, 160, 80, 40]);
    expect(up[5]).toBe(Math.round(0.75 * (0.75 * 0 + 0.25 * 100) + 0.25 * (0.75 * 200 + 0.25 * 40)));
    const ramp = Uint8Array.from({ length: 8 }, (_, i) => (i % 4) * 10 + (i >= 4 ? 100 : 0)); // 2 channels 1x4
    expect(Array.from(resizeImage(ramp, 2, 1, 4, 1, 2, 'bilinear'))).toEqual([5, 25, 105, 125]);
    expect(Array.from(resizeImage(ramp, 2, 1, 4, 1, 2, 'nearest'))).toEqual([10, 30, 110, 130]);
  });

  it('reports undecodable PNGs, missing and empty folders, files mixed with class folders', () => {
    writePng('broken/ok.png', 2, 2, 2, () => [1, 2, 3, 255]);
    const bad = write('broken/bad.png', new TextEncoder().encode('this is not a png'));
    expectDataError(() => readImageFolder(join(dir, 'broken')), bad, 'cannot decode PNG');
    const good = readBytes(writePng('trunc/ok.png', 8, 8, 2, (x, y) => [x, y, x + y, 255]));
    const trunc = write('trunc/cut.png', good.subarray(0, good.length - 30));
    expectDataError(() => readImageFolder(join(dir, 'trunc')), trunc, 'cannot decode PNG');
    const missing = join(dir, 'no-such-folder');
    expectDataError(() => readImageFolder(missing), missing, 'folder not found');
    mkdirSync(join(dir, 'empty'));
    expectDataError(() => readImageFolder(join(dir, 'empty')), 'empty', 'no PNG images');
    writePng('both/top.png', 1, 1, 2, () => [1, 2, 3, 255]);
    writePng('both/cls/x.png', 1, 1, 2, () => [1, 2, 3, 255]);
    expectDataError(() => readImageFolder(join(dir, 'both')), 'both', 'class subfolders', 'top.png');
  });
});

// ---------------------------------------------------------------- genuine data sets

const CIFAR_DIR = resolve(__dirname, '..', '..', 'shared', 'data', 'cifar-10-partial');
const hasCifar = existsSync(join(CIFAR_DIR, 'test_batch.first1017.bin.gz'));
const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
const hasFashion = existsSync(join(FASHION_DIR, 't10k-images-idx3-ubyte.gz'));

const DEMO_DIR = resolve(__dirname, '..', 'data', 'cifar10-demo');

describe('genuine data', () => {
  // The shipped demo files are cut from the same genuine records, so these checks run on every clone,
  // with or without ../shared next to it.
  it('shipped CIFAR-10 demo files (data/cifar10-demo): md5s, class counts and first labels of SOURCES.md', () => {
    const counts = (labels: Uint8Array | Int32Array) => {
      const c = new Array(10).fill(0);
      for (const l of labels) c[l]++;
      return c;
    };
    const train = join(DEMO_DIR, 'data_batch_1.first1500.bin.gz');
    const test = join(DEMO_DIR, 'test_batch.first500.bin.gz');
    expect(createHash('md5').update(readBytes(train)).digest('hex')).toBe('cdad73279982a546033150b9632fcec0');
    expect(createHash('md5').update(readBytes(test)).digest('hex')).toBe('4b2f848b86832522ada8981c23afcf2f');
    const tr = readCifar10(train);
    const te = readCifar10(test, { classes: CIFAR10_CLASSES });
    expect([tr.n, te.n, te.channels, te.height, te.width]).toEqual([1500, 500, 3, 32, 32]);
    expect(counts(tr.labels!)).toEqual([155, 152, 148, 140, 153, 128, 159, 149, 154, 162]);
    expect(counts(te.labels!)).toEqual([57, 41, 51, 49, 40, 48, 54, 47, 57, 56]);
    expect(Array.from(tr.labels!.subarray(0, 6))).toEqual([6, 9, 9, 4, 1, 1]); // frog truck truck deer automobile automobile
    expect(te.labels!.subarray(0, 4).reduce((s, l) => s + te.classes![l] + ' ', '')).toBe('cat ship ship airplane ');
    const chanMean = (i: number, c: number) => te.images.subarray(i * 3072 + c * 1024, i * 3072 + (c + 1) * 1024).reduce((s, v) => s + v, 0) / 1024;
    expect(chanMean(1, 2)).toBeGreaterThan(chanMean(1, 0)); // ship 1: blue > red
  });

  it('partial CIFAR-10 (../shared/data/cifar-10-partial): test batch records 0..1016', (ctx) => {
    if (!hasCifar) {
      console.warn(`SKIPPED: genuine CIFAR-10 subset not found at ${CIFAR_DIR}`);
      ctx.skip(`genuine CIFAR-10 subset not found at ${CIFAR_DIR}`);
    }
    const file = join(CIFAR_DIR, 'test_batch.first1017.bin.gz');
    // SOURCES.md: md5 of the uncompressed records
    expect(createHash('md5').update(readBytes(file)).digest('hex')).toBe('6ac134a1c8e0e152e254c10d0fc92b6f');
    const ds = readCifar10(file, { classes: readClassNames(join(CIFAR_DIR, 'batches.meta.txt')) });
    expect([ds.n, ds.channels, ds.height, ds.width]).toEqual([1017, 3, 32, 32]);
    expect(ds.classes).toEqual(CIFAR10_CLASSES);
    expect(Array.from(ds.labels!.subarray(0, 4))).toEqual([3, 8, 8, 0]); // cat, ship, ship, airplane
    expect(ds.labels!.subarray(0, 4).reduce((s, l) => s + ds.classes![l] + ' ', '')).toBe('cat ship ship airplane ');
    const all = readFileSync(join(CIFAR_DIR, 'labels', 'test_batch.labels.u8'));
    expect(Array.from(ds.labels!)).toEqual(Array.from(all.subarray(0, 1017)));
    // Pixels: not constant, mean in a plausible range, ship images bluer than red on average.
    let sum = 0;
    for (let k = 0; k < ds.images.length; k++) sum += ds.images[k];
    const mean = sum / ds.images.length;
    expect(mean).toBeGreaterThan(90);
    expect(mean).toBeLessThan(160);
    const chanMean = (i: number, c: number) => ds.images.subarray(i * 3072 + c * 1024, i * 3072 + (c + 1) * 1024).reduce((s, v) => s + v, 0) / 1024;
    expect(chanMean(1, 2)).toBeGreaterThan(chanMean(1, 0)); // ship 1: blue > red
  });

  it('partial CIFAR-10: all six batches read, labels match the complete label lists', (ctx) => {
    if (!hasCifar) {
      console.warn(`SKIPPED: genuine CIFAR-10 subset not found at ${CIFAR_DIR}`);
      ctx.skip(`genuine CIFAR-10 subset not found at ${CIFAR_DIR}`);
    }
    const files = [1, 2, 3, 4, 5].map((b) => join(CIFAR_DIR, `data_batch_${b}.first${b === 1 ? 4000 : 1017}.bin.gz`));
    const ds = readCifar10(files);
    expect(ds.n).toBe(4000 + 4 * 1017);
    let at = 0;
    [1, 2, 3, 4, 5].forEach((b) => {
      const n = b === 1 ? 4000 : 1017;
      const ref = readFileSync(join(CIFAR_DIR, 'labels', `data_batch_${b}.labels.u8`)).subarray(0, n);
      expect(Array.from(ds.labels!.subarray(at, at + n))).toEqual(Array.from(ref));
      at += n;
    });
    const loader = new BatchLoader(ds, { batchSize: 256, seed: 1 });
    const b = loader.next();
    expect(b.images.length).toBe(256 * 3072);
  });

  it('Fashion-MNIST from Debian (dataset-fashion-mnist)', (ctx) => {
    if (!hasFashion) {
      console.warn(`SKIPPED: Fashion-MNIST not found at ${FASHION_DIR} (apt-get install dataset-fashion-mnist)`);
      ctx.skip(`Fashion-MNIST not found at ${FASHION_DIR} (apt-get install dataset-fashion-mnist)`);
    }
    const test = readFashionMnist(join(FASHION_DIR, 't10k-images-idx3-ubyte.gz'), join(FASHION_DIR, 't10k-labels-idx1-ubyte.gz'));
    expect([test.n, test.channels, test.height, test.width]).toEqual([10000, 1, 28, 28]);
    expect(Array.from(test.labels!.subarray(0, 10))).toEqual([9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    expect(test.classes![test.labels![0]]).toBe('Ankle boot');
    expect(test.images.subarray(0, 784).reduce((s, v) => s + v, 0)).toBe(33456);
    const counts = new Array(10).fill(0);
    for (const l of test.labels!) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(1000));
    const train = readFashionMnist(join(FASHION_DIR, 'train-images-idx3-ubyte.gz'), join(FASHION_DIR, 'train-labels-idx1-ubyte.gz'));
    expect(train.n).toBe(60000);
    expect(Array.from(train.labels!.subarray(0, 10))).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    // A labels file in the images slot is named in the error.
    const lf = join(FASHION_DIR, 't10k-labels-idx1-ubyte.gz');
    expectDataError(() => readIdx(lf), lf, 'wrong magic number 2049');
  });
});

// ---------------------------------------------------------------- BatchLoader

/** n images of 1x2x2 whose pixels all equal their index; labels = index * 10. */
function indexed(n: number, labeled = true): ImageDataset {
  const images = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) images.fill(i, i * 4, i * 4 + 4);
  return { images, labels: labeled ? Int32Array.from({ length: n }, (_, i) => i * 10) : null, n, channels: 1, height: 2, width: 2 };
}

function checkBatch(b: Batch, labeled = true): void {
  for (let k = 0; k < b.size; k++) {
    expect(Array.from(b.images.subarray(k * 4, k * 4 + 4))).toEqual(Array(4).fill(b.indices[k]));
    if (labeled) expect(b.labels![k]).toBe(b.indices[k] * 10);
  }
  if (!labeled) expect(b.labels).toBeNull();
}

async function collectEpoch(loader: BatchLoader): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader) out.push(b);
  return out;
}

describe('BatchLoader', () => {
  it('without dropLast: every index exactly once per epoch, gathered correctly', async () => {
    const ds = indexed(10);
    const loader = new BatchLoader(ds, { batchSize: 3, shuffle: true, seed: 7, dropLast: false });
    expect(loader.batchesPerEpoch).toBe(4);
    const orders: number[][] = [];
    for (let e = 0; e < 3; e++) {
      const batches = await collectEpoch(loader);
      expect(batches.map((b) => b.size)).toEqual([3, 3, 3, 1]);
      expect(batches.map((b) => b.index)).toEqual([0, 1, 2, 3]);
      expect(batches.every((b) => b.epoch === e)).toBe(true);
      batches.forEach((b) => checkBatch(b));
      const order = batches.flatMap((b) => Array.from(b.indices));
      expect([...order].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      orders.push(order);
      expect(loader.epoch).toBe(e + 1);
    }
    expect(orders[0]).not.toEqual(orders[1]);
    expect(orders[1]).not.toEqual(orders[2]);
  });

  it('dropLast: full batches only, no index twice in an epoch', async () => {
    const loader = new BatchLoader(indexed(10, false), { batchSize: 4, seed: 3, dropLast: true });
    expect(loader.batchesPerEpoch).toBe(2);
    for (let e = 0; e < 4; e++) {
      const batches = await collectEpoch(loader);
      expect(batches.map((b) => b.size)).toEqual([4, 4]);
      batches.forEach((b) => checkBatch(b, false));
      const seen = batches.flatMap((b) => Array.from(b.indices));
      expect(new Set(seen).size).toBe(8);
    }
    expect(() => new BatchLoader(indexed(3), { batchSize: 4, dropLast: true })).toThrow(/no batch of 4/);
    expect(() => new BatchLoader(indexed(3), { batchSize: 0 })).toThrow(/batchSize/);
  });

  it('is deterministic by seed; other seeds give other orders; shuffle false is sequential', async () => {
    const run = async (seed: number) => {
      const l = new BatchLoader(indexed(50), { batchSize: 8, shuffle: true, seed, dropLast: true });
      const out: number[] = [];
      for (let e = 0; e < 2; e++) for (const b of await collectEpoch(l)) out.push(...b.indices);
      return out;
    };
    const a = await run(42), b = await run(42), c = await run(43);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    // the sync path gives the same order as the async iterator
    const s = new BatchLoader(indexed(50), { batchSize: 8, seed: 42 });
    const sync: number[] = [];
    for (let k = 0; k < 12; k++) sync.push(...s.next().indices);
    expect(sync).toEqual(a);
    const seq = new BatchLoader(indexed(7), { batchSize: 2, shuffle: false, dropLast: false });
    expect((await collectEpoch(seq)).flatMap((x) => Array.from(x.indices))).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('save/restore mid-epoch continues identically (state is JSON)', async () => {
    const opts = { batchSize: 4, shuffle: true, seed: 11, dropLast: true };
    const a = new BatchLoader(indexed(23), opts);
    expect(a.batchesPerEpoch).toBe(5);
    await collectEpoch(a); // epoch 0
    let saved = '';
    let k = 0;
    for await (const b of a) { // epoch 1, stop after batch 2 (a training step's checkpoint)
      checkBatch(b);
      if (++k === 3) { saved = JSON.stringify(a.getState()); break; }
    }
    expect(JSON.parse(saved)).toMatchObject({ epoch: 1, position: 3 });
    const rest = async (l: BatchLoader) => {
      const out: number[][] = [];
      for (let e = 0; e < 3; e++) for (const b of await collectEpoch(l)) out.push([b.epoch, b.index, ...b.indices]);
      return out;
    };
    const fresh = new BatchLoader(indexed(23), { ...opts, seed: 999 });
    fresh.setState(JSON.parse(saved));
    expect(fresh.epoch).toBe(1);
    expect(fresh.position).toBe(3);
    const ra = await rest(a), rb = await rest(fresh);
    expect(ra[0].slice(0, 2)).toEqual([1, 3]);
    expect(ra.length).toBe(2 + 5 + 5);
    expect(rb).toEqual(ra);
    // restoring at an epoch boundary, and through the sync path
    const c = new BatchLoader(indexed(23), opts);
    for (let i = 0; i < 5; i++) c.next();
    const st = c.getState();
    expect(st).toMatchObject({ epoch: 1, position: 0 });
    const d = new BatchLoader(indexed(23), opts);
    d.setState(st);
    for (let i = 0; i < 7; i++) expect(Array.from(d.next().indices)).toEqual(Array.from(c.next().indices));
    expect(() => d.setState({ epoch: 0, position: 5, rng: [1, 2, 3, 4] })).toThrow(/position/);
    // next() and setState() are refused while an epoch iterator runs, allowed again after break
    for await (const b of d) {
      expect(b.size).toBe(4);
      expect(() => d.next()).toThrow(/iterator of this loader is running/);
      expect(() => d.setState(st)).toThrow(/iterator of this loader is running/);
      break;
    }
    expect(d.next().size).toBe(4);
  });

  it('assembles batch i+1 in the background while the caller holds batch i', async () => {
    const loader = new BatchLoader(indexed(12), { batchSize: 3, seed: 5 });
    const spy = vi.spyOn(loader as unknown as { assemble: (...a: unknown[]) => Batch }, 'assemble');
    let i = 0;
    for await (const b of loader) {
      // batch i is in hand; after one turn of the event loop, batch i+1 has been gathered
      expect(spy.mock.calls.length).toBe(i + 1);
      await new Promise((r) => setImmediate(r));
      expect(spy.mock.calls.length).toBe(Math.min(i + 2, 4));
      expect(b.index).toBe(i);
      i++;
    }
    expect(i).toBe(4);
    expect(spy.mock.calls.length).toBe(4);
  });
});

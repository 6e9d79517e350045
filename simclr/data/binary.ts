/**
 * Readers for the binary image formats: CIFAR-10 / CIFAR-100 (binary version), STL-10 and the
 * idx files of MNIST / Fashion-MNIST. Every file may be plain or gzip-compressed.
 */
import { DataError } from './errors.js';
import { readBytes, readRecords, type ImageDataset, type RecordRange } from './dataset.js';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
export const STL10_CLASSES = ['airplane', 'bird', 'car', 'cat', 'deer', 'dog', 'horse', 'monkey', 'ship', 'truck'];
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

const CIFAR_PIXELS = 3 * 32 * 32;

export interface CifarOptions {
  /** Class names to attach (default: CIFAR-10's for readCifar10, none for readCifar100). */
  classes?: string[];
}

export interface Cifar100Options extends CifarOptions {
  /** Which label byte to use: 'fine' (100 classes, default) or 'coarse' (20 superclasses). */
  label?: 'fine' | 'coarse';
}

/** Read one or more CIFAR-10 binary batch files (1 label byte + 3072 pixel bytes per record). */
export function readCifar10(files: string | readonly string[], opts: CifarOptions = {}): ImageDataset {
  const ds = readCifar(toList(files), 1, 0, 10);
  ds.classes = opts.classes ?? CIFAR10_CLASSES.slice();
  return ds;
}

/** Read one or more CIFAR-100 binary files (coarse label byte, fine label byte, 3072 pixel bytes). */
export function readCifar100(files: string | readonly string[], opts: Cifar100Options = {}): ImageDataset {
  const fine = (opts.label ?? 'fine') === 'fine';
  const ds = readCifar(toList(files), 2, fine ? 1 : 0, fine ? 100 : 20);
  if (opts.classes) ds.classes = opts.classes;
  return ds;
}

function toList(files: string | readonly string[]): string[] {
  const list = typeof files === 'string' ? [files] : [...files];
  if (list.length === 0) throw new DataError(null, 'no CIFAR files given');
  return list;
}

function readCifar(files: string[], labelBytes: number, labelAt: number, numClasses: number): ImageDataset {
  const record = labelBytes + CIFAR_PIXELS;
  const datas = files.map((f) => {
    const data = readBytes(f);
    if (data.length === 0) throw new DataError(f, 'file is empty');
    if (data.length % record !== 0) {
      throw new DataError(f, `size ${data.length} is not a multiple of the ${record}-byte CIFAR record ` +
        `(${Math.floor(data.length / record)} whole records and ${data.length % record} bytes of a truncated one)`);
    }
    return data;
  });
  const n = datas.reduce((s, d) => s + d.length / record, 0);
  const images = new Uint8Array(n * CIFAR_PIXELS);
  const labels = new Int32Array(n);
  let at = 0;
  files.forEach((f, fi) => {
    const d = datas[fi];
    const count = d.length / record;
    for (let r = 0; r < count; r++) {
      const off = r * record;
      const label = d[off + labelAt];
      if (label >= numClasses) throw new DataError(f, `record ${r}: label ${label} is out of range 0..${numClasses - 1}`);
      labels[at] = label;
      images.set(d.subarray(off + labelBytes, off + record), at * CIFAR_PIXELS);
      at++;
    }
  });
  return { images, labels, n, channels: 3, height: 32, width: 32 };
}

const STL_SIDE = 96;
const STL_PIXELS = 3 * STL_SIDE * STL_SIDE;

/**
 * Read STL-10 binary images (train_X.bin, test_X.bin, unlabeled_X.bin: uint8 3x96x96 per image,
 * each channel stored column-major; transposed here to row-major) and, if given, the labels file
 * (train_y.bin / test_y.bin: one byte 1..10 per image, returned as 0..9). `range` reads only
 * images [start, start + count); plain files are read by range, so the 2.8 GB unlabeled_X.bin works.
 */
export function readStl10(imagesFile: string, labelsFile: string | null = null, range: RecordRange = {}): ImageDataset {
  const { data: src, total, start, count: n } = readRecords(imagesFile, STL_PIXELS, 'STL-10 image (3x96x96)', range);
  const images = new Uint8Array(src.length);
  const plane = STL_SIDE * STL_SIDE;
  for (let p = 0; p < n * 3; p++) {
    const base = p * plane;
    for (let x = 0; x < STL_SIDE; x++) {
      const col = base + x * STL_SIDE;
      for (let y = 0; y < STL_SIDE; y++) images[base + y * STL_SIDE + x] = src[col + y];
    }
  }
  let labels: Int32Array | null = null;
  if (labelsFile !== null) {
    const raw = readBytes(labelsFile);
    if (raw.length !== total) {
      throw new DataError(labelsFile, `holds ${raw.length} labels but ${imagesFile} holds ${total} images`);
    }
    labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = raw[start + i];
      if (v < 1 || v > 10) throw new DataError(labelsFile, `label ${start + i} is ${v}, expected 1..10`);
      labels[i] = v - 1;
    }
  }
  return { images, labels, n, channels: 3, height: STL_SIDE, width: STL_SIDE, classes: STL10_CLASSES.slice() };
}

export const IDX_IMAGES_MAGIC = 2051;
export const IDX_LABELS_MAGIC = 2049;

export interface IdxOptions {
  /** Class names to attach (default: the digits '0'..'9'). */
  classes?: string[];
}

/**
 * Read MNIST / Fashion-MNIST idx files: images (magic 2051, then N, rows, cols as big-endian u32,
 * then N*rows*cols bytes) and optionally labels (magic 2049, N, then N bytes), each below the number
 * of classes (10 unless `opts.classes` says otherwise), as the CIFAR and STL-10 readers check theirs.
 */
export function readIdx(imagesFile: string, labelsFile: string | null = null, opts: IdxOptions = {}): ImageDataset {
  const d = readBytes(imagesFile);
  if (d.length < 4) throw new DataError(imagesFile, `too short for an idx image header (${d.length} bytes, need 16)`);
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const magic = dv.getUint32(0, false);
  if (magic !== IDX_IMAGES_MAGIC) {
    const hint = magic === IDX_LABELS_MAGIC ? ' (this is an idx label file)' : '';
    throw new DataError(imagesFile, `wrong magic number ${magic}, expected ${IDX_IMAGES_MAGIC} for idx images${hint}`);
  }
  if (d.length < 16) throw new DataError(imagesFile, `too short for an idx image header (${d.length} bytes, need 16)`);
  const n = dv.getUint32(4, false), rows = dv.getUint32(8, false), cols = dv.getUint32(12, false);
  const expected = 16 + n * rows * cols;
  if (d.length !== expected) {
    throw new DataError(imagesFile, `size ${d.length} does not match the header (${n} images of ${rows}x${cols} need ${expected} bytes)` +
      (d.length < expected ? ': file is truncated' : ''));
  }
  const images = d.slice(16);
  let labels: Int32Array | null = null;
  if (labelsFile !== null) {
    const l = readBytes(labelsFile);
    if (l.length < 4) throw new DataError(labelsFile, `too short for an idx label header (${l.length} bytes, need 8)`);
    const lv = new DataView(l.buffer, l.byteOffset, l.byteLength);
    const lm = lv.getUint32(0, false);
    if (lm !== IDX_LABELS_MAGIC) {
      const hint = lm === IDX_IMAGES_MAGIC ? ' (this is an idx image file)' : '';
      throw new DataError(labelsFile, `wrong magic number ${lm}, expected ${IDX_LABELS_MAGIC} for idx labels${hint}`);
    }
    if (l.length < 8) throw new DataError(labelsFile, `too short for an idx label header (${l.length} bytes, need 8)`);
    const ln = lv.getUint32(4, false);
    if (l.length !== 8 + ln) {
      throw new DataError(labelsFile, `size ${l.length} does not match the header (${ln} labels need ${8 + ln} bytes)` +
        (l.length < 8 + ln ? ': file is truncated' : ''));
    }
    if (ln !== n) throw new DataError(labelsFile, `holds ${ln} labels but ${imagesFile} holds ${n} images`);
    const numClasses = (opts.classes ?? MNIST_CLASSES).length;
    labels = Int32Array.from(l.subarray(8));
    const bad = labels.findIndex((v) => v >= numClasses);
    if (bad >= 0) throw new DataError(labelsFile, `label ${bad} is ${labels[bad]}, out of range 0..${numClasses - 1} (${numClasses} classes)`);
  }
  return { images, labels, n, channels: 1, height: rows, width: cols, classes: opts.classes ?? MNIST_CLASSES.slice() };
}

/** MNIST and Fashion-MNIST share the idx format. */
export const readMnist = readIdx;

/** Fashion-MNIST: readIdx with Fashion-MNIST's class names. */
export function readFashionMnist(imagesFile: string, labelsFile: string | null = null): ImageDataset {
  return readIdx(imagesFile, labelsFile, { classes: FASHION_MNIST_CLASSES.slice() });
}

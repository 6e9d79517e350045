/**
 * Images for the page: the shipped CIFAR-10 demo records (gzip, fetched and inflated by the
 * browser), or the user's own PNG/JPEG files decoded by the browser, center-cropped to a square and
 * resized to 32 x 32 (one subfolder per class gives labels, and with them the kNN monitor).
 */
import type { ImageDataset } from '../simclr/browser.js';
import type { PageData } from './run.js';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const RECORD = 1 + 3 * 32 * 32;
/** Side of the images the page trains on (the user's images are resized to it). */
export const IMAGE_SIZE = 32;

/** A file the page could not use, named in the message. */
export class ImageInputError extends Error {}

async function gunzip(res: Response, url: string): Promise<Uint8Array> {
  if (!res.ok) throw new ImageInputError(`cannot load ${url}: HTTP ${res.status}`);
  // The whole download first: inflating straight from the network stream may cancel the request
  // when the inflater ends (Chromium then logs the fetch as aborted).
  const stream = new Blob([await res.arrayBuffer()]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** CIFAR-10 binary records (label byte + 3072 planar RGB bytes) as an image set. */
export function parseCifar10(bytes: Uint8Array, what: string): ImageDataset {
  if (bytes.length === 0 || bytes.length % RECORD !== 0) throw new ImageInputError(`${what}: ${bytes.length} bytes is not a whole number of ${RECORD}-byte CIFAR-10 records`);
  const n = bytes.length / RECORD;
  const images = new Uint8Array(n * (RECORD - 1));
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = bytes[i * RECORD];
    images.set(bytes.subarray(i * RECORD + 1, (i + 1) * RECORD), i * (RECORD - 1));
  }
  return { images, labels, n, channels: 3, height: 32, width: 32, classes: CIFAR10_CLASSES };
}

/** The demo's 1,500 training and 500 test images, from `base` (the package's data/cifar10-demo/). */
export async function loadDemo(base: URL): Promise<PageData> {
  const files = ['data_batch_1.first1500.bin.gz', 'test_batch.first500.bin.gz'];
  const [train, test] = await Promise.all(files.map(async (f) => {
    const url = new URL(f, base).href;
    return parseCifar10(await gunzip(await fetch(url), url), f);
  }));
  return { train: train!, test: test!, classes: CIFAR10_CLASSES, format: 'cifar10', source: 'CIFAR-10 demo (1,500 train + 500 test images)' };
}

/** A file with the folder it came from (the class, when images sit in one folder per class). */
export interface InputFile { file: File; folder: string }

const decodable = (f: File) => /^image\/(png|jpeg)$/.test(f.type) || /\.(png|jpe?g)$/i.test(f.name);

/** One image, center-cropped to a square and resized, as planar RGB bytes. */
async function decodeImage(file: File, ctx: OffscreenCanvasRenderingContext2D): Promise<Uint8Array> {
  let bmp: ImageBitmap;
  try { bmp = await createImageBitmap(file); } catch {
    throw new ImageInputError(`${file.name} is not an image the browser can decode (PNG or JPEG)`);
  }
  const side = Math.min(bmp.width, bmp.height);
  ctx.clearRect(0, 0, IMAGE_SIZE, IMAGE_SIZE);
  ctx.drawImage(bmp, (bmp.width - side) / 2, (bmp.height - side) / 2, side, side, 0, 0, IMAGE_SIZE, IMAGE_SIZE);
  bmp.close();
  const rgba = ctx.getImageData(0, 0, IMAGE_SIZE, IMAGE_SIZE).data;
  const px = IMAGE_SIZE * IMAGE_SIZE;
  const out = new Uint8Array(3 * px);
  for (let i = 0; i < px; i++) for (let c = 0; c < 3; c++) out[c * px + i] = rgba[4 * i + c]!;
  return out;
}

/**
 * The user's images. Files that are not PNG/JPEG are refused by name (`onSkip`), as are images
 * the browser cannot decode. With two or more folders every image is labelled by its folder and
 * every fifth image (in the order dropped) is held out as the kNN test split.
 */
export async function loadUserImages(inputs: readonly InputFile[], onSkip: (message: string) => void): Promise<PageData> {
  const canvas = new OffscreenCanvas(IMAGE_SIZE, IMAGE_SIZE);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  const pixels: Uint8Array[] = [];
  const folders: string[] = [];
  for (const { file, folder } of inputs) {
    if (!decodable(file)) { onSkip(`${file.name} is not a PNG or JPEG image: skipped`); continue; }
    try { pixels.push(await decodeImage(file, ctx)); folders.push(folder); } catch (e) {
      if (!(e instanceof ImageInputError)) throw e;
      onSkip(`${e.message}: skipped`);
    }
  }
  if (pixels.length === 0) throw new ImageInputError('none of the dropped files is a PNG or JPEG image');
  const classes = [...new Set(folders)].sort();
  const labelled = classes.length >= 2;
  const size = 3 * IMAGE_SIZE * IMAGE_SIZE;
  const make = (idx: number[]): ImageDataset => {
    const images = new Uint8Array(idx.length * size);
    idx.forEach((j, k) => images.set(pixels[j]!, k * size));
    return {
      images, n: idx.length, channels: 3, height: IMAGE_SIZE, width: IMAGE_SIZE,
      labels: labelled ? Int32Array.from(idx, (j) => classes.indexOf(folders[j]!)) : null,
      ...(labelled ? { classes } : {}),
    };
  };
  const all = pixels.map((_, i) => i);
  const source = `${pixels.length} dropped image${pixels.length === 1 ? '' : 's'}${labelled ? ` in ${classes.length} folders` : ''}`;
  if (!labelled) return { train: make(all), test: null, classes: null, format: 'folder', source };
  const test = all.filter((i) => i % 5 === 4);
  return { train: make(all.filter((i) => i % 5 !== 4)), test: make(test), classes, format: 'folder', source };
}

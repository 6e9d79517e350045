/**
 * The in-memory image set the trainer, loader and evaluation take: no file I/O here, so it loads in
 * browsers (the Node readers in dataset.ts, binary.ts, png.ts fill it from files; a page from
 * fetched or dropped images).
 */

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

/** Images per class: `counts[c]` for each c < numClasses (labels at or above it are not counted). */
export function labelCounts(labels: ArrayLike<number>, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) if (labels[i] < numClasses) counts[labels[i]]++;
  return counts;
}

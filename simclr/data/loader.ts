/**
 * Seeded, shuffled mini-batches over an ImageDataset, gathered on the host into one Uint8Array per
 * batch. Iterating the loader (`for await (const b of loader)`) runs the rest of the current epoch
 * and assembles batch i+1 in a macrotask (setImmediate) while the caller works on batch i, so GPU
 * work the caller queued can be submitted in between. The state (epoch, position, RNG state at the
 * start of the epoch) can be saved and restored to resume training exactly where it stopped.
 */
import { Random } from '../../engine/random.js';
import { ArgumentError } from '../../engine/errors.js';
import { imageSize, type ImageDataset } from './image-set.js';

export interface BatchLoaderOptions {
  batchSize: number;
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
  /** Seed of the shuffling RNG (default 0). */
  seed?: number;
  /** Drop the last, smaller batch of an epoch (default true). */
  dropLast?: boolean;
}

export interface Batch {
  /** size x C x H x W bytes, channel-planar like the data set. */
  images: Uint8Array;
  /** Labels of the batch's images, or null for an unlabeled data set. */
  labels: Int32Array | null;
  /** Indices of the images in the data set. */
  indices: Int32Array;
  size: number;
  epoch: number;
  /** Batch number within the epoch. */
  index: number;
}

/** Plain JSON-able loader state. */
export interface LoaderState {
  epoch: number;
  /** Batches of this epoch already handed out. */
  position: number;
  /** RNG state from which this epoch's order was drawn. */
  rng: number[];
}

export class BatchLoader {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly batchesPerEpoch: number;
  private readonly rng: Random;
  private epochNum = 0;
  private pos = 0;
  private epochRng: number[] = [];
  private order = new Int32Array(0);
  /** True while an epochBatches() iterator is running; next() and setState() are refused then. */
  private live = false;

  constructor(readonly dataset: ImageDataset, opts: BatchLoaderOptions) {
    const { batchSize } = opts;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new ArgumentError('BatchLoader', `batchSize must be a positive integer, got ${batchSize}`);
    }
    this.batchSize = batchSize;
    this.shuffle = opts.shuffle ?? true;
    this.dropLast = opts.dropLast ?? true;
    const n = dataset.n;
    this.batchesPerEpoch = this.dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
    if (this.batchesPerEpoch === 0) {
      throw new ArgumentError('BatchLoader', `data set of ${n} images gives no batch of ${batchSize}` +
        (this.dropLast ? ' with dropLast' : ''));
    }
    this.rng = new Random(opts.seed ?? 0);
    this.startEpoch();
  }

  get epoch(): number { return this.epochNum; }
  get position(): number { return this.pos; }

  getState(): LoaderState {
    return { epoch: this.epochNum, position: this.pos, rng: this.epochRng.slice() };
  }

  setState(state: LoaderState): void {
    this.refuseWhileLive('setState');
    const { epoch, position, rng } = state;
    if (!Number.isInteger(epoch) || epoch < 0 || !Number.isInteger(position) || position < 0 ||
        position >= this.batchesPerEpoch || !Array.isArray(rng) || rng.length < 4) {
      throw new ArgumentError('BatchLoader.setState', `invalid state ${JSON.stringify(state)} ` +
        `(position must be in 0..${this.batchesPerEpoch - 1}, rng four words)`);
    }
    this.rng.setState(rng.slice(0, 4));
    this.startEpoch();
    this.epochNum = epoch;
    this.pos = position;
  }

  /** Draw the order of a new epoch from the RNG's current state. */
  private startEpoch(): void {
    this.epochRng = this.rng.getState().slice(0, 4);
    const n = this.dataset.n;
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    if (this.shuffle) {
      for (let i = n - 1; i > 0; i--) {
        const j = this.rng.int(i + 1);
        const t = order[i]; order[i] = order[j]; order[j] = t;
      }
    }
    this.order = order;
    this.pos = 0;
  }

  /** Hand out the next batch synchronously and advance (to the next epoch after its last batch). */
  next(): Batch {
    this.refuseWhileLive('next');
    const b = this.assemble(this.order, this.epochNum, this.pos);
    this.advance();
    return b;
  }

  private refuseWhileLive(what: string): void {
    if (this.live) {
      throw new ArgumentError(`BatchLoader.${what}`, 'an epoch iterator of this loader is running; finish or break it first');
    }
  }

  private advance(): void {
    this.pos++;
    if (this.pos >= this.batchesPerEpoch) {
      this.epochNum++;
      this.startEpoch();
    }
  }

  /** Gather one batch of the given epoch order. */
  private assemble(order: Int32Array, epoch: number, index: number): Batch {
    const ds = this.dataset;
    const start = index * this.batchSize;
    const size = Math.min(this.batchSize, ds.n - start);
    const per = imageSize(ds);
    const images = new Uint8Array(size * per);
    const indices = order.slice(start, start + size);
    const labels = ds.labels ? new Int32Array(size) : null;
    for (let k = 0; k < size; k++) {
      const i = indices[k];
      images.set(ds.images.subarray(i * per, (i + 1) * per), k * per);
      if (labels) labels[k] = ds.labels![i];
    }
    return { images, labels, indices, size, epoch, index };
  }

  private assembleLater(order: Int32Array, epoch: number, index: number): Promise<Batch> {
    return new Promise((resolve, reject) => {
      setImmediate(() => {
        try { resolve(this.assemble(order, epoch, index)); } catch (e) { reject(e); }
      });
    });
  }

  /**
   * The remaining batches of the current epoch, each assembled ahead while the previous one is in
   * use. The state advances as each batch is handed out, so a state saved while working on batch i
   * resumes at batch i+1. next() and setState() throw while this iterator runs.
   */
  async *epochBatches(): AsyncGenerator<Batch, void, undefined> {
    this.refuseWhileLive('epochBatches');
    this.live = true;
    try {
      const order = this.order, epoch = this.epochNum, total = this.batchesPerEpoch;
      let i = this.pos;
      let pending: Promise<Batch> | null = this.assembleLater(order, epoch, i);
      while (pending) {
        const batch: Batch = await pending;
        pending = i + 1 < total ? this.assembleLater(order, epoch, i + 1) : null;
        this.advance();
        i++;
        yield batch;
      }
    } finally {
      this.live = false;
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<Batch, void, undefined> { return this.epochBatches(); }
}

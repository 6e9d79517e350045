/**
 * GPU buffer pool. Sizes are rounded up to classes (4 per power of two, so at most 25% slack) and
 * released buffers wait in per-class free lists for reuse: a training step asks for the same sizes
 * every iteration, so after the first step it allocates nothing.
 *
 * A class hands out its free buffer that was created first, not the one freed last: which buffer an
 * allocation gets then depends on which are free, not on the order the previous step freed them
 * in, so a training step settles on the same buffers for the same tensors within a few steps, and
 * the backend's bind groups (cached by the buffers they bind) are reused instead of created again.
 * Last-freed-first (a stack) kept shuffling them: about 200 new bind groups per SimCLR step at
 * width 0.25, 24 us of host time each; none now (with Tensor.assign keeping small tensors in their
 * own buffers).
 */
export const MIN_CLASS_BYTES = 256;

export function sizeClass(bytes: number): number {
  if (bytes <= MIN_CLASS_BYTES) return MIN_CLASS_BYTES;
  const p = 2 ** Math.floor(Math.log2(bytes));
  const step = p / 4;
  return Math.ceil(bytes / step) * step;
}

export class BufferPool {
  /** Per class, free buffers by creation order, last created first (so pop() gives the first). */
  private free = new Map<number, GPUBuffer[]>();
  private created = new WeakMap<GPUBuffer, number>();
  private nextCreated = 0;
  pooledBuffers = 0;
  pooledBytes = 0;

  constructor(private device: GPUDevice, private usage: GPUBufferUsageFlags) {}

  acquire(bytes: number): { buffer: GPUBuffer; classBytes: number } {
    const classBytes = sizeClass(bytes);
    const list = this.free.get(classBytes);
    const reused = list?.pop();
    if (reused) {
      this.pooledBuffers--;
      this.pooledBytes -= classBytes;
      return { buffer: reused, classBytes };
    }
    const buffer = this.device.createBuffer({ size: classBytes, usage: this.usage });
    this.created.set(buffer, this.nextCreated++);
    return { buffer, classBytes };
  }

  give(buffer: GPUBuffer, classBytes: number): void {
    let list = this.free.get(classBytes);
    if (!list) this.free.set(classBytes, (list = []));
    // binary search for the place that keeps the list in descending creation order
    const c = this.created.get(buffer) ?? -1;
    let lo = 0, hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.created.get(list[mid]) ?? -1) > c) lo = mid + 1; else hi = mid;
    }
    list.splice(lo, 0, buffer);
    this.pooledBuffers++;
    this.pooledBytes += classBytes;
  }

  /** Destroys every pooled buffer (live ones are untouched). */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooledBuffers = 0;
    this.pooledBytes = 0;
  }
}

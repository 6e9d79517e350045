/**
 * GPU buffer pool. Sizes are rounded up to classes (4 per power of two, so at most 25% slack) and
 * released buffers wait in per-class free lists for reuse: a training step asks for the same sizes
 * every iteration, so after the first step it allocates nothing.
 */
export const MIN_CLASS_BYTES = 256;

export function sizeClass(bytes: number): number {
  if (bytes <= MIN_CLASS_BYTES) return MIN_CLASS_BYTES;
  const p = 2 ** Math.floor(Math.log2(bytes));
  const step = p / 4;
  return Math.ceil(bytes / step) * step;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
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
    return { buffer: this.device.createBuffer({ size: classBytes, usage: this.usage }), classBytes };
  }

  give(buffer: GPUBuffer, classBytes: number): void {
    let list = this.free.get(classBytes);
    if (!list) this.free.set(classBytes, (list = []));
    list.push(buffer);
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

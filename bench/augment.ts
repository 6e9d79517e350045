/**
 * Augmentation throughput: two SimCLR views per image, on the device, for CIFAR-sized (32x32, CIFAR
 * preset) and STL-sized (96x96, STL preset with blur) batches of random uint8 images. Images per
 * second counts source images (each yields two views); parameter drawing and upload included.
 */
import { Random } from '../engine/random.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import { augmentBatch, cifarAugment, stlAugment, type AugmentConfig, type ImageBatch } from '../simclr/augment.js';
import { median, timeCalls } from './common.js';

export interface AugmentRecord { name: string; batch: number; size: number; msPerBatch: number; imagesPerSecond: number; samplesMs: number[] }

export async function benchAugment(backend: WebGpuBackend, opts: { samples: number; quick: boolean }): Promise<AugmentRecord[]> {
  const cases: [string, number, number, AugmentConfig][] = [
    ['cifar 32x32', opts.quick ? 128 : 512, 32, cifarAugment(32)],
    ['stl 96x96', opts.quick ? 32 : 128, 96, stlAugment(96)],
  ];
  const out: AugmentRecord[] = [];
  for (const [name, n, size, cfg] of cases) {
    const data = new Random(3);
    const images = new Uint8Array(n * 3 * size * size);
    for (let i = 0; i < images.length; i++) images[i] = data.nextU32() & 255;
    const batch: ImageBatch = { images, n, channels: 3, height: size, width: size };
    const rng = new Random(1);
    const once = () => timeCalls(() => augmentBatch(backend, batch, rng, cfg).dispose(), () => backend.sync(), 1);
    await once(); // pipelines compile
    const ms: number[] = [];
    for (let s = 0; s < opts.samples; s++) ms.push(await once());
    const m = median(ms);
    out.push({ name, batch: n, size, msPerBatch: m, imagesPerSecond: (n / m) * 1000, samplesMs: ms });
  }
  return out;
}

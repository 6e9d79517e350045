/**
 * Node-side file I/O for weights and run outputs: atomic writes, safetensors files. Kept out of
 * nn/index.ts so `simclr-webgpu/nn` loads in browsers; Node gets these through nn/node.ts (the
 * package's `node` condition of `simclr-webgpu/nn`).
 */
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Module, StateDictLike } from './module.js';
import { SafetensorsError, decodeSafetensors, moduleToSafetensors, type SafetensorsDict } from './safetensors.js';

/**
 * Writes a module's state dict (or a state dict) to `path` atomically (see writeFileAtomic); f32
 * tensors are stored as F32, i32/u32 tensors (num_batches_tracked) as I64, as torchvision does.
 */
export async function saveSafetensors(path: string, source: Module | StateDictLike, metadata?: Readonly<Record<string, string>>): Promise<void> {
  let bytes: Uint8Array;
  try { bytes = await moduleToSafetensors(source, metadata); } catch (e) {
    if (e instanceof SafetensorsError && e.source === undefined) throw new SafetensorsError(path, e.message.replace(/^safetensors: /, ''));
    throw e;
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, bytes);
}

/**
 * Writes bytes to a temporary file in `path`'s directory, syncs it, then renames it over `path`, so
 * a crash leaves either the old file or the new one, never half of one. `afterTempWrite` lets tests
 * simulate a crash between the two steps.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array, afterTempWrite?: (tmp: string, path: string) => unknown): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`);
  try {
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await afterTempWrite?.(tmp, path);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

/** Reads and validates a safetensors file; pass the result to module.loadStateDict(). */
export async function loadSafetensors(path: string): Promise<SafetensorsDict> {
  const bytes = await readFile(path);
  return decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

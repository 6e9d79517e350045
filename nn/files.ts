/**
 * Node-side file I/O for weights and run outputs: atomic writes, safetensors files. Kept out of
 * nn/index.ts so `simclr-webgpu/nn` loads in browsers; Node gets these through nn/node.ts (the
 * package's `node` condition of `simclr-webgpu/nn`).
 */
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Module, StateDictLike } from './module.js';
import {
  MAX_HEADER_BYTES, SafetensorsDict, SafetensorsError, decodeSafetensorsHeader, decodeSafetensorsTensor, moduleToSafetensors,
} from './safetensors.js';

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

/** Bytes per read call (Node reads at most 2 GiB - 1 at once; smaller reads measured faster here). */
const READ_CHUNK = 1 << 26;

/**
 * Reads and validates a safetensors file; pass the result to module.loadStateDict(). The header is
 * read and checked first, then each tensor's bytes on their own, in reads of 64 MiB, so
 * files over 2 GiB load (one tensor may be up to 4 GiB, Node's largest buffer) and the file is
 * never held twice. A missing file, a directory or an unreadable file is a SafetensorsError
 * naming the file.
 */
export async function loadSafetensors(path: string): Promise<SafetensorsDict> {
  const fail: (detail: string) => never = (detail) => { throw new SafetensorsError(path, detail); };
  let fh: FileHandle;
  try { fh = await open(path, 'r'); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : `cannot open (${(e as Error).message})`);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) fail('is a directory, expected a safetensors file');
    const size = st.size;
    const readAt = async (pos: number, length: number): Promise<Uint8Array> => {
      let b: Uint8Array;
      try { b = new Uint8Array(length); } catch { return fail(`${length} bytes at ${pos} do not fit in one buffer (at most ${2 ** 32 - 1})`); }
      for (let done = 0; done < length;) {
        let got: number;
        try { ({ bytesRead: got } = await fh.read(b, done, Math.min(READ_CHUNK, length - done), pos + done)); } catch (e) {
          return fail(`cannot read (${(e as Error).message})`);
        }
        if (got === 0) fail(`the file ended at byte ${pos + done} while ${size} were expected (did it change while being read?)`);
        done += got;
      }
      return b;
    };
    let head = await readAt(0, Math.min(size, 8));
    if (size >= 8) {
      // the header's length is checked by decodeSafetensorsHeader; read it only when it is plausible
      const n = new DataView(head.buffer).getBigUint64(0, true);
      if (n <= BigInt(MAX_HEADER_BYTES) && 8n + n <= BigInt(size)) head = await readAt(0, 8 + Number(n));
    }
    const layout = decodeSafetensorsHeader(head, size, path);
    const out = new SafetensorsDict();
    out.metadata = layout.metadata;
    for (const t of layout.tensors) {
      out.set(t.name, decodeSafetensorsTensor(t, await readAt(layout.dataStart + t.begin, t.end - t.begin), path, true));
    }
    return out;
  } finally {
    await fh.close();
  }
}

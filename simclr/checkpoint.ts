/**
 * Resumable training checkpoints in a directory (Node; the bytes are checkpoint-bytes.ts). `saveCheckpoint(dir, ...)` writes `<dir>/checkpoint-<step>.safetensors`:
 * the model's state dict under its torchvision names (F32; i32 counters as I64, as saveSafetensors
 * writes them), the optimizer state under 'optimizer.' (e.g. 'optimizer.momentum.3'), and in the
 * safetensors __metadata__ JSON strings for step, epoch, the RNG state, the loader state, the config
 * and metrics. The file is written to a temporary file in the same directory, synced and renamed, then
 * `<dir>/latest.json` is replaced the same way, so a crash at any point leaves the previous
 * checkpoint and pointer intact. `resumeFrom(dir, ...)` restores model, optimizer, RNG and loader.
 *
 * Precision: tensors are stored as F32, so on the WebGPU backend (f32) a resumed run continues
 * bit-exactly; on the CPU backend (float64 storage) the state is rounded to f32 at the checkpoint.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../nn/files.js';
import {
  CheckpointError, decodeCheckpoint, encodeCheckpoint, restoreCheckpoint, type LoadedCheckpoint, type ResumeOptions,
  type SaveCheckpointOptions,
} from './checkpoint-bytes.js';

export * from './checkpoint-bytes.js';

/** @internal Test hooks for crash simulation. */
export interface CheckpointHooks {
  /** Called after a temporary file was written and synced, before it is renamed. */
  afterTempWrite?(tmpPath: string, finalPath: string): void | Promise<void>;
}

export function checkpointFileName(step: number): string { return `checkpoint-${step}.safetensors`; }

/** Writes `<dir>/checkpoint-<step>.safetensors` and then `<dir>/latest.json`, each atomically. Returns the path. */
export async function saveCheckpoint(dir: string, opts: SaveCheckpointOptions, hooks?: CheckpointHooks): Promise<string> {
  const { step, epoch } = opts;
  const file = checkpointFileName(step);
  const path = join(dir, file);
  const bytes = await encodeCheckpoint(opts, path);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(path, bytes, (t, f) => hooks?.afterTempWrite?.(t, f));
  const pointer = JSON.stringify({ checkpoint: file, step, epoch }, null, 2) + '\n';
  await writeFileAtomic(join(dir, 'latest.json'), new TextEncoder().encode(pointer), (t, f) => hooks?.afterTempWrite?.(t, f));
  return path;
}

/** Reads the checkpoint `<dir>/latest.json` points at, validating it. */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const st = await stat(dir).catch(() => null);
  if (!st || !st.isDirectory()) throw new CheckpointError(`no checkpoint: directory '${dir}' does not exist`);
  const pointerPath = join(dir, 'latest.json');
  const pointerText = await readFile(pointerPath, 'utf8').catch(() => null);
  if (pointerText === null) throw new CheckpointError(`no checkpoint in '${dir}' (${pointerPath} is missing)`);
  let file: unknown;
  try { file = (JSON.parse(pointerText) as { checkpoint?: unknown }).checkpoint; } catch { file = undefined; }
  if (typeof file !== 'string' || file !== basename(file) || !file.endsWith('.safetensors')) {
    throw new CheckpointError(`${pointerPath}: corrupt pointer (expected {"checkpoint": "checkpoint-<step>.safetensors", ...})`);
  }
  const path = join(dir, file);
  const bytes = await readFile(path).catch(() => null);
  if (bytes === null) throw new CheckpointError(`${pointerPath} points at ${path}, which is missing`);
  return decodeCheckpoint(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

/**
 * Restores model, optimizer, RNG and (if given) loader from the latest checkpoint in `dir`. Everything
 * is validated (config, loader state presence) before anything is modified.
 */
export async function resumeFrom(dir: string, opts: ResumeOptions): Promise<LoadedCheckpoint> {
  return restoreCheckpoint(await loadCheckpoint(dir), opts);
}

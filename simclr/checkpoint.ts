/**
 * Resumable training checkpoints in a directory (Node; the bytes are checkpoint-bytes.ts). `saveCheckpoint(dir, ...)` writes `<dir>/checkpoint-<step>.safetensors`:
 * the model's state dict under its torchvision names (F32; i32 counters as I64, as saveSafetensors
 * writes them), the optimizer state under 'optimizer.' (e.g. 'optimizer.momentum.3'), and in the
 * safetensors __metadata__ JSON strings for step, epoch, the RNG state, the loader state, the config,
 * metrics and a checksum. The file is written to a temporary file in the same directory, synced and
 * renamed, then `<dir>/latest.json` is replaced the same way, so a crash (or a full disk) at any
 * point leaves the previous checkpoint and pointer intact. `resumeFrom(dir, ...)` restores model,
 * optimizer, RNG and loader.
 *
 * When latest.json is missing or corrupt, or the checkpoint it names is missing or fails
 * validation (checksum included), loadCheckpoint takes the newest checkpoint-<step>.safetensors that
 * validates and says why in `fallback`.
 *
 * Precision: tensors are stored as F32, so on the WebGPU backend (f32) a resumed run continues
 * bit-exactly; on the CPU backend (float64 storage) the state is rounded to f32 at the checkpoint.
 */
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../nn/files.js';
import {
  CheckpointError, decodeCheckpoint, encodeCheckpoint, restoreCheckpoint, type LoadedCheckpoint, type ResumeOptions,
  type SaveCheckpointOptions,
} from './checkpoint-bytes.js';
import { withPath } from './fs-error.js';

export * from './checkpoint-bytes.js';

/** @internal Test hooks for crash simulation. */
export interface CheckpointHooks {
  /** Called after a temporary file was written and synced, before it is renamed. */
  afterTempWrite?(tmpPath: string, finalPath: string): void | Promise<void>;
}

export function checkpointFileName(step: number): string { return `checkpoint-${step}.safetensors`; }

const CHECKPOINT_FILE = /^checkpoint-(\d+)\.safetensors$/;

/** The checkpoint files of `names` (a directory listing), newest (highest step) first. */
export function checkpointFiles(names: readonly string[]): string[] {
  return names.filter((n) => CHECKPOINT_FILE.test(n)).sort((a, b) => Number(CHECKPOINT_FILE.exec(b)![1]) - Number(CHECKPOINT_FILE.exec(a)![1]));
}

/** Writes `<dir>/checkpoint-<step>.safetensors` and then `<dir>/latest.json`, each atomically. Returns the path. */
export async function saveCheckpoint(dir: string, opts: SaveCheckpointOptions, hooks?: CheckpointHooks): Promise<string> {
  const { step, epoch } = opts;
  const file = checkpointFileName(step);
  const path = join(dir, file);
  const bytes = await encodeCheckpoint(opts, path);
  // A failed write (a full disk) removes its temporary file, and latest.json still names the previous checkpoint.
  const kept = '; the previous checkpoint and latest.json are unchanged';
  await withPath('create checkpoint directory', dir, () => mkdir(dir, { recursive: true }));
  await withPath('write checkpoint', path, () => writeFileAtomic(path, bytes, (t, f) => hooks?.afterTempWrite?.(t, f)), kept);
  const pointer = JSON.stringify({ checkpoint: file, step, epoch }, null, 2) + '\n';
  const pointerPath = join(dir, 'latest.json');
  await withPath('write', pointerPath, () => writeFileAtomic(pointerPath, new TextEncoder().encode(pointer), (t, f) => hooks?.afterTempWrite?.(t, f)), kept);
  return path;
}

/** Reads and validates one checkpoint file (structure, format, checksum); errors name the file. */
export async function readCheckpointFile(path: string, fallback: string | null = null): Promise<LoadedCheckpoint> {
  const bytes = await readFile(path).catch((e: NodeJS.ErrnoException) => {
    throw new CheckpointError(`cannot read checkpoint ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.message}`);
  });
  return { ...decodeCheckpoint(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path), fallback };
}

/**
 * Reads the checkpoint `<dir>/latest.json` points at, validating it; when latest.json is missing or
 * corrupt or its checkpoint is missing or fails validation, the newest checkpoint that validates
 * (`fallback` says why). Throws when none does, naming each problem.
 */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const st = await stat(dir).catch(() => null);
  if (!st || !st.isDirectory()) throw new CheckpointError(`no checkpoint: directory '${dir}' does not exist`);
  const pointerPath = join(dir, 'latest.json');
  const pointerText = await readFile(pointerPath, 'utf8').catch(() => null);
  let named: string | null = null;
  let problem: string;
  if (pointerText === null) {
    problem = `no checkpoint in '${dir}' (${pointerPath} is missing)`;
  } else {
    let file: unknown;
    try { file = (JSON.parse(pointerText) as { checkpoint?: unknown }).checkpoint; } catch { file = undefined; }
    if (typeof file !== 'string' || file !== basename(file) || !file.endsWith('.safetensors')) {
      problem = `${pointerPath}: corrupt pointer (expected {"checkpoint": "checkpoint-<step>.safetensors", ...})`;
    } else {
      named = file;
      try {
        return await readCheckpointFile(join(dir, file));
      } catch (e) {
        if (!(e instanceof CheckpointError)) throw e;
        problem = /: no such file$/.test(e.message) ? `${pointerPath} points at ${join(dir, file)}, which is missing` : e.message.replace(/^checkpoint: /, '');
      }
    }
  }
  const tried: string[] = [];
  const why = pointerText === null ? `${pointerPath} is missing` : problem;
  for (const name of checkpointFiles(await readdir(dir).catch(() => [])).filter((n) => n !== named)) {
    try {
      return await readCheckpointFile(join(dir, name), `${why}; ${tried.length ? `skipped ${tried.join('; ')}; ` : ''}using ${name}, the newest checkpoint that validates`);
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      tried.push(e.message.replace(/^checkpoint: /, ''));
    }
  }
  throw new CheckpointError(tried.length ? `${problem}; no other checkpoint validates: ${tried.join('; ')}` : problem);
}

/**
 * Restores model, optimizer, RNG and (if given) loader from the latest checkpoint in `dir`. Everything
 * is validated (config, loader state presence) before anything is modified.
 */
export async function resumeFrom(dir: string, opts: ResumeOptions): Promise<LoadedCheckpoint> {
  return restoreCheckpoint(await loadCheckpoint(dir), opts);
}

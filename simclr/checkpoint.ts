/**
 * Resumable training checkpoints. `saveCheckpoint(dir, ...)` writes `<dir>/checkpoint-<step>.safetensors`:
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
import { EngineError } from '../engine/errors.js';
import type { Random } from '../engine/random.js';
import type { Tensor } from '../engine/tensor.js';
import type { Module } from '../nn/module.js';
import {
  SafetensorsError, decodeSafetensors, encodeSafetensors, entryToTensor,
  type SafetensorsEntry, type SafetensorsInput,
} from '../nn/safetensors.js';
import { writeFileAtomic } from '../nn/files.js';
import type { BatchLoader, LoaderState } from './data/loader.js';

export const CHECKPOINT_FORMAT = 'webgpu-simclr-checkpoint/1';
const OPT_PREFIX = 'optimizer.';

/** A checkpoint that cannot be written, found, read or applied; the message names the file. */
export class CheckpointError extends EngineError {
  constructor(detail: string) { super('checkpoint', detail); }
}

/** What an optimizer needs for checkpoints (SGD, LARS, Adam and AdamW have it). */
export interface CheckpointableOptimizer {
  stateDict(): Map<string, Tensor>;
  loadStateDict(state: ReadonlyMap<string, Tensor>): void;
}

export interface SaveCheckpointOptions {
  model: Module;
  optimizer: CheckpointableOptimizer;
  /** Optimizer steps taken so far (names the file). */
  step: number;
  epoch: number;
  rng: Random;
  loader?: BatchLoader;
  /** JSON-able training configuration; resumeFrom can check it. */
  config: object;
  metrics?: object;
}

/** @internal Test hooks for crash simulation. */
export interface CheckpointHooks {
  /** Called after a temporary file was written and synced, before it is renamed. */
  afterTempWrite?(tmpPath: string, finalPath: string): void | Promise<void>;
}

export interface LoadedCheckpoint {
  path: string;
  step: number;
  epoch: number;
  rng: number[];
  loader: LoaderState | null;
  config: unknown;
  metrics: unknown;
  /** The model's entries (torchvision names). */
  model: Map<string, SafetensorsEntry>;
  /** The optimizer's entries, without the 'optimizer.' prefix. */
  optimizer: Map<string, SafetensorsEntry>;
}

export interface ResumeOptions {
  model: Module;
  optimizer: CheckpointableOptimizer;
  rng: Random;
  loader?: BatchLoader;
  /** When given, must equal the stored config (JSON, key order ignored); differences are listed. */
  config?: object;
}

export function checkpointFileName(step: number): string { return `checkpoint-${step}.safetensors`; }


async function toInput(name: string, t: Tensor): Promise<SafetensorsInput> {
  if (t.isDisposed) throw new CheckpointError(`tensor '${name}' was disposed`);
  return { dtype: t.dtype === 'f32' ? 'F32' : 'I64', shape: [...t.shape], data: await t.data() };
}

function rngState(rng: Random): (number | null)[] {
  return rng.getState().map((v) => (Number.isNaN(v) ? null : v));
}

/** Writes `<dir>/checkpoint-<step>.safetensors` and then `<dir>/latest.json`, each atomically. Returns the path. */
export async function saveCheckpoint(dir: string, opts: SaveCheckpointOptions, hooks?: CheckpointHooks): Promise<string> {
  const { model, optimizer, step, epoch, rng, loader, config, metrics } = opts;
  if (!Number.isSafeInteger(step) || step < 0) throw new CheckpointError(`step must be a non-negative integer, got ${step}`);
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new CheckpointError(`epoch must be a non-negative integer, got ${epoch}`);
  const inputs = new Map<string, SafetensorsInput>();
  for (const [name, t] of model.stateDict()) inputs.set(name, await toInput(name, t));
  for (const [name, t] of optimizer.stateDict()) {
    const key = OPT_PREFIX + name;
    if (inputs.has(key)) throw new CheckpointError(`optimizer key '${key}' collides with a model state name`);
    inputs.set(key, await toInput(key, t));
  }
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    step: String(step),
    epoch: String(epoch),
    rng: JSON.stringify(rngState(rng)),
    config: JSON.stringify(config),
  };
  if (loader) metadata.loader = JSON.stringify(loader.getState());
  if (metrics !== undefined) metadata.metrics = JSON.stringify(metrics);
  const file = checkpointFileName(step);
  const path = join(dir, file);
  let bytes: Uint8Array;
  try { bytes = encodeSafetensors(inputs, metadata); } catch (e) {
    throw new CheckpointError(`${path}: ${(e as Error).message}`);
  }
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(path, bytes, (t, f) => hooks?.afterTempWrite?.(t, f));
  const pointer = JSON.stringify({ checkpoint: file, step, epoch }, null, 2) + '\n';
  await writeFileAtomic(join(dir, 'latest.json'), new TextEncoder().encode(pointer), (t, f) => hooks?.afterTempWrite?.(t, f));
  return path;
}

function parseJson(path: string, what: string, text: string | undefined, required: boolean): unknown {
  if (text === undefined) {
    if (required) throw new CheckpointError(`${path}: corrupt checkpoint: metadata '${what}' is missing`);
    return undefined;
  }
  try { return JSON.parse(text); } catch {
    throw new CheckpointError(`${path}: corrupt checkpoint: metadata '${what}' is not valid JSON`);
  }
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
  let dict;
  try { dict = decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path); } catch (e) {
    if (e instanceof SafetensorsError) throw new CheckpointError(`corrupt checkpoint file ${path}: ${e.message}`);
    throw e;
  }
  const md = dict.metadata;
  if (md.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(`${path}: not a training checkpoint (metadata format ${JSON.stringify(md.format)}, expected '${CHECKPOINT_FORMAT}')`);
  }
  const step = Number(md.step), epoch = Number(md.epoch);
  if (!Number.isSafeInteger(step) || step < 0) throw new CheckpointError(`${path}: corrupt checkpoint: bad step ${JSON.stringify(md.step)}`);
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new CheckpointError(`${path}: corrupt checkpoint: bad epoch ${JSON.stringify(md.epoch)}`);
  const rngRaw = parseJson(path, 'rng', md.rng, true);
  if (!Array.isArray(rngRaw) || rngRaw.length < 4 || !rngRaw.every((v) => v === null || typeof v === 'number')) {
    throw new CheckpointError(`${path}: corrupt checkpoint: bad rng state`);
  }
  const model = new Map<string, SafetensorsEntry>();
  const optimizer = new Map<string, SafetensorsEntry>();
  for (const [name, entry] of dict) {
    if (name.startsWith(OPT_PREFIX)) optimizer.set(name.slice(OPT_PREFIX.length), entry);
    else model.set(name, entry);
  }
  return {
    path, step, epoch,
    rng: (rngRaw as (number | null)[]).map((v) => (v === null ? NaN : v)),
    loader: (parseJson(path, 'loader', md.loader, false) as LoaderState | undefined) ?? null,
    config: parseJson(path, 'config', md.config, true),
    metrics: parseJson(path, 'metrics', md.metrics, false),
    model, optimizer,
  };
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  }
  return v;
}

function configDiff(stored: unknown, given: unknown, prefix = ''): string[] {
  const s = canonical(stored), g = canonical(given);
  if (JSON.stringify(s) === JSON.stringify(g)) return [];
  if (s && g && typeof s === 'object' && typeof g === 'object' && !Array.isArray(s) && !Array.isArray(g)) {
    const keys = [...new Set([...Object.keys(s), ...Object.keys(g)])].sort();
    return keys.flatMap((k) => configDiff((s as Record<string, unknown>)[k], (g as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k));
  }
  return [`${prefix || '(root)'}: checkpoint has ${JSON.stringify(s)}, run has ${JSON.stringify(g)}`];
}

/**
 * Restores model, optimizer, RNG and (if given) loader from the latest checkpoint in `dir`. Everything
 * is validated (config, loader state presence) before anything is modified.
 */
export async function resumeFrom(dir: string, opts: ResumeOptions): Promise<LoadedCheckpoint> {
  const ck = await loadCheckpoint(dir);
  if (opts.config !== undefined) {
    const diff = configDiff(ck.config, JSON.parse(JSON.stringify(opts.config)));
    if (diff.length) throw new CheckpointError(`${ck.path}: config mismatch:\n  ${diff.join('\n  ')}`);
  }
  if (opts.loader && !ck.loader) throw new CheckpointError(`${ck.path}: a loader was passed but the checkpoint holds no loader state`);
  const backend = opts.model.parameters()[0]?.backend;
  const optState = new Map<string, Tensor>();
  try {
    for (const [k, e] of ck.optimizer) optState.set(k, entryToTensor(e, { backend }));
    try {
      opts.model.loadStateDict(ck.model);
    } catch (e) {
      throw new CheckpointError(`${ck.path}: model state does not fit: ${(e as Error).message}`);
    }
    try {
      opts.optimizer.loadStateDict(optState);
    } catch (e) {
      throw new CheckpointError(`${ck.path}: optimizer state does not fit: ${(e as Error).message}`);
    }
  } finally {
    for (const t of optState.values()) t.dispose();
  }
  opts.rng.setState(ck.rng);
  if (opts.loader && ck.loader) opts.loader.setState(ck.loader);
  return ck;
}

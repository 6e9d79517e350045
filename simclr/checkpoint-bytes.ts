/**
 * A training checkpoint as bytes, with no file I/O (a page keeps them in browser storage;
 * checkpoint.ts writes them to a directory): safetensors holding the model's state dict under its
 * torchvision names (F32; i32 counters as I64), the optimizer state under 'optimizer.', and in the
 * metadata JSON strings for step, epoch, the RNG state, the loader state, the config and metrics.
 *
 * Integrity: the metadata's `checksum` is the CRC-32 of the whole file with the checksum's own 8 hex
 * digits read as '0's, checked by decodeCheckpoint, so changed tensor bytes (or metadata) are an
 * error naming the file, never silently different losses; checkpoints written before the checksum
 * existed decode unchecked. CRC-32 in plain code keeps this module free of Node and synchronous.
 */
import { EngineError } from '../engine/errors.js';
import type { Random } from '../engine/random.js';
import type { Tensor } from '../engine/tensor.js';
import type { Module } from '../nn/module.js';
import {
  SafetensorsError, decodeSafetensors, encodeSafetensors, entryToTensor,
  type SafetensorsEntry, type SafetensorsInput,
} from '../nn/safetensors.js';
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

export interface LoadedCheckpoint {
  path: string;
  /**
   * Null when the checkpoint asked for was this one; otherwise why it was not used and that this
   * one, the newest that validates, was taken instead (checkpoint.ts: "latest.json is missing; ...").
   */
  fallback: string | null;
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
  /** Applied to the stored config before that comparison (keys since made changeable, relative paths). */
  normalizeStored?(stored: unknown): unknown;
}

async function toInput(name: string, t: Tensor): Promise<SafetensorsInput> {
  if (t.isDisposed) throw new CheckpointError(`tensor '${name}' was disposed`);
  return { dtype: t.dtype === 'f32' ? 'F32' : 'I64', shape: [...t.shape], data: await t.data() };
}

const CHECKSUM_PREFIX = 'crc32:';
const CHECKSUM_ZERO = '00000000';
const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 (IEEE, as zlib and PNG) of `b`, continuing from `crc`. */
function crc32(b: Uint8Array, crc = 0): number {
  let c = ~crc;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 255] ^ (c >>> 8);
  return ~c >>> 0;
}

/** Where the checksum's hex digits sit in the header of `bytes` (-1 if `value` is not there). */
function checksumAt(bytes: Uint8Array, value: string): number {
  const headerEnd = Math.min(bytes.length, 8 + Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true)));
  const needle = new TextEncoder().encode(value);
  outer: for (let i = 8; i + needle.length <= headerEnd; i++) {
    for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return i + CHECKSUM_PREFIX.length;
  }
  return -1;
}

/** CRC-32 hex of `bytes` with the 8 digits at `at` read as '0's. */
function crcZeroed(bytes: Uint8Array, at: number): string {
  const zeros = new TextEncoder().encode(CHECKSUM_ZERO);
  const c = crc32(bytes.subarray(at + 8), crc32(zeros, crc32(bytes.subarray(0, at))));
  return c.toString(16).padStart(8, '0');
}

function rngState(rng: Random): (number | null)[] {
  return rng.getState().map((v) => (Number.isNaN(v) ? null : v));
}

/** The checkpoint's bytes; `path` names it in errors. */
export async function encodeCheckpoint(opts: SaveCheckpointOptions, path: string): Promise<Uint8Array> {
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
    checksum: CHECKSUM_PREFIX + CHECKSUM_ZERO,
  };
  if (loader) metadata.loader = JSON.stringify(loader.getState());
  if (metrics !== undefined) metadata.metrics = JSON.stringify(metrics);
  let bytes: Uint8Array;
  try { bytes = encodeSafetensors(inputs, metadata); } catch (e) {
    throw new CheckpointError(`${path}: ${(e as Error).message}`);
  }
  // the placeholder's digits are filled in place: same length, so no offset moves
  const at = checksumAt(bytes, CHECKSUM_PREFIX + CHECKSUM_ZERO);
  bytes.set(new TextEncoder().encode(crcZeroed(bytes, at)), at);
  return bytes;
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

/** Parses and validates checkpoint bytes; `path` names them in errors. */
export function decodeCheckpoint(bytes: Uint8Array, path: string): LoadedCheckpoint {
  let dict;
  try { dict = decodeSafetensors(bytes, path); } catch (e) {
    if (e instanceof SafetensorsError) throw new CheckpointError(`corrupt checkpoint file ${path}: ${e.message}`);
    throw e;
  }
  const md = dict.metadata;
  if (md.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(`${path}: not a training checkpoint (metadata format ${JSON.stringify(md.format)}, expected '${CHECKPOINT_FORMAT}')`);
  }
  if (md.checksum !== undefined) {
    const want = md.checksum.slice(CHECKSUM_PREFIX.length);
    const at = md.checksum.startsWith(CHECKSUM_PREFIX) && /^[0-9a-f]{8}$/.test(want) ? checksumAt(bytes, md.checksum) : -1;
    if (at < 0) throw new CheckpointError(`corrupt checkpoint file ${path}: malformed checksum ${JSON.stringify(md.checksum)}`);
    const got = crcZeroed(bytes, at);
    if (got !== want) throw new CheckpointError(`corrupt checkpoint file ${path}: its bytes changed after it was written (CRC-32 ${got}, written as ${want})`);
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
    path, fallback: null, step, epoch,
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
 * Applies a loaded checkpoint to model, optimizer, RNG and (if given) loader. Everything is
 * validated (config, loader state presence) before anything is modified.
 */
export function restoreCheckpoint(ck: LoadedCheckpoint, opts: ResumeOptions): LoadedCheckpoint {
  if (opts.config !== undefined) {
    const stored = opts.normalizeStored ? opts.normalizeStored(ck.config) : ck.config;
    const diff = configDiff(stored, JSON.parse(JSON.stringify(opts.config)));
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

/**
 * The safetensors format (https://github.com/huggingface/safetensors), read and written here so
 * that weights move between this engine and PyTorch / torchvision:
 *
 *   [u64 little-endian N][N bytes of JSON header][data]
 *
 * The header maps each tensor name to {dtype, shape, data_offsets: [begin, end]} (byte offsets
 * relative to the start of the data), plus an optional "__metadata__" of string -> string. The
 * data is little-endian and must be covered exactly by the tensors, without gaps or overlaps.
 *
 * Written as the Python/Rust writer does: tensors ordered by dtype (largest alignment first), then
 * by name; the header padded with spaces to a multiple of 8 bytes so the data stays aligned.
 * Reading validates everything before touching the data and converts on the way: F16 and BF16 to
 * f32, I64 to i32 (with a range check; torchvision stores num_batches_tracked as int64, this
 * engine as i32). Writing a module stores f32 tensors as F32 and i32/u32 ones as I64.
 *
 * Bytes only (Uint8Array in, Uint8Array out), so this loads in browsers too; reading and writing
 * files is nn/files.ts (Node), and a page hands the bytes to a download or to browser storage.
 */
import { EngineError } from '../engine/errors.js';
import { StorageRef, Tensor } from '../engine/tensor.js';
import { toTypedArray, type DType } from '../engine/dtype.js';
import type { Backend } from '../engine/backend.js';
import { getBackend } from '../engine/runtime.js';
import { Module, type HostTensor, type StateDictLike, type StateDictValue } from './module.js';

export type SafetensorsDType = 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'U8';

const ITEM_SIZE: Record<SafetensorsDType, number> = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1 };
/** Position in the Rust crate's Dtype enum: the writer orders tensors by it, descending. */
const DTYPE_ORDER: Record<SafetensorsDType, number> = { U8: 1, F16: 7, BF16: 8, I32: 9, F32: 11, I64: 13 };
const WRITABLE: readonly SafetensorsDType[] = ['F32', 'I64', 'I32', 'U8'];
/** dtypes of the format this reader does not convert (named as such in errors). */
const OTHER_KNOWN = ['BOOL', 'I8', 'I16', 'U16', 'U32', 'U64', 'F64', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2', 'C64'];

/** Largest header accepted, as the reference implementation (100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

const isDType = (d: unknown): d is SafetensorsDType => typeof d === 'string' && Object.prototype.hasOwnProperty.call(ITEM_SIZE, d);

/** A malformed file or an input that cannot be written; the message names the file if known. */
export class SafetensorsError extends EngineError {
  constructor(readonly source: string | undefined, detail: string) {
    super('safetensors', source ? `${source}: ${detail}` : detail);
  }
}

/** A decoded tensor: F32/F16/BF16 as Float32Array, I64/I32 as Int32Array, U8 as Uint8Array. */
export interface SafetensorsEntry extends HostTensor {
  /** The dtype stored in the file. */
  dtype: SafetensorsDType;
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

/**
 * What decodeSafetensors / loadSafetensors return: name -> entry in the order of the data (which is
 * the header's order for files from the reference writer), plus the metadata.
 */
export class SafetensorsDict extends Map<string, SafetensorsEntry> {
  metadata: Record<string, string> = {};
}

/** One tensor to write. `data` holds shape's element count of values (bigints allowed for I64). */
export interface SafetensorsInput {
  dtype: SafetensorsDType;
  shape: readonly number[];
  data: ArrayLike<number> | BigInt64Array;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---- encode ------------------------------------------------------------------------------------

function compareBytes(a: string, b: string): number {
  // Rust compares strings by UTF-8 bytes; for strings without surrogate pairs the UTF-16 code unit
  // order is the same, and encoding handles the rest.
  if (a === b) return 0;
  const ea = new TextEncoder().encode(a), eb = new TextEncoder().encode(b);
  const n = Math.min(ea.length, eb.length);
  for (let i = 0; i < n; i++) if (ea[i] !== eb[i]) return ea[i] - eb[i];
  return ea.length - eb.length;
}

function numelOf(source: string | undefined, name: string, shape: unknown): number {
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw new SafetensorsError(source, `tensor '${name}': shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const n = shape.reduce((a: number, b: number) => a * b, 1);
  if (!Number.isSafeInteger(n)) throw new SafetensorsError(source, `tensor '${name}': shape ${JSON.stringify(shape)} has too many elements`);
  return n;
}

function encodeData(name: string, t: SafetensorsInput, numel: number): Uint8Array {
  const bad = (detail: string) => new SafetensorsError(undefined, `tensor '${name}': ${detail}`);
  if (t.data.length !== numel) throw bad(`${t.data.length} values for shape ${JSON.stringify(t.shape)} (${numel} elements)`);
  const out = new Uint8Array(numel * ITEM_SIZE[t.dtype]);
  const view = new DataView(out.buffer);
  const d = t.data;
  switch (t.dtype) {
    case 'F32':
      if (LITTLE_ENDIAN_HOST && d instanceof Float32Array) out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
      else for (let i = 0; i < numel; i++) view.setFloat32(4 * i, Number(d[i]), true);
      break;
    case 'I32':
      for (let i = 0; i < numel; i++) {
        const v = Number(d[i]);
        if (!(Number.isInteger(v) && v >= -2147483648 && v <= 2147483647)) throw bad(`value ${d[i]} at ${i} is not an int32`);
        view.setInt32(4 * i, v, true);
      }
      break;
    case 'I64':
      for (let i = 0; i < numel; i++) {
        const x = d[i];
        if (typeof x === 'bigint') { view.setBigInt64(8 * i, x, true); continue; }
        if (!Number.isSafeInteger(x)) throw bad(`value ${x} at ${i} is not an integer that converts to int64 exactly`);
        view.setBigInt64(8 * i, BigInt(x), true);
      }
      break;
    case 'U8':
      for (let i = 0; i < numel; i++) {
        const v = Number(d[i]);
        if (!(Number.isInteger(v) && v >= 0 && v <= 255)) throw bad(`value ${d[i]} at ${i} is not a uint8`);
        out[i] = v;
      }
      break;
    default:
      throw bad(`writing dtype ${String(t.dtype)} is not supported (writable: ${WRITABLE.join(', ')})`);
  }
  return out;
}

/**
 * Serializes tensors (and optional string metadata) to safetensors bytes, laid out as the Python
 * writer does.
 */
export function encodeSafetensors(
  tensors: Readonly<Record<string, SafetensorsInput>> | ReadonlyMap<string, SafetensorsInput>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors as Record<string, SafetensorsInput>);
  const prepared = entries.map(([name, t]): { name: string; dtype: SafetensorsDType; shape: number[]; bytes: Uint8Array } => {
    if (typeof name !== 'string' || name === '' || name === '__metadata__') throw new SafetensorsError(undefined, `invalid tensor name '${name}'`);
    if (!t || typeof t !== 'object') throw new SafetensorsError(undefined, `tensor '${name}': not a {dtype, shape, data} object`);
    if (!WRITABLE.includes(t.dtype)) {
      throw new SafetensorsError(undefined, `tensor '${name}': writing dtype ${String(t.dtype)} is not supported (writable: ${WRITABLE.join(', ')})`);
    }
    const numel = numelOf(undefined, name, t.shape);
    return { name, dtype: t.dtype, shape: [...t.shape], bytes: encodeData(name, t, numel) };
  });
  prepared.sort((a, b) => DTYPE_ORDER[b.dtype] - DTYPE_ORDER[a.dtype] || compareBytes(a.name, b.name));

  // Built by hand (not JSON.stringify of an object) so the member order is always the writer's
  // (JavaScript objects move integer-like keys first) and a tensor named '__proto__' stays a key.
  const members: string[] = [];
  if (metadata !== undefined) {
    const meta: string[] = [];
    for (const k of Object.keys(metadata).sort(compareBytes)) {
      if (typeof metadata[k] !== 'string') throw new SafetensorsError(undefined, `metadata '${k}' must be a string, got ${typeof metadata[k]}`);
      meta.push(`${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`);
    }
    members.push(`"__metadata__":{${meta.join(',')}}`);
  }
  let offset = 0;
  for (const p of prepared) {
    const info = { dtype: p.dtype, shape: p.shape, data_offsets: [offset, offset + p.bytes.length] };
    members.push(`${JSON.stringify(p.name)}:${JSON.stringify(info)}`);
    offset += p.bytes.length;
  }
  let json = `{${members.join(',')}}`;
  const jsonBytesLen = new TextEncoder().encode(json).length;
  json += ' '.repeat((8 - (jsonBytesLen % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);

  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const p of prepared) { out.set(p.bytes, pos); pos += p.bytes.length; }
  return out;
}

// ---- decode ------------------------------------------------------------------------------------

let f16Cache: Float32Array | null = null;
/** Every half-precision bit pattern as f32 (built on first use). */
function f16Table(): Float32Array {
  if (f16Cache) return f16Cache;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    if (e === 0) t[h] = s * m * 2 ** -24;
    else if (e === 31) t[h] = m ? NaN : s * Infinity;
    else t[h] = s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return (f16Cache = t);
}

/** One tensor of a validated header: dtype, shape and its byte range within the data. */
export interface SafetensorsTensorInfo { name: string; dtype: SafetensorsDType; shape: number[]; begin: number; end: number }
type Raw = SafetensorsTensorInfo;

/** A validated header: where the data start, the metadata, and the tensors in the order of the data. */
export interface SafetensorsLayout { dataStart: number; metadata: Record<string, string>; tensors: SafetensorsTensorInfo[] }

function describeDType(d: unknown): string {
  if (typeof d === 'string' && OTHER_KNOWN.includes(d)) return `unsupported dtype '${d}' (readable: ${Object.keys(ITEM_SIZE).join(', ')})`;
  return `unknown dtype ${JSON.stringify(d)} (readable: ${Object.keys(ITEM_SIZE).join(', ')})`;
}

/**
 * Parses safetensors bytes. Every structural problem throws a SafetensorsError naming `source`
 * (a file name, when given) and the offending tensor; nothing is allocated from untrusted sizes
 * before they have been checked against the actual byte count.
 */
export function decodeSafetensors(bytes: Uint8Array, source?: string): SafetensorsDict {
  if (!(bytes instanceof Uint8Array)) throw new SafetensorsError(source, 'expected a Uint8Array');
  const layout = decodeSafetensorsHeader(bytes, bytes.length, source);
  const out = new SafetensorsDict();
  out.metadata = layout.metadata;
  for (const t of layout.tensors) {
    out.set(t.name, decodeSafetensorsTensor(t, bytes.subarray(layout.dataStart + t.begin, layout.dataStart + t.end), source));
  }
  return out;
}

/**
 * Validates the header of a file of `totalBytes` bytes from its first bytes `head` (the 8-byte
 * length and the header; more may follow), without its data: the length field, the JSON, every
 * tensor's dtype, shape and offsets, and that the tensors tile the data exactly. Lets a reader
 * fetch each tensor's bytes on its own (nn/files.ts reads files over 2 GiB that way).
 */
export function decodeSafetensorsHeader(head: Uint8Array, totalBytes: number, source?: string): SafetensorsLayout {
  const fail: (detail: string) => never = (detail) => { throw new SafetensorsError(source, detail); };
  if (totalBytes < 8) fail(`file is ${totalBytes} bytes, shorter than the 8-byte header length`);
  if (head.length < 8) fail(`only ${head.length} of the file's first 8 bytes given`);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n64} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  const n = Number(n64);
  if (8 + n > totalBytes) fail(`header length ${n} is larger than the file (${totalBytes - 8} bytes follow the length field)`);
  if (n < 2) fail(`header length ${n} is too small for a JSON object`);
  if (8 + n > head.length) fail(`only ${head.length} of the header's ${8 + n} bytes given`);

  let text = '';
  try { text = new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(8, 8 + n)); } catch { fail('header is not valid UTF-8'); }
  let header: unknown;
  try { header = JSON.parse(text); } catch (e) { fail(`header is not valid JSON (${(e as Error).message})`); }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail(`header is not a JSON object (got ${Array.isArray(header) ? 'an array' : header === null ? 'null' : typeof header})`);

  const dataLen = totalBytes - 8 - n;
  const metadata: Record<string, string> = {};
  const raws: Raw[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (info === null || typeof info !== 'object' || Array.isArray(info)) fail('__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ '${k}' must be a string, got ${JSON.stringify(v)}`);
        metadata[k] = v as string;
      }
      continue;
    }
    const where = `tensor '${name}'`;
    if (info === null || typeof info !== 'object' || Array.isArray(info)) fail(`${where}: entry must be an object {dtype, shape, data_offsets}`);
    const { dtype, shape, data_offsets: offs } = info as Record<string, unknown>;
    if (!isDType(dtype)) fail(`${where}: ${describeDType(dtype)}`);
    const dt = dtype as SafetensorsDType;
    const numel = numelOf(source, name, shape);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)) {
      fail(`${where}: data_offsets must be [begin, end] of non-negative integers, got ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as number[];
    if (begin > end) fail(`${where}: data_offsets [${begin}, ${end}] has begin > end`);
    if (end > dataLen) fail(`${where}: data_offsets [${begin}, ${end}] end beyond the data (${dataLen} bytes)`);
    const expected = numel * ITEM_SIZE[dt];
    if (end - begin !== expected) {
      fail(`${where}: size mismatch: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but ${dt} ${JSON.stringify(shape)} needs ${expected}`);
    }
    raws.push({ name, dtype: dt, shape: shape as number[], begin, end });
  }

  // The tensors must tile the data exactly.
  const sorted = [...raws].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let last: Raw | null = null;
  for (const r of sorted) {
    if (r.begin < pos) fail(`tensors '${last!.name}' [${last!.begin}, ${last!.end}] and '${r.name}' [${r.begin}, ${r.end}] overlap`);
    if (r.begin > pos) fail(`gap in the data: bytes [${pos}, ${r.begin}) before tensor '${r.name}' belong to no tensor`);
    pos = r.end;
    if (r.end > r.begin || last === null) last = r;
  }
  if (pos !== dataLen) fail(`gap in the data: bytes [${pos}, ${dataLen}) at the end belong to no tensor`);
  return { dataStart: 8 + n, metadata, tensors: sorted };
}

/**
 * One tensor of a validated layout from its `end - begin` data bytes. `owned`: the caller hands
 * the bytes over (a freshly read buffer), so they are used in place instead of copied.
 */
export function decodeSafetensorsTensor(t: SafetensorsTensorInfo, bytes: Uint8Array, source?: string, owned = false): SafetensorsEntry {
  const fail: (detail: string) => never = (detail) => { throw new SafetensorsError(source, detail); };
  if (bytes.length !== t.end - t.begin) fail(`tensor '${t.name}': ${bytes.length} bytes given for data_offsets [${t.begin}, ${t.end}]`);
  return { dtype: t.dtype, shape: [...t.shape], data: convert(t, bytes, fail, owned) };
}

function convert(r: Raw, b: Uint8Array, fail: (d: string) => never, owned = false): Float32Array | Int32Array | Uint8Array {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  // the bytes as they are, aligned: in place when handed over, else a copy (new Uint8Array, not
  // slice(): a Node Buffer's slice() is a view at the same unaligned offset)
  const own = () => (owned && b.byteOffset % 4 === 0 ? b : new Uint8Array(b));
  switch (r.dtype) {
    case 'F32': {
      if (LITTLE_ENDIAN_HOST) { const o = own(); return new Float32Array(o.buffer, o.byteOffset, o.length / 4); }
      const o = new Float32Array(b.length / 4);
      for (let i = 0; i < o.length; i++) o[i] = v.getFloat32(4 * i, true);
      return o;
    }
    case 'I32': {
      if (LITTLE_ENDIAN_HOST) { const o = own(); return new Int32Array(o.buffer, o.byteOffset, o.length / 4); }
      const o = new Int32Array(b.length / 4);
      for (let i = 0; i < o.length; i++) o[i] = v.getInt32(4 * i, true);
      return o;
    }
    case 'F16': {
      const o = new Float32Array(b.length / 2);
      const table = f16Table();
      for (let i = 0; i < o.length; i++) o[i] = table[v.getUint16(2 * i, true)];
      return o;
    }
    case 'BF16': {
      const o = new Float32Array(b.length / 2);
      const bits = new Uint32Array(o.buffer);
      for (let i = 0; i < o.length; i++) bits[i] = v.getUint16(2 * i, true) << 16;
      return o;
    }
    case 'I64': {
      const o = new Int32Array(b.length / 8);
      if (LITTLE_ENDIAN_HOST && b.byteOffset % 4 === 0) {
        // words in place: low then high of each value
        const w = new Int32Array(b.buffer, b.byteOffset, b.length / 4);
        for (let i = 0; i < o.length; i++) {
          const lo = w[2 * i], hi = w[2 * i + 1];
          if (hi !== lo >> 31) fail(`tensor '${r.name}': I64 value ${v.getBigInt64(8 * i, true)} at index ${i} does not fit in int32`);
          o[i] = lo;
        }
        return o;
      }
      for (let i = 0; i < o.length; i++) {
        const lo = v.getUint32(8 * i, true), hi = v.getInt32(8 * i + 4, true);
        if (!((hi === 0 && lo < 0x80000000) || (hi === -1 && lo >= 0x80000000))) {
          fail(`tensor '${r.name}': I64 value ${v.getBigInt64(8 * i, true)} at index ${i} does not fit in int32`);
        }
        o[i] = lo | 0;
      }
      return o;
    }
    case 'U8': return own();
  }
}

// ---- modules -----------------------------------------------------------------------------------

const ENGINE_TO_FILE: Record<DType, SafetensorsDType> = { f32: 'F32', i32: 'I64', u32: 'I64' };

async function toInput(name: string, v: StateDictValue): Promise<SafetensorsInput> {
  if (v instanceof Tensor) return { dtype: ENGINE_TO_FILE[v.dtype], shape: [...v.shape], data: await v.data() };
  if (isDType(v.dtype)) return { dtype: v.dtype === 'F16' || v.dtype === 'BF16' ? 'F32' : v.dtype, shape: v.shape, data: v.data };
  if (v.dtype in ENGINE_TO_FILE) return { dtype: ENGINE_TO_FILE[v.dtype as DType], shape: v.shape, data: v.data };
  throw new SafetensorsError(undefined, `tensor '${name}': cannot write dtype '${v.dtype}'`);
}

/**
 * A module's state dict (or a state dict) as safetensors bytes: f32 tensors stored as F32, i32/u32
 * tensors (num_batches_tracked) as I64, as torchvision does. Device tensors are read back.
 */
export async function moduleToSafetensors(source: Module | StateDictLike, metadata?: Readonly<Record<string, string>>): Promise<Uint8Array> {
  const dict = source instanceof Module ? source.stateDict() : source;
  const entries = dict instanceof Map ? [...dict.entries()] : Object.entries(dict as Record<string, StateDictValue>);
  const inputs = new Map<string, SafetensorsInput>();
  for (const [name, v] of entries) inputs.set(name, await toInput(name, v));
  return encodeSafetensors(inputs, metadata);
}

/**
 * An engine tensor from a decoded entry: floats become f32, I64/I32 become i32, U8 becomes u32.
 */
export function entryToTensor(entry: SafetensorsEntry, opts: { backend?: Backend } = {}): Tensor {
  const dtype: DType = entry.dtype === 'I64' || entry.dtype === 'I32' ? 'i32' : entry.dtype === 'U8' ? 'u32' : 'f32';
  const backend = opts.backend ?? getBackend();
  return new Tensor(new StorageRef(backend, backend.upload(toTypedArray(dtype, entry.data))), entry.shape, dtype);
}

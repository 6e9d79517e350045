/**
 * safetensors: byte layout as the Python writer makes it, round trips of every dtype, conversion
 * of F16/BF16/I64 on reading, every malformed-file case with its error, atomic saving, and state
 * dicts of a torchvision-named ResNet through files (ours, and one written from PyTorch).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../engine/cpu/backend.js';
import { Random } from '../engine/random.js';
import {
  decodeSafetensors, encodeSafetensors, entryToTensor, loadSafetensors, MAX_HEADER_BYTES, resnet18, saveSafetensors,
  SafetensorsError, StateDictError,
} from '../nn/node.js';

const dir = mkdtempSync(join(tmpdir(), 'safetensors-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FIXTURE = new URL('./fixtures/resnet18_cifar_w0125.safetensors', import.meta.url).pathname;
const OURS_VERIFIED = new URL('./fixtures/ours_resnet18_cifar_w0125.safetensors', import.meta.url).pathname;

/** A file from a header (object or raw JSON text) and `dataLen` bytes of data. */
function raw(header: unknown, dataLen = 0, opts: { length?: bigint } = {}): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataLen);
  new DataView(out.buffer).setBigUint64(0, opts.length ?? BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

function headerOf(bytes: Uint8Array): { text: string; n: number } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { text: new TextDecoder().decode(bytes.subarray(8, 8 + n)), n };
}

const f32 = (shape: number[], begin: number) => ({ dtype: 'F32', shape, data_offsets: [begin, begin + 4 * shape.reduce((a, b) => a * b, 1)] });

describe('encode / decode', () => {
  it('round-trips every writable dtype with metadata', () => {
    const bytes = encodeSafetensors({
      'w': { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, -2.5, 3e-8, Infinity, -0, 6]) },
      'n': { dtype: 'I64', shape: [], data: [123456789] },
      'big': { dtype: 'I64', shape: [2], data: new BigInt64Array([-5n, 2147483647n]) },
      'i': { dtype: 'I32', shape: [3], data: [-1, 0, 2147483647] },
      'u': { dtype: 'U8', shape: [2, 2], data: [0, 1, 254, 255] },
      'empty': { dtype: 'F32', shape: [0, 4], data: [] },
    }, { format: 'pt', note: 'ü' });
    const d = decodeSafetensors(bytes);
    expect(d.metadata).toEqual({ format: 'pt', note: 'ü' });
    expect(d.get('w')).toEqual({ dtype: 'F32', shape: [2, 3], data: new Float32Array([1, -2.5, 3e-8, Infinity, -0, 6]) });
    expect(Object.is(d.get('w')!.data[4], -0)).toBe(true);
    expect(d.get('n')).toEqual({ dtype: 'I64', shape: [], data: new Int32Array([123456789]) });
    expect(Array.from(d.get('big')!.data)).toEqual([-5, 2147483647]);
    expect(d.get('i')!.data).toEqual(new Int32Array([-1, 0, 2147483647]));
    expect(d.get('u')!.data).toEqual(new Uint8Array([0, 1, 254, 255]));
    expect(d.get('empty')!.shape).toEqual([0, 4]);
  });

  it('lays the file out as the Python writer does: dtype order, then name; padded header; aligned data', () => {
    const bytes = encodeSafetensors({
      'b.weight': { dtype: 'F32', shape: [1], data: [1] },
      'a.count': { dtype: 'I64', shape: [], data: [3] },
      '10': { dtype: 'F32', shape: [1], data: [2] },
      '9': { dtype: 'F32', shape: [1], data: [3] },
      'a.weight': { dtype: 'F32', shape: [2], data: [4, 5] },
      'idx': { dtype: 'I32', shape: [1], data: [7] },
      'px': { dtype: 'U8', shape: [3], data: [1, 2, 3] },
    }, { z: '1', a: '2' });
    const { text, n } = headerOf(bytes);
    expect(n % 8).toBe(0);
    expect(text.trimEnd()).toBe(
      '{"__metadata__":{"a":"2","z":"1"},"a.count":{"dtype":"I64","shape":[],"data_offsets":[0,8]},'
      + '"10":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"9":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},'
      + '"a.weight":{"dtype":"F32","shape":[2],"data_offsets":[16,24]},"b.weight":{"dtype":"F32","shape":[1],"data_offsets":[24,28]},'
      + '"idx":{"dtype":"I32","shape":[1],"data_offsets":[28,32]},"px":{"dtype":"U8","shape":[3],"data_offsets":[32,35]}}',
    );
    expect(/^ *$/.test(text.slice(text.trimEnd().length))).toBe(true);
    expect(bytes.length).toBe(8 + n + 35);
    expect([...decodeSafetensors(bytes).keys()]).toEqual(['a.count', '10', '9', 'a.weight', 'b.weight', 'idx', 'px']);
    // No metadata: no __metadata__ key.
    expect(headerOf(encodeSafetensors({ x: { dtype: 'F32', shape: [], data: [1] } })).text.trimEnd())
      .toBe('{"x":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}');
  });

  it('reads F16 and BF16 as f32, I64 as i32 with a range check', () => {
    const f16 = new Uint16Array([0x3c00, 0xc000, 0x3800, 0x7bff, 0x7c00, 0xfc00, 0x0001, 0x8000, 0x7e00]);
    const bf16 = new Uint16Array([0x3f80, 0xc0a0, 0x4049, 0x7f80]);
    const bytes = raw({
      h: { dtype: 'F16', shape: [9], data_offsets: [0, 18] },
      b: { dtype: 'BF16', shape: [2, 2], data_offsets: [18, 26] },
    }, 26);
    const base = bytes.length - 26;
    bytes.set(new Uint8Array(f16.buffer), base);
    bytes.set(new Uint8Array(bf16.buffer), base + 18);
    const d = decodeSafetensors(bytes);
    const h = Array.from(d.get('h')!.data);
    expect(h.slice(0, 6)).toEqual([1, -2, 0.5, 65504, Infinity, -Infinity]);
    expect(h[6]).toBe(2 ** -24);
    expect(Object.is(h[7], -0)).toBe(true);
    expect(h[8]).toBeNaN();
    expect(d.get('h')!.data).toBeInstanceOf(Float32Array);
    expect(Array.from(d.get('b')!.data)).toEqual([1, -5, 3.140625, Infinity]);

    const big = encodeSafetensors({ n: { dtype: 'I64', shape: [2], data: new BigInt64Array([1n, 2n ** 31n]) } });
    expect(() => decodeSafetensors(big, 'big.safetensors')).toThrow(
      "safetensors: big.safetensors: tensor 'n': I64 value 2147483648 at index 1 does not fit in int32");
    const neg = encodeSafetensors({ n: { dtype: 'I64', shape: [1], data: new BigInt64Array([-(2n ** 31n)]) } });
    expect(Array.from(decodeSafetensors(neg).get('n')!.data)).toEqual([-(2 ** 31)]);
  });

  it('decodes data that does not start at an aligned offset', () => {
    // Another writer may not pad the header: data at offset 8 + 13.
    const hdr = '{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    const b = raw(hdr, 8);
    new DataView(b.buffer).setFloat32(8 + hdr.length, 1.5, true);
    new DataView(b.buffer).setFloat32(8 + hdr.length + 4, -2, true);
    expect((8 + hdr.length) % 4).not.toBe(0);
    expect(Array.from(decodeSafetensors(b).get('x')!.data)).toEqual([1.5, -2]);
  });

  it('decodes a Node Buffer that is an unaligned view into a larger pool', () => {
    // Buffer.prototype.slice() is a view, not a copy: the decoder must copy before it aligns
    const bytes = encodeSafetensors({ a: { dtype: 'F32', shape: [3], data: new Float32Array([1, 2, 3]) }, i: { dtype: 'I32', shape: [1], data: new Int32Array([-7]) } });
    const pool = Buffer.alloc(bytes.length + 3);
    pool.set(bytes, 3);
    const d = decodeSafetensors(pool.subarray(3));
    expect(Array.from(d.get('a')!.data)).toEqual([1, 2, 3]);
    expect(Array.from(d.get('i')!.data)).toEqual([-7]);
  });

  it('rejects inputs it cannot write, naming the tensor', () => {
    expect(() => encodeSafetensors({ x: { dtype: 'F16', shape: [1], data: [1] } })).toThrow(/tensor 'x': writing dtype F16 is not supported/);
    expect(() => encodeSafetensors({ x: { dtype: 'F32', shape: [2, 2], data: [1, 2, 3] } })).toThrow(/tensor 'x': 3 values for shape \[2,2\] \(4 elements\)/);
    expect(() => encodeSafetensors({ x: { dtype: 'F32', shape: [-1], data: [] } })).toThrow(/tensor 'x': shape must be an array of non-negative integers/);
    expect(() => encodeSafetensors({ x: { dtype: 'I64', shape: [1], data: [1.5] } })).toThrow(/tensor 'x': value 1.5 at 0/);
    expect(() => encodeSafetensors({ x: { dtype: 'U8', shape: [1], data: [256] } })).toThrow(/not a uint8/);
    expect(() => encodeSafetensors({ __metadata__: { dtype: 'F32', shape: [], data: [1] } })).toThrow(/invalid tensor name '__metadata__'/);
  });
});

describe('malformed files', () => {
  const ok = raw({ x: f32([2], 0) }, 8);
  const cases: [string, Uint8Array, string | RegExp][] = [
    ['shorter than 8 bytes', new Uint8Array(5), 'safetensors: bad.st: file is 5 bytes, shorter than the 8-byte header length'],
    ['header length beyond the file', raw({ x: f32([2], 0) }, 8, { length: 1000n }), /header length 1000 is larger than the file \(\d+ bytes follow the length field\)/],
    ['absurd header length', raw('{}', 0, { length: 2n ** 63n }), `header length ${2n ** 63n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`],
    ['header just over 100 MB', raw('{}', 0, { length: BigInt(MAX_HEADER_BYTES + 1) }), /exceeds the limit of 100000000 bytes/],
    ['invalid JSON', raw('{"x": {', 0), /header is not valid JSON/],
    ['invalid UTF-8', (() => { const b = raw('{"x":1}'); b[10] = 0xff; return b; })(), /header is not valid UTF-8/],
    ['JSON array', raw('[1,2]'), /header is not a JSON object \(got an array\)/],
    ['JSON number', raw('42'), /header is not a JSON object \(got number\)/],
    ['JSON null', raw('null'), /header is not a JSON object \(got null\)/],
    ['entry not an object', raw({ x: 5 }), /tensor 'x': entry must be an object/],
    ['unknown dtype', raw({ x: { dtype: 'Q7', shape: [1], data_offsets: [0, 4] } }, 4), /tensor 'x': unknown dtype "Q7"/],
    ['unsupported dtype', raw({ x: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, 8), /tensor 'x': unsupported dtype 'F64'/],
    ['missing dtype', raw({ x: { shape: [1], data_offsets: [0, 4] } }, 4), /tensor 'x': unknown dtype undefined/],
    ['shape not an array', raw({ x: { dtype: 'F32', shape: 4, data_offsets: [0, 16] } }, 16), /tensor 'x': shape must be an array of non-negative integers, got 4/],
    ['negative dim', raw({ x: { dtype: 'F32', shape: [2, -2], data_offsets: [0, 16] } }, 16), /tensor 'x': shape must be an array of non-negative integers, got \[2,-2\]/],
    ['fractional dim', raw({ x: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, 4), /shape must be an array of non-negative integers/],
    ['huge shape', raw({ x: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 4] } }, 4), /tensor 'x': shape \[.*\] has too many elements/],
    ['offsets not a pair', raw({ x: { dtype: 'F32', shape: [1], data_offsets: [0] } }, 4), /tensor 'x': data_offsets must be \[begin, end\] of non-negative integers, got \[0\]/],
    ['offsets missing', raw({ x: { dtype: 'F32', shape: [1] } }, 4), /tensor 'x': data_offsets must be \[begin, end\]/],
    ['negative offset', raw({ x: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, 4), /data_offsets must be \[begin, end\] of non-negative integers/],
    ['begin > end', raw({ x: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, 4), /tensor 'x': data_offsets \[4, 0\] has begin > end/],
    ['end beyond the data', raw({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 4), /tensor 'x': data_offsets \[0, 8\] end beyond the data \(4 bytes\)/],
    ['size mismatch', raw({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /tensor 'x': size mismatch: data_offsets \[0, 8\] hold 8 bytes, but F32 \[3\] needs 12/],
    ['overlap', raw({ a: f32([2], 0), b: f32([2], 4) }, 12), /tensors 'a' \[0, 8\] and 'b' \[4, 12\] overlap/],
    ['same range twice', raw({ a: f32([2], 0), b: f32([2], 0) }, 8), /tensors 'a' \[0, 8\] and 'b' \[0, 8\] overlap/],
    ['gap between tensors', raw({ a: f32([1], 0), b: f32([1], 8) }, 12), /gap in the data: bytes \[4, 8\) before tensor 'b' belong to no tensor/],
    ['gap at the start', raw({ a: f32([1], 4) }, 8), /gap in the data: bytes \[0, 4\) before tensor 'a'/],
    ['trailing bytes', raw({ a: f32([1], 0) }, 8), /gap in the data: bytes \[4, 8\) at the end belong to no tensor/],
    ['metadata not strings', raw({ __metadata__: { epoch: 3 } }), /__metadata__ 'epoch' must be a string, got 3/],
    ['metadata not an object', raw({ __metadata__: 'x' }), /__metadata__ must be an object of strings/],
  ];
  for (const [what, bytes, err] of cases) {
    it(`rejects ${what}`, () => {
      let thrown: unknown;
      try { decodeSafetensors(bytes, 'bad.st'); } catch (e) { thrown = e; }
      expect(thrown).toBeInstanceOf(SafetensorsError);
      expect((thrown as Error).message.startsWith('safetensors: bad.st: ')).toBe(true);
      if (typeof err === 'string') expect((thrown as Error).message).toBe(err.startsWith('safetensors') ? err : `safetensors: bad.st: ${err}`);
      else expect((thrown as Error).message).toMatch(err);
    });
  }

  it('accepts the well-formed control file, an empty header and an empty-tensor file', () => {
    expect(decodeSafetensors(ok).get('x')!.shape).toEqual([2]);
    expect(decodeSafetensors(raw('{}')).size).toBe(0);
    const e = decodeSafetensors(raw({ a: f32([0], 0), b: f32([1], 0) }, 4));
    expect(e.get('a')!.data.length).toBe(0);
  });

  it('names the file when loading from disk', async () => {
    const p = join(dir, 'garbage.safetensors');
    writeFileSync(p, new Uint8Array([1, 2, 3]));
    await expect(loadSafetensors(p)).rejects.toThrow(`safetensors: ${p}: file is 3 bytes, shorter than the 8-byte header length`);
  });
});

describe('files and modules', () => {
  it('saves atomically: no temporary files left, an existing file replaced, a failed save writes nothing', async () => {
    const sub = join(dir, 'atomic');
    const p = join(sub, 'x.safetensors');
    await saveSafetensors(p, { a: { dtype: 'F32', shape: [1], data: [1] } });
    await saveSafetensors(p, { a: { dtype: 'F32', shape: [2], data: [2, 3] } }, { step: '2' });
    expect(readdirSync(sub)).toEqual(['x.safetensors']);
    const d = await loadSafetensors(p);
    expect(Array.from(d.get('a')!.data)).toEqual([2, 3]);
    expect(d.metadata).toEqual({ step: '2' });
    await expect(saveSafetensors(p, { a: { dtype: 'F32', shape: [3], data: [1] } })).rejects.toThrow(`safetensors: ${p}: tensor 'a': 1 values`);
    expect(readdirSync(sub)).toEqual(['x.safetensors']);
    expect(Array.from((await loadSafetensors(p)).get('a')!.data)).toEqual([2, 3]);
  });

  it('a width-1/8 ResNet-18 state dict round-trips through a file with identical values', async () => {
    const backend = new CpuBackend();
    const a = resnet18({ width: 0.125, numClasses: 10, rng: new Random(1), backend });
    const b = resnet18({ width: 0.125, numClasses: 10, rng: new Random(2), backend });
    const p = join(dir, 'r18.safetensors');
    await saveSafetensors(p, a, { arch: 'resnet18' });
    const file = await loadSafetensors(p);
    expect(file.metadata).toEqual({ arch: 'resnet18' });
    expect(file.size).toBe(122);
    expect(file.get('bn1.num_batches_tracked')).toEqual({ dtype: 'I64', shape: [], data: new Int32Array([0]) });
    expect(file.get('conv1.weight')!.dtype).toBe('F32');
    // I64 first (num_batches_tracked), then F32, each by name, as the Python writer orders them.
    const keys = [...file.keys()];
    expect(keys.slice(0, 20).every((k) => k.endsWith('num_batches_tracked'))).toBe(true);
    expect(keys.slice(20)).toEqual([...keys.slice(20)].sort());
    b.loadStateDict(file);
    for (const [n, t] of a.stateDict()) {
      expect(Array.from(await b.stateDict().get(n)!.data()), n).toEqual(Array.from(await t.data()));
    }
    // entryToTensor gives engine tensors of the right dtype.
    const nbt = entryToTensor(file.get('bn1.num_batches_tracked')!, { backend });
    expect(nbt.dtype).toBe('i32');
    expect(nbt.shape).toEqual([]);
  });

  it('strict loading from a file lists missing, unexpected and mismatched names', async () => {
    const backend = new CpuBackend();
    const p = join(dir, 'r18-w0125.safetensors');
    await saveSafetensors(p, resnet18({ width: 0.125, numClasses: 10, backend }));
    const file = await loadSafetensors(p);
    // A width-1/4 model: every conv/BN shape differs; without fc: fc.* unexpected.
    const other = resnet18({ width: 0.25, backend });
    file.delete('layer4.1.bn2.running_var');
    let err: unknown;
    try { other.loadStateDict(file); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(StateDictError);
    const r = (err as StateDictError).report;
    expect(r.missingKeys).toEqual(['layer4.1.bn2.running_var']);
    expect(r.unexpectedKeys).toEqual(['fc.bias', 'fc.weight']); // the file's order
    expect(r.mismatchedKeys[0]).toEqual({ key: 'conv1.weight', expected: [16, 3, 7, 7], got: [8, 3, 7, 7] });
    expect((err as Error).message).toContain('conv1.weight expected [16,3,7,7] got [8,3,7,7]');
    expect(r.mismatchedKeys.some((m) => m.key.endsWith('num_batches_tracked'))).toBe(false);
  });

  it('loads the initial state dict written from PyTorch/torchvision (CIFAR stem, width 1/8) with strict names', async () => {
    const file = await loadSafetensors(FIXTURE);
    expect(file.metadata.torchvision).toMatch(/^0\./);
    const init = new Map([...file].filter(([k]) => k.startsWith('init.')).map(([k, v]) => [k.slice(5), v]));
    const backend = new CpuBackend();
    const model = resnet18({ stem: 'cifar', width: 0.125, numClasses: 10, backend });
    expect([...init.keys()].sort()).toEqual([...model.stateDict().keys()].sort());
    const report = model.loadStateDict(init);
    expect(report.loadedKeys.length).toBe(122);
    const w = await model.stateDict().get('layer3.0.downsample.0.weight')!.data();
    expect(Array.from(w)).toEqual(Array.from(init.get('layer3.0.downsample.0.weight')!.data));
    expect(init.get('layer1.0.bn1.num_batches_tracked')!.dtype).toBe('I64');
  });

  // test/fixtures/ours_resnet18_cifar_w0125.safetensors was written by this writer from the
  // fixture's initial weights, and `make_fixtures.py --verify` loaded it into torchvision's module
  // with strict=True when the fixtures were made. Here the writer must still produce it exactly.
  it('writes, byte for byte, the file PyTorch loaded with strict=True', async () => {
    const file = await loadSafetensors(FIXTURE);
    const init = new Map([...file].filter(([k]) => k.startsWith('init.')).map(([k, v]) => [k.slice(5), v]));
    const model = resnet18({ stem: 'cifar', width: 0.125, numClasses: 10, backend: new CpuBackend() });
    model.loadStateDict(init);
    const p = join(dir, 'ours.safetensors');
    await saveSafetensors(p, model);
    expect(Buffer.compare(readFileSync(p), readFileSync(OURS_VERIFIED))).toBe(0);
  });
});

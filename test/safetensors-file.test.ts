/**
 * loadSafetensors on files (nn/files.ts, issue 15): a missing file and a directory are
 * SafetensorsErrors naming the path; a file over 2 GiB loads (each tensor read on its own; the file
 * here is sparse, so it costs no disk space: 2.2 GB of I64 tensors, mostly zeros, with values
 * written at both ends of the tensors).
 */
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSafetensors, saveSafetensors } from '../nn/node.js';
import { SafetensorsError } from '../nn/safetensors.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'safetensors-file-'));
  dirs.push(d);
  return d;
}
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

async function rejection(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(SafetensorsError);
  return e as Error;
}

describe('loadSafetensors on files', () => {
  it('a missing file and a directory name the path', async () => {
    const d = await tempDir();
    expect((await rejection(loadSafetensors(join(d, 'nope.safetensors')))).message).toBe(`safetensors: ${join(d, 'nope.safetensors')}: no such file`);
    await mkdir(join(d, 'dir.safetensors'));
    expect((await rejection(loadSafetensors(join(d, 'dir.safetensors')))).message)
      .toBe(`safetensors: ${join(d, 'dir.safetensors')}: is a directory, expected a safetensors file`);
    // an ordinary file still loads, tensors and metadata
    const p = join(d, 'ok.safetensors');
    await saveSafetensors(p, { w: { dtype: 'F32', shape: [2, 2], data: Float32Array.of(1, -2, 3.5, 4) } }, { note: 'hi' });
    const dict = await loadSafetensors(p);
    expect(Array.from(dict.get('w')!.data)).toEqual([1, -2, 3.5, 4]);
    expect(dict.metadata).toEqual({ note: 'hi' });
  });

  it('a file over 2 GiB loads: each tensor read on its own, into the arrays returned', async () => {
    const d = await tempDir();
    const p = join(d, 'big.safetensors');
    const tensors = [
      { name: 'a', dtype: 'F32', n: 300_000_000, item: 4 },
      { name: 'b', dtype: 'U8', n: 1_000_000_000, item: 1 },
    ]; // 2.2e9 bytes of data
    let at = 0;
    const header: Record<string, unknown> = { __metadata__: { what: 'sparse' } };
    const offset: Record<string, number> = {};
    for (const t of tensors) { offset[t.name] = at; header[t.name] = { dtype: t.dtype, shape: [t.n], data_offsets: [at, at + t.item * t.n] }; at += t.item * t.n; }
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - (json.length % 8)) % 8);
    const base = 8 + json.length;
    const total = base + at;
    expect(total).toBeGreaterThan(2 ** 31);
    const fh = await open(p, 'w');
    try {
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      await fh.write(len, 0, 8, 0);
      await fh.write(Buffer.from(json), 0, json.length, 8);
      const f32 = async (i: number, v: number) => { const b = Buffer.alloc(4); b.writeFloatLE(v); await fh.write(b, 0, 4, base + offset.a + 4 * i); };
      await f32(0, 1.5);
      await f32(299_999_999, -2.25);
      await fh.write(Uint8Array.of(200), 0, 1, base + offset.b + 999_999_999);
      await fh.write(Uint8Array.of(17), 0, 1, base + offset.b);
      await fh.truncate(total); // the rest: holes, read as zeros
    } finally {
      await fh.close();
    }
    const dict = await loadSafetensors(p);
    expect(dict.metadata).toEqual({ what: 'sparse' });
    const a = dict.get('a')!, b = dict.get('b')!;
    expect([a.dtype, a.shape, b.dtype, b.shape]).toEqual(['F32', [300_000_000], 'U8', [1_000_000_000]]);
    expect([a.data[0], a.data[1], a.data[299_999_999], b.data[0], b.data[500_000_000], b.data[999_999_999]]).toEqual([1.5, 0, -2.25, 17, 0, 200]);
  });
});

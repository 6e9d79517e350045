/**
 * File-system failures of the pretrain and eval commands (issue 15): a full disk (ENOSPC) while a
 * checkpoint or the log is written, a read-only --out (EROFS), --out that is a file, eval's --export
 * naming a directory and eval's --out naming a file. Each is one line naming the path and the
 * cause, exit status 1, the previous checkpoint stays valid, and eval's paths are checked before the
 * evaluation runs.
 *
 * ENOSPC and EROFS are injected: node:fs/promises is wrapped (vi.mock) so that chosen operations
 * on chosen paths fail the way Node fails them (write errors carry no path, open errors do), since a
 * full or read-only file system needs privileges to mount. The behaviour was also checked by hand
 * on a real 64 KiB tmpfs and a read-only tmpfs (see the issue-15 report).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CpuBackend } from '../engine/cpu/backend.js';
import { Random } from '../engine/random.js';
import { LARS, Sequential } from '../nn/index.js';
import { resnet18 } from '../nn/resnet.js';
import { loadCheckpoint, saveCheckpoint } from '../simclr/checkpoint.js';
import { DEFAULT_EVAL_CONFIG, main as evalMain, runEval } from '../simclr/eval-cli.js';
import { ProjectionHead } from '../simclr/head.js';
import { main } from '../simclr/pretrain-cli.js';
import { cifarRecords } from './helpers.js';

/** The injected fault: an errno code for (operation, path), or null to let it through. */
const fault = vi.hoisted(() => ({ at: (_op: 'open' | 'write' | 'mkdir', _path: string): string | null => null }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const err = (code: string, syscall: string, path?: string) => Object.assign(
    new Error(`${code}: injected, ${syscall}${path ? ` '${path}'` : ''}`), { code, syscall, errno: -1, ...(path ? { path } : {}) });
  const check = (op: 'open' | 'write' | 'mkdir', p: unknown) => {
    const code = fault.at(op, String(p));
    // as Node: open and mkdir errors name the path, write errors do not
    if (code) throw err(code, op, op === 'write' ? undefined : String(p));
  };
  const m = {
    ...real,
    mkdir: (async (p: string, o?: { recursive?: boolean }) => {
      const code = existsSync(p) ? null : fault.at('mkdir', p);
      // as Node: a recursive mkdir reports ENOENT whatever stopped it
      if (code) throw err(o?.recursive ? 'ENOENT' : code, 'mkdir', p);
      return real.mkdir(p, o);
    }) as typeof real.mkdir,
    writeFile: (async (p: string, d: string | Uint8Array, o?: object) => { check('open', p); check('write', p); return real.writeFile(p, d, o); }) as typeof real.writeFile,
    appendFile: (async (p: string, d: string | Uint8Array, o?: object) => { check('open', p); check('write', p); return real.appendFile(p, d, o); }) as typeof real.appendFile,
    open: (async (p: string, flags?: string, mode?: number) => {
      check('open', p);
      const fh = await real.open(p, flags, mode);
      const write = fh.writeFile.bind(fh);
      // a full disk: part of the data lands, then the write fails
      fh.writeFile = (async (d: Uint8Array) => {
        const code = fault.at('write', p);
        if (code) { await write(d.subarray(0, d.length >> 1)); throw err(code, 'write'); }
        return write(d);
      }) as typeof fh.writeFile;
      return fh;
    }) as typeof real.open,
  };
  return { ...m, default: m };
});

let root = '', trainFile = '', testFile = '';
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fs-errors-'));
  trainFile = join(root, 'train.bin');
  testFile = join(root, 'test.bin');
  await writeFile(trainFile, cifarRecords(64, 1));
  await writeFile(testFile, cifarRecords(32, 2));
});
afterEach(() => { fault.at = () => null; });
afterAll(async () => { if (root) await rm(root, { recursive: true, force: true }); });

/** Runs a CLI main with its console output captured. */
async function capture(run: () => Promise<number>): Promise<{ code: number; errs: string[]; lines: string[] }> {
  const errs: string[] = [], lines: string[] = [];
  const e = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { errs.push(a.map(String).join(' ')); });
  const l = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { lines.push(a.map(String).join(' ')); });
  const o = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    return { code: await run(), errs, lines };
  } finally {
    e.mockRestore(); l.mockRestore(); o.mockRestore();
  }
}

// no --test-data: the kNN monitor is not what these tests are about
const pretrainArgs = (out: string) => ['--data', trainFile, '--out', out, '--epochs', '2', '--batch-size', '32',
  '--width', '0.0625', '--warmup-epochs', '1', '--checkpoint-every', '1', '--backend', 'webgpu'];
const noStack = (lines: string[]) => expect(lines.join('\n')).not.toMatch(/\n\s+at /);

describe('pretrain: file-system errors are one line with path and cause; the previous checkpoint stays valid', () => {
  it('disk full (ENOSPC) while the second checkpoint is written', async () => {
    const out = join(root, 'full-ckpt');
    fault.at = (op, p) => (op === 'write' && p.includes('.checkpoint-4.safetensors.') ? 'ENOSPC' : null);
    const { code, errs } = await capture(() => main(pretrainArgs(out)));
    expect(code).toBe(1);
    expect(errs[0]).toBe(`pretrain: file: cannot write checkpoint ${join(out, 'checkpoint-4.safetensors')}: no space left on the device (ENOSPC); ` +
      'the previous checkpoint and latest.json are unchanged');
    noStack(errs);
    expect(JSON.parse(await readFile(join(out, 'latest.json'), 'utf8'))).toMatchObject({ checkpoint: 'checkpoint-2.safetensors' });
    const ck = await loadCheckpoint(out);
    expect(ck).toMatchObject({ step: 2, fallback: null });
    expect((await readdir(out)).filter((f) => f.endsWith('.tmp') || f === 'checkpoint-4.safetensors')).toEqual([]);
  });

  it('disk full while the log is appended (a write error without a path): names the log file', async () => {
    const out = join(root, 'full-log');
    let n = 0;
    fault.at = (op, p) => (op === 'write' && p.endsWith('log.jsonl') && ++n > 5 ? 'ENOSPC' : null);
    const { code, errs } = await capture(() => main(pretrainArgs(out)));
    expect(code).toBe(1);
    expect(errs[0]).toBe(`pretrain: file: cannot append to ${join(out, 'log.jsonl')}: no space left on the device (ENOSPC)`);
    noStack(errs);
    expect((await loadCheckpoint(out)).step).toBe(2);
  });

  it('a read-only --out (EROFS) fails before the data are read', async () => {
    const out = await mkdtemp(join(root, 'ro-'));
    fault.at = (op, p) => (op === 'open' && p.startsWith(out) ? 'EROFS' : null);
    const { code, errs, lines } = await capture(() => main(pretrainArgs(out)));
    expect(code).toBe(1);
    expect(errs).toEqual([`pretrain: file: cannot create lock file ${join(out, '.lock')}: read-only file system (EROFS)`]);
    expect(lines.join('\n')).not.toContain('data: ');
    // a new --out on a read-only mount: the real cause, not the ENOENT of Node's recursive mkdir
    const sub = join(out, 'new', 'run');
    fault.at = (op, p) => (op === 'mkdir' && p.startsWith(out) ? 'EROFS' : null);
    const r = await capture(() => main(pretrainArgs(sub)));
    expect(r.errs).toEqual([`pretrain: file: cannot create output directory ${sub}: read-only file system (EROFS)`]);
  });

  it('--out that is a file', async () => {
    const file = join(root, 'out-file');
    await writeFile(file, 'not a directory');
    const { code, errs } = await capture(() => main(pretrainArgs(file)));
    expect(code).toBe(1);
    expect(errs).toEqual([`pretrain: out: ${file} is a file, not a directory; pass a directory as --out`]);
  });
});

describe('eval: output paths are checked before the evaluation runs', () => {
  let run = '';
  beforeAll(async () => {
    const c = new CpuBackend();
    const rng = new Random(1);
    const encoder = resnet18({ stem: 'cifar', width: 1 / 16, rng, backend: c });
    const model = new Sequential(encoder, new ProjectionHead(encoder.features, { rng, backend: c }));
    const opt = new LARS(model, { lr: 0 });
    run = join(root, 'eval-run');
    await saveCheckpoint(run, { model, optimizer: opt, step: 3, epoch: 0, rng, config: { data: [trainFile], depth: 18, width: 1 / 16, batchSize: 16 } });
    await writeFile(join(run, 'config.json'), JSON.stringify({ data: [trainFile], testData: testFile, format: 'cifar10' }));
    opt.dispose(); model.dispose();
  });

  it('--export naming a directory, --out naming a file, a read-only evaluation directory: one line each, nothing evaluated', async () => {
    const c = new CpuBackend();
    const cfg = { ...DEFAULT_EVAL_CONFIG, run, finetune: [], baselines: false, linearEpochs: 1 };
    const logged: string[] = [];
    await expect(runEval({ ...cfg, export: root }, (l) => logged.push(l), c)).rejects.toThrow(`file: --export ${root} is a directory; name a file`);
    await expect(runEval({ ...cfg, out: trainFile }, (l) => logged.push(l), c)).rejects.toThrow(`file: --out ${trainFile} is a file, not a directory`);
    fault.at = (op, p) => (op === 'open' && p.startsWith(join(run, 'eval')) ? 'EROFS' : null);
    await expect(runEval(cfg, (l) => logged.push(l), c)).rejects.toThrow(`file: cannot write in the evaluation directory ${join(run, 'eval')}: read-only file system (EROFS)`);
    fault.at = () => null;
    expect(logged).toEqual([]); // no data read, no kNN, no linear evaluation
    const { code, errs } = await capture(() => evalMain(['--run', run, '--export', root, '--backend', 'cpu']));
    expect(code).toBe(1);
    expect(errs).toEqual([`eval: file: --export ${root} is a directory; name a file`]);
  });
});

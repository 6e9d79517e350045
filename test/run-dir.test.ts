/**
 * The run directory (simclr/run-dir.ts, issue 15): a non-empty --out is refused without --resume
 * (naming the directory and the ways out), --overwrite removes only a run's files and says which,
 * --out that is a file, the exclusive lock (a live owner refused by pid, a stale lock taken over and
 * reported, a lock from another host refused with its path, released at the end), leftover .tmp
 * files removed at open unless their process runs, pruning to the newest K plus latest.json's
 * checkpoint that never removes the only good one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../engine/cpu/backend.js';
import { Random } from '../engine/random.js';
import { Linear, SGD } from '../nn/index.js';
import { saveCheckpoint } from '../simclr/checkpoint.js';
import { LOCK_FILE, RunDir, RunDirError } from '../simclr/run-dir.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'run-dir-test-'));
  dirs.push(d);
  return d;
}
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) c.kill();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A process that runs until the tests end (a live pid that is not this one). */
function liveProcess(): number {
  const c = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)'], { stdio: 'ignore' });
  children.push(c);
  return c.pid!;
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const c = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((r) => c.on('exit', r));
  return c.pid!;
}

async function fakeRun(dir: string): Promise<void> {
  for (const f of ['log.jsonl', 'latest.json', 'config.json', 'plot.png', 'checkpoint-4.safetensors', 'checkpoint-8.safetensors']) await writeFile(join(dir, f), 'x');
  await mkdir(join(dir, 'eval'));
  await writeFile(join(dir, 'eval', 'eval.md'), 'x');
}

async function open(dir: string, opts: Parameters<typeof RunDir.open>[1] = {}): Promise<{ run: RunDir; notes: string[] }> {
  const notes: string[] = [];
  const run = await RunDir.open(dir, { ...opts, onNote: (m) => notes.push(m) });
  return { run, notes };
}

describe('RunDir.open: what --out may hold', () => {
  it('a directory holding a run is refused without --resume, naming it and offering --resume, another --out or --overwrite', async () => {
    const dir = await tempDir();
    await fakeRun(dir);
    const err = await RunDir.open(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunDirError);
    expect((err as Error).message).toBe(`out: ${dir} is not empty (it holds checkpoint-4.safetensors, checkpoint-8.safetensors, config.json, eval, ` +
      'latest.json, log.jsonl, ... (7 in all): a previous run); pass --resume to continue that run, another --out for a new one, or --overwrite ' +
      'to remove the previous run\'s files first');
    expect((await readdir(dir)).sort()).toEqual(['checkpoint-4.safetensors', 'checkpoint-8.safetensors', 'config.json', 'eval', 'latest.json', 'log.jsonl', 'plot.png']);
    const { run } = await open(dir, { resume: true });
    await run.release();
    const foreign = await tempDir();
    await writeFile(join(foreign, 'notes.txt'), 'mine');
    await expect(RunDir.open(foreign)).rejects.toThrow(/holds notes\.txt\); pass another --out \(a new or empty directory\)$/);
    // new and empty directories are fine; hidden files do not count
    const fresh = join(await tempDir(), 'a', 'b');
    await (await open(fresh)).run.release();
    expect(existsSync(fresh)).toBe(true);
    await writeFile(join(fresh, '.gitkeep'), '');
    await (await open(fresh)).run.release();
    await expect(RunDir.open(join(fresh, 'nope'), { resume: true })).rejects.toThrow(/nothing to resume: .*nope does not exist/);
    await expect(RunDir.open(dir, { resume: true, overwrite: true })).rejects.toThrow(/pass one of them/);
  });

  it('--overwrite removes only the previous run\'s files and reports each; other files are kept and reported', async () => {
    const dir = await tempDir();
    await fakeRun(dir);
    await writeFile(join(dir, 'encoder.safetensors'), 'user file');
    const { run, notes } = await open(dir, { overwrite: true });
    expect((await readdir(dir)).sort()).toEqual([LOCK_FILE, 'encoder.safetensors']);
    expect(notes).toEqual([`--overwrite: removed the previous run's 7 file(s) from ${dir}: checkpoint-4.safetensors, checkpoint-8.safetensors, ` +
      `config.json, latest.json, log.jsonl, plot.png, ${join('eval', 'eval.md')}; kept encoder.safetensors (not a run's files)`]);
    await run.release();
    expect(await readdir(dir)).toEqual(['encoder.safetensors']);
  });

  it('--out that is a file is one clear error', async () => {
    const file = join(await tempDir(), 'out.txt');
    await writeFile(file, 'x');
    await expect(RunDir.open(file)).rejects.toThrow(`out: ${file} is a file, not a directory; pass a directory as --out`);
  });
});

describe('RunDir lock', () => {
  it('a second opener is refused while the first holds the lock (pid in the lock file); free again after release', async () => {
    const dir = await tempDir();
    const exitHooks = process.listenerCount('exit');
    const { run } = await open(dir);
    expect(process.listenerCount('exit')).toBe(exitHooks + 1);
    const lock = JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')) as { pid: number; host: string };
    expect(lock).toMatchObject({ pid: process.pid, host: hostname() });
    await expect(RunDir.open(dir, { resume: true })).rejects.toThrow(new RegExp(`${dir} is in use by process ${process.pid} .*lock file ${join(dir, LOCK_FILE)}.*another --out`));
    await run.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    expect(process.listenerCount('exit')).toBe(exitHooks);
    await (await open(dir, { resume: true })).run.release();
  });

  it('another live process\'s lock is refused; a dead process\'s lock is stale: taken over and reported; another host\'s lock names the file to delete', async () => {
    const dir = await tempDir();
    const live = liveProcess();
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: live, host: hostname(), started: '2024-01-01T00:00:00Z', token: 't1' }));
    await expect(RunDir.open(dir, { resume: true })).rejects.toThrow(`is in use by process ${live} (since 2024-01-01T00:00:00Z`);
    const dead = await deadPid();
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: dead, host: hostname(), started: '2024-01-02T00:00:00Z', token: 't2' }));
    const { run, notes } = await open(dir, { resume: true });
    expect(notes).toEqual([`removed a stale lock: process ${dead} (since 2024-01-02T00:00:00Z) is no longer running`]);
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    await run.release();
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: dead, host: 'elsewhere', started: 's', token: 't3' }));
    await expect(RunDir.open(dir, { resume: true })).rejects.toThrow(`locked by process ${dead} on host elsewhere (since s); this host cannot tell whether it still runs: if it does not, delete ${join(dir, LOCK_FILE)}`);
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')).token).toBe('t3'); // not touched
  });
});

describe('RunDir temporary files and pruning', () => {
  it('leftover .tmp files of dead writers are removed at open (also in eval/) and reported; a live writer\'s is kept', async () => {
    const dir = await tempDir();
    const dead = await deadPid(), live = liveProcess();
    await mkdir(join(dir, 'eval'));
    const stale = [`.checkpoint-8.safetensors.${dead}.lx2abc9f3k1.tmp`, `.latest.json.${dead}.lx2abcz.tmp`];
    for (const f of stale) await writeFile(join(dir, f), 'partial');
    await writeFile(join(dir, 'eval', `.eval.json.${dead}.q1.tmp`), 'partial');
    const busy = `.eval.md.${live}.q2.tmp`;
    await writeFile(join(dir, 'eval', busy), 'being written');
    const { run, notes } = await open(dir, { resume: true });
    expect(notes).toEqual([`removed 3 leftover temporary file(s) of an interrupted write in ${dir}: ${stale.sort().join(', ')}, ${join('eval', `.eval.json.${dead}.q1.tmp`)}`]);
    expect((await readdir(dir)).sort()).toEqual([LOCK_FILE, 'eval']);
    expect(await readdir(join(dir, 'eval'))).toEqual([busy]);
    await run.release();
  });

  it('prune keeps the newest K and latest.json\'s checkpoint, and removes nothing when none of those validates', async () => {
    const c = new CpuBackend();
    const model = new Linear(3, 2, { rng: new Random(1), backend: c });
    const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const dir = await tempDir();
    const { run, notes } = await open(dir);
    for (let step = 1; step <= 5; step++) await saveCheckpoint(dir, { model, optimizer: opt, step, epoch: 0, rng: new Random(2), config: {} });
    await writeFile(join(dir, 'latest.json'), JSON.stringify({ checkpoint: 'checkpoint-2.safetensors', step: 2, epoch: 0 }));
    expect(await run.prune(2)).toEqual(['checkpoint-3.safetensors', 'checkpoint-1.safetensors']);
    expect((await readdir(dir)).filter((n) => n.startsWith('checkpoint')).sort()).toEqual(['checkpoint-2.safetensors', 'checkpoint-4.safetensors', 'checkpoint-5.safetensors']);
    expect(await run.prune(3)).toEqual([]);
    // every checkpoint pruning would keep is corrupt: nothing is removed
    for (const n of ['checkpoint-2.safetensors', 'checkpoint-5.safetensors']) {
      const b = await readFile(join(dir, n));
      b[b.length - 2] ^= 1;
      await writeFile(join(dir, n), b);
    }
    expect(await run.prune(1)).toEqual([]);
    expect(notes.at(-1)).toMatch(/^kept all 3 checkpoints in .*: none of the ones pruning would keep validates \(.*checkpoint-2\.safetensors: its bytes changed.*checkpoint-5\.safetensors: its bytes changed/);
    expect((await readdir(dir)).filter((n) => n.startsWith('checkpoint'))).toHaveLength(3);
    await expect(run.prune(0)).rejects.toThrow(/keep must be a positive integer/);
    await run.release();
    opt.dispose(); model.dispose();
  });
});

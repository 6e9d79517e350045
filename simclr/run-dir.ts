/**
 * The output directory of a training run (`--out`), opened so that runs cannot be lost or mixed:
 *
 * - Lock: `<out>/.lock`, created exclusively (O_EXCL) and holding the owner's pid, host, start time
 *   and a random token. A second process is refused while the owner runs. A lock whose process is no
 *   longer running on this host is stale: it is taken over and reported. A lock from another host
 *   cannot be checked and is refused with its path, for the user to delete. `release()` (and, should
 *   the process exit without it, an exit hook) removes the lock if it is still this process's.
 * - Refusal: a directory that already holds files is refused unless the run is resumed (`resume`),
 *   naming the directory and what is in it. `overwrite` removes the previous run's files (log.jsonl,
 *   plot.png, latest.json, config.json, checkpoint-<step>.safetensors, eval/eval.json, eval/eval.md)
 *   and reports each; any other file is kept and reported, never deleted.
 * - Temporary files: writeFileAtomic's `.<name>.<pid>.<random>.tmp` files left by a killed write
 *   (in `<out>` and `<out>/eval`) are removed at open, unless their process still runs.
 * - Pruning: `prune(keep)` removes all but the newest `keep` checkpoints and the one latest.json
 *   names, and removes nothing unless one of those it keeps validates (checksum included), so the
 *   only good checkpoint is never removed.
 *
 * Node-only (file system); the trainer reaches it through the CLI's output sink.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, readFile, readdir, rename, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { EngineError } from '../engine/errors.js';
import { checkpointFiles, readCheckpointFile } from './checkpoint.js';
import { errnoCode, fileError, makeDir, withPath } from './fs-error.js';

export const LOCK_FILE = '.lock';
/** The files a run writes in its directory (and its eval/ subdirectory). */
const RUN_FILE = /^(log\.jsonl|plot\.png|latest\.json|config\.json|checkpoint-\d+\.safetensors)$/;
const EVAL_FILES = ['eval.json', 'eval.md'];
/** writeFileAtomic's temporaries: `.<name>.<pid>.<time+random>.tmp`. */
const TMP_FILE = /^\..+\.(\d+)\.[0-9a-z]+\.tmp$/;

/** A directory that cannot be used as a run's output; the message names it and the way out. */
export class RunDirError extends EngineError {
  constructor(detail: string) { super('out', detail); }
}

export interface RunDirOptions {
  /** The run continues the one in the directory (its files are expected). */
  resume?: boolean;
  /** Remove the previous run's files first (each is reported). */
  overwrite?: boolean;
  /** Reports what was cleaned up: a stale lock, leftover temporary files, removed or kept files, pruned checkpoints. */
  onNote?(message: string): void;
}

interface LockInfo { pid: number; host: string; started: string; token: string }

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM'; // exists, owned by someone else
  }
}

async function readLock(path: string): Promise<{ info: LockInfo | null; ageMs: number } | null> {
  let text: string;
  let ageMs: number;
  try {
    text = await readFile(path, 'utf8');
    ageMs = Date.now() - (await stat(path)).mtimeMs;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return null;
    throw fileError('read lock file', path, e);
  }
  try {
    const o = JSON.parse(text) as Partial<LockInfo>;
    if (Number.isSafeInteger(o.pid) && typeof o.host === 'string' && typeof o.token === 'string') {
      return { info: { pid: o.pid!, host: o.host, started: String(o.started), token: o.token }, ageMs };
    }
  } catch { /* written half: judged by age below */ }
  return { info: null, ageMs };
}

function listing(names: readonly string[], max = 6): string {
  return names.slice(0, max).join(', ') + (names.length > max ? `, ... (${names.length} in all)` : '');
}

export class RunDir {
  private released = false;
  private readonly onExit: () => void;

  private constructor(readonly path: string, private readonly token: string, private readonly note: (m: string) => void) {
    // A process that exits without release() (process.exit on a second SIGINT) still frees the directory.
    this.onExit = () => {
      try {
        if ((JSON.parse(readFileSync(this.lockPath, 'utf8')) as LockInfo).token === this.token) unlinkSync(this.lockPath);
      } catch { /* gone already */ }
    };
    process.on('exit', this.onExit);
  }

  get lockPath(): string { return join(this.path, LOCK_FILE); }

  /** Opens (creating it unless resuming) and locks `path`; see the file comment. */
  static async open(path: string, opts: RunDirOptions = {}): Promise<RunDir> {
    const note = opts.onNote ?? (() => {});
    if (opts.resume && opts.overwrite) {
      throw new RunDirError(`--resume continues the run in ${path} and --overwrite removes it; pass one of them`);
    }
    const st = await stat(path).catch((e: unknown) => {
      if (errnoCode(e) === 'ENOENT') return null;
      throw fileError('open output directory', path, e);
    });
    if (st && !st.isDirectory()) throw new RunDirError(`${path} is a file, not a directory; pass a directory as --out`);
    if (!st && opts.resume) throw new RunDirError(`nothing to resume: ${path} does not exist`);
    await withPath('create output directory', path, () => makeDir(path));
    const token = randomUUID();
    await RunDir.lock(path, token, note);
    const dir = new RunDir(path, token, note);
    try {
      await dir.removeTemporaries();
      await dir.checkContents(opts);
    } catch (e) {
      await dir.release();
      throw e;
    }
    return dir;
  }

  private static async lock(path: string, token: string, note: (m: string) => void): Promise<void> {
    const lockPath = join(path, LOCK_FILE);
    const me: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString(), token };
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await writeFile(lockPath, JSON.stringify(me) + '\n', { flag: 'wx' });
        return;
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw fileError('create lock file', lockPath, e);
      }
      const held = await readLock(lockPath);
      if (held === null) continue; // released meanwhile
      const { info, ageMs } = held;
      if (info === null && ageMs < 10_000) throw new RunDirError(`${path} is being locked by another process right now (${lockPath}); pass another --out`);
      if (info !== null && info.host !== me.host) {
        throw new RunDirError(`${path} is locked by process ${info.pid} on host ${info.host} (since ${info.started}); this host cannot tell whether ` +
          `it still runs: if it does not, delete ${lockPath}; else pass another --out`);
      }
      if (info !== null && processRuns(info.pid)) {
        throw new RunDirError(`${path} is in use by process ${info.pid} (since ${info.started}; lock file ${lockPath}): two runs must not write ` +
          'one directory; wait for it to end or pass another --out');
      }
      // Stale: move it aside (only one process can), check it is still the one judged stale, delete it.
      const aside = `${lockPath}.stale.${token}`;
      try {
        await rename(lockPath, aside);
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') continue;
        throw fileError('remove stale lock file', lockPath, e);
      }
      const moved = await readLock(aside);
      if (moved?.info?.token !== info?.token) {
        // another process took the stale lock over in between: put its lock back (unless a newer one exists) and look again
        await link(aside, lockPath).catch(() => {});
        await unlink(aside).catch(() => {});
        continue;
      }
      await unlink(aside).catch(() => {});
      note(info === null ? `removed an unreadable stale lock file ${lockPath}`
        : `removed a stale lock: process ${info.pid} (since ${info.started}) is no longer running`);
    }
    throw new RunDirError(`could not take the lock ${lockPath}: it keeps changing (is another run starting in ${path}?)`);
  }

  private async removeTemporaries(): Promise<void> {
    const removed: string[] = [];
    for (const d of [this.path, join(this.path, 'eval')]) {
      const names = await readdir(d).catch(() => [] as string[]);
      for (const n of names) {
        const m = TMP_FILE.exec(n);
        if (!m || (Number(m[1]) !== process.pid && processRuns(Number(m[1])))) continue;
        await withPath('remove leftover temporary file', join(d, n), () => unlink(join(d, n)));
        removed.push(d === this.path ? n : join('eval', n));
      }
    }
    if (removed.length) this.note(`removed ${removed.length} leftover temporary file(s) of an interrupted write in ${this.path}: ${listing(removed)}`);
  }

  private async checkContents(opts: RunDirOptions): Promise<void> {
    if (opts.resume) return;
    const names = (await withPath('list output directory', this.path, () => readdir(this.path))).filter((n) => !n.startsWith('.')).sort();
    if (names.length === 0) return;
    const evalFiles = names.includes('eval') ? (await readdir(join(this.path, 'eval')).catch(() => [] as string[])).filter((n) => EVAL_FILES.includes(n)) : [];
    const runFiles = [...names.filter((n) => RUN_FILE.test(n)), ...evalFiles.map((n) => join('eval', n))];
    if (!opts.overwrite) {
      throw new RunDirError(`${this.path} is not empty (it holds ${listing(names)}${runFiles.length ? ': a previous run' : ''}); ` +
        (runFiles.length ? 'pass --resume to continue that run, another --out for a new one, or --overwrite to remove the previous run\'s files first'
          : 'pass another --out (a new or empty directory)'));
    }
    for (const f of runFiles) await withPath('remove', join(this.path, f), () => unlink(join(this.path, f)));
    if (evalFiles.length) await rmdir(join(this.path, 'eval')).catch(() => {}); // only if now empty
    const kept = (await readdir(this.path)).filter((n) => !n.startsWith('.'));
    this.note(`--overwrite: removed the previous run's ${runFiles.length} file(s) from ${this.path}` +
      (runFiles.length ? `: ${listing(runFiles, 12)}` : '') + (kept.length ? `; kept ${listing(kept)} (not a run's files)` : ''));
  }

  /**
   * Removes all checkpoints but the newest `keep` and the one latest.json names, provided one of
   * those kept validates; returns the removed file names.
   */
  async prune(keep: number): Promise<string[]> {
    if (!Number.isSafeInteger(keep) || keep < 1) throw new RunDirError(`keep must be a positive integer, got ${keep}`);
    const names = checkpointFiles(await withPath('list output directory', this.path, () => readdir(this.path)));
    let latest: string | null = null;
    try {
      const p = JSON.parse(await readFile(join(this.path, 'latest.json'), 'utf8')) as { checkpoint?: unknown };
      if (typeof p.checkpoint === 'string' && names.includes(p.checkpoint)) latest = p.checkpoint;
    } catch { /* no pointer: the newest ones are kept */ }
    const kept = [...new Set([...(latest ? [latest] : []), ...names.slice(0, keep)])];
    const doomed = names.filter((n) => !kept.includes(n));
    if (doomed.length === 0) return [];
    const problems: string[] = [];
    let good = false;
    for (const n of kept) {
      try {
        await readCheckpointFile(join(this.path, n));
        good = true;
        break;
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
    if (!good) {
      this.note(`kept all ${names.length} checkpoints in ${this.path}: none of the ones pruning would keep validates (${problems.join('; ')})`);
      return [];
    }
    for (const n of doomed) await withPath('remove old checkpoint', join(this.path, n), () => unlink(join(this.path, n)));
    return doomed;
  }

  /** Removes the lock (if it is still this process's). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    process.off('exit', this.onExit);
    const held = await readLock(this.lockPath).catch(() => null);
    if (held?.info?.token === this.token) await unlink(this.lockPath).catch(() => {});
  }
}

/**
 * File-system failures as one line naming the path and the cause: `cannot write /runs/a/log.jsonl:
 * no space left on the device (ENOSPC)`. Node's own messages ("ENOSPC: no space left on device,
 * write") often lack the path, and the CLIs print EngineErrors without a stack. `checkWritableDir` /
 * `checkWritableFile` find an unusable output path before minutes of work rather than after.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EngineError } from '../engine/errors.js';

export class FileError extends EngineError {
  constructor(readonly path: string, readonly code: string | undefined, detail: string) { super('file', detail); }
}

const CAUSES: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EISDIR: 'is a directory, not a file',
  EEXIST: 'already exists',
  ENOENT: 'no such file or directory',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
  EFBIG: 'file too large for the file system',
  ENAMETOOLONG: 'name too long',
};

/** The errno code of a Node file-system error, or undefined for anything else. */
export function errnoCode(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : undefined;
}

/**
 * `e` (a Node fs error) as a FileError: "cannot <verb> <path>: <cause> (<CODE>)<after>"; other
 * errors are returned as they are.
 */
export function fileError(verb: string, path: string, e: unknown, after = ''): unknown {
  if (e instanceof EngineError) return e;
  const code = errnoCode(e);
  if (code === undefined) return e;
  const cause = CAUSES[code] ?? String((e as Error).message).replace(/^E[A-Z]+: /, '').replace(/, \w+( .*)?$/, '');
  return new FileError(path, code, `cannot ${verb} ${path}: ${cause} (${code})${after}`);
}

const VERBS: Record<string, string> = {
  open: 'open', write: 'write', read: 'read', mkdir: 'create directory', rename: 'rename', unlink: 'remove', scandir: 'list',
  fsync: 'write', close: 'write', copyfile: 'copy', stat: 'open', lstat: 'open', rmdir: 'remove',
};

/**
 * A Node fs error that reached a command's top level as a FileError: its own path and system call
 * when it has them ("cannot create directory /x/out: ..."), else "cannot write to <where>" (a
 * write on an open file handle carries no path). Anything else is returned as it is.
 */
export function uncaughtFileError(e: unknown, where: string): unknown {
  const ex = e as NodeJS.ErrnoException;
  if (errnoCode(e) === undefined) return e;
  return typeof ex.path === 'string' ? fileError(VERBS[ex.syscall ?? ''] ?? 'use', ex.path, e) : fileError('write to', where, e);
}

/** Runs `f`; a Node fs error becomes a FileError naming `path`. */
export async function withPath<T>(verb: string, path: string, f: () => Promise<T>, after = ''): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw fileError(verb, path, e, after);
  }
}

/**
 * `dir` exists (created if needed) as a directory a file can be written in: a probe file is written
 * and removed. `what` names it in the error, e.g. '--out'.
 */
export async function checkWritableDir(dir: string, what: string): Promise<void> {
  const st = await stat(dir).catch(() => null);
  if (st && !st.isDirectory()) throw new FileError(dir, 'ENOTDIR', `${what} ${dir} is a file, not a directory`);
  await withPath(`create ${what}`, dir, () => makeDir(dir));
  // named like writeFileAtomic's temporaries, so a run directory's cleanup removes one left by a crash
  const probe = join(dir, `.write-test.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  await withPath(`write in ${what}`, dir, () => writeFile(probe, 'ok'));
  await unlink(probe).catch(() => {});
}

/**
 * mkdir -p, except that a failure reports its real cause: Node's recursive mkdir says ENOENT where
 * creating the first missing directory failed for another reason (EROFS on a read-only mount).
 */
export async function makeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
    let missing = dir;
    while (dirname(missing) !== missing && !(await stat(dirname(missing)).catch(() => null))) missing = dirname(missing);
    await mkdir(missing); // throws the real cause
    throw e;
  }
}

/** `file` can be written: it is not a directory and its directory is writable. */
export async function checkWritableFile(file: string, what: string): Promise<void> {
  const st = await stat(file).catch(() => null);
  if (st?.isDirectory()) throw new FileError(file, 'EISDIR', `${what} ${file} is a directory; name a file`);
  await checkWritableDir(dirname(file), `the directory of ${what}`);
}

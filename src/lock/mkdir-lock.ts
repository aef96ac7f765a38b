// The primitive under every lock: a directory that exists or does not. mkdir is atomic on every
// local file system: of any number of racing callers exactly one creates the directory.
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmdirSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const OWNER_FILE = 'owner.json';

/** How owner.json's text is written; tests pass one that fails as a full disk does. */
export type WriteOwner = (fd: number, text: string) => void;

const writeOwnerText: WriteOwner = (fd, text) => void writeSync(fd, text);

/** Creates `dir` and records `owner` in it. False when the directory exists already. */
export function tryMkdirLock(dir: string, owner: object, write: WriteOwner = writeOwnerText): boolean {
  try {
    mkdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'ENOENT') throw error;
    mkdirSync(dirname(dir), { recursive: true });
    return tryMkdirLock(dir, owner, write);
  }
  let fd: number;
  try {
    // 'wx': if anything else ever wrote here, fail rather than overwrite it.
    fd = openSync(join(dir, OWNER_FILE), 'wx');
  } catch (error) {
    // The directory went between mkdir and open (a healer removes a lock without an owner once
    // it is old), or was replaced by the next holder's: a lost race, not ours to clean up.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EEXIST') return false;
    throw error;
  }
  try {
    try {
      write(fd, JSON.stringify(owner));
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    // A full disk (or any write error): left alone, the half-made lock would hold the task as a
    // lock without an owner until a healer judged it old. It is ours, made an instant ago.
    removeHalfMade(dir);
    throw error;
  }
  return true;
}

/** Best effort: a healer's breaker inside (it is judging the lock) makes rmdir fail, and then it ages out as before. */
function removeHalfMade(dir: string): void {
  try {
    unlinkSync(join(dir, OWNER_FILE));
  } catch {
    // Not created, or gone: nothing to remove.
  }
  try {
    rmdirSync(dir);
  } catch {
    // See above.
  }
}


/** What is wrong with a parsed owner.json, or null; the default asks only for a JSON object. */
export type OwnerProblem = (value: unknown) => string | null;

const notAnObject: OwnerProblem = (value) => (jsonShape(value) === 'an object' ? null : jsonShape(value));

/** `null`, `an array`, `a string`...: how a JSON value is named in a reason. */
export function jsonShape(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' ? 'an object' : type === 'undefined' ? 'missing' : `a ${type}`;
}

/**
 * `refused`: what stands at the lock's name is not a directory guild-fs made (a symlink, a file).
 * Nobody removes it, reads through it or writes into it; it is reported and left to a person.
 * `damaged`: owner.json is there but is not an owner (bad JSON, or the wrong shape), as opposed
 * to not written yet.
 */
export type OwnerRead<T> =
  | { state: 'free' }
  /** `written`: owner.json's mtime by this machine's file system, what a heartbeat in the future is judged by instead. */
  | { state: 'held'; owner: T; written?: number }
  | { state: 'unreadable'; reason: string; refused?: true; damaged?: true };

/**
 * Why what stands at `dir` is not a lock guild-fs made, or null when it is a real directory (or
 * nothing). lstat, never stat: a symlink planted as a lock would otherwise lead a remover into
 * its target, and the target's files would be emptied as a tombstone's.
 */
export function notALock(dir: string): string | null {
  const stat = lstatSync(dir, { throwIfNoEntry: false });
  if (!stat || stat.isDirectory()) return null;
  return stat.isSymbolicLink() ? "a symlink, not guild-fs's lock: refused (remove it by hand)" : "not a directory, so not guild-fs's lock: refused (remove it by hand)";
}

/**
 * What the lock directory says. 'unreadable' covers the instant between mkdir and the owner
 * write, and a crash there: the directory counts as held, and the healer judges it by age.
 */
export function readLockOwner<T>(dir: string, problemOf: OwnerProblem = notAnObject): OwnerRead<T> {
  const stat = lstatSync(dir, { throwIfNoEntry: false });
  if (!stat) return { state: 'free' };
  if (!stat.isDirectory()) return { state: 'unreadable', reason: notALock(dir)!, refused: true };
  let text: string;
  let written: number;
  try {
    ({ text, written } = readSmallFile(join(dir, OWNER_FILE)));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ELOOP: owner.json is a symlink (O_NOFOLLOW), which guild-fs never makes.
    if (code === 'ELOOP') return { state: 'unreadable', reason: "owner.json is a symlink, not guild-fs's: refused (remove the lock by hand)", refused: true };
    if (code !== 'ENOENT') throw error;
    return lstatSync(dir, { throwIfNoEntry: false }) ? { state: 'unreadable', reason: 'no owner.json (being taken, or its taker crashed)' } : { state: 'free' };
  }
  // Between the open and the write of tryMkdirLock: being written, not damaged.
  if (text === '') return { state: 'unreadable', reason: 'owner.json is empty (being written, or its writer crashed)' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { state: 'unreadable', reason: 'owner.json is not valid JSON', damaged: true };
  }
  // Judges read fields of what they are given: a `null` or `[1,2]` here must not reach them.
  const problem = problemOf(value);
  return problem === null ? { state: 'held', owner: value as T, written } : { state: 'unreadable', reason: `owner.json is not a lock owner (${problem})`, damaged: true };
}

const readBuffer = Buffer.alloc(16_384);

/** open, read, close into a reused buffer: a release reads owner.json on every claim's way out. */
function readSmallFile(path: string): { text: string; written: number } {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  let length: number;
  let written: number;
  try {
    length = readSync(fd, readBuffer, 0, readBuffer.length, 0);
    written = fstatSync(fd).mtimeMs;
  } finally {
    closeSync(fd);
  }
  return { text: length < readBuffer.length ? readBuffer.toString('utf8', 0, length) : readFileSync(path, 'utf8'), written };
}

/** Replaces owner.json atomically (a reader sees the old or the new record, never half). */
export function rewriteOwner(dir: string, owner: object): void {
  replaceFile(join(dir, OWNER_FILE), JSON.stringify(owner));
}

/** Writes `path` through a temp file and a rename: a reader sees the old text or the new, never half. */
export function replaceFile(path: string, text: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, path);
}

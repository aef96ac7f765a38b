// The primitive under every lock: a directory that exists or does not. mkdir is atomic on every
// local file system: of any number of racing callers exactly one creates the directory.
import { closeSync, constants, lstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const OWNER_FILE = 'owner.json';

/** Creates `dir` and records `owner` in it. False when the directory exists already. */
export function tryMkdirLock(dir: string, owner: object): boolean {
  try {
    mkdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'ENOENT') throw error;
    mkdirSync(dirname(dir), { recursive: true });
    return tryMkdirLock(dir, owner);
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
    writeSync(fd, JSON.stringify(owner));
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * `refused`: what stands at the lock's name is not a directory guild-fs made (a symlink, a file).
 * Nobody removes it, reads through it or writes into it; it is reported and left to a person.
 */
export type OwnerRead<T> = { state: 'free' } | { state: 'held'; owner: T } | { state: 'unreadable'; reason: string; refused?: true };

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
export function readLockOwner<T>(dir: string): OwnerRead<T> {
  const stat = lstatSync(dir, { throwIfNoEntry: false });
  if (!stat) return { state: 'free' };
  if (!stat.isDirectory()) return { state: 'unreadable', reason: notALock(dir)!, refused: true };
  let text: string;
  try {
    text = readSmallFile(join(dir, OWNER_FILE));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ELOOP: owner.json is a symlink (O_NOFOLLOW), which guild-fs never makes.
    if (code === 'ELOOP') return { state: 'unreadable', reason: "owner.json is a symlink, not guild-fs's: refused (remove the lock by hand)", refused: true };
    if (code !== 'ENOENT') throw error;
    return lstatSync(dir, { throwIfNoEntry: false }) ? { state: 'unreadable', reason: 'no owner.json (being taken, or its taker crashed)' } : { state: 'free' };
  }
  try {
    return { state: 'held', owner: JSON.parse(text) as T };
  } catch {
    return { state: 'unreadable', reason: 'owner.json is not valid JSON' };
  }
}

const readBuffer = Buffer.alloc(16_384);

/** open, read, close into a reused buffer: a release reads owner.json on every claim's way out. */
function readSmallFile(path: string): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  let length: number;
  try {
    length = readSync(fd, readBuffer, 0, readBuffer.length, 0);
  } finally {
    closeSync(fd);
  }
  return length < readBuffer.length ? readBuffer.toString('utf8', 0, length) : readFileSync(path, 'utf8');
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

// The primitive under every lock: a directory that exists or does not. mkdir is atomic on every
// local file system: of any number of racing callers exactly one creates the directory.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
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
  try {
    // 'wx': if anything else ever wrote here, fail loudly rather than overwrite it.
    const fd = openSync(join(dir, OWNER_FILE), 'wx');
    try {
      writeSync(fd, JSON.stringify(owner));
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    rmdirSync(dir, { recursive: false });
    throw error;
  }
  return true;
}

export type OwnerRead<T> = { state: 'free' } | { state: 'held'; owner: T } | { state: 'unreadable'; reason: string };

/**
 * What the lock directory says. 'unreadable' covers the instant between mkdir and the owner
 * write, and a crash there: the directory counts as held, and the healer judges it by age.
 */
export function readLockOwner<T>(dir: string): OwnerRead<T> {
  let text: string;
  try {
    text = readFileSync(join(dir, OWNER_FILE), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw error;
    return existsSync(dir) ? { state: 'unreadable', reason: 'no owner.json (being taken, or its taker crashed)' } : { state: 'free' };
  }
  try {
    return { state: 'held', owner: JSON.parse(text) as T };
  } catch {
    return { state: 'unreadable', reason: 'owner.json is not valid JSON' };
  }
}

const tokenBuffer = Buffer.alloc(4096);

/**
 * Whether the lock at `dir` carries `token`, read with the fewest system calls (open, read,
 * close into a reused buffer): release runs on every claim's way out.
 */
export function lockTokenState(dir: string, token: string): 'free' | 'match' | 'other' {
  let fd: number;
  try {
    fd = openSync(join(dir, OWNER_FILE), 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return existsSync(dir) ? 'other' : 'free';
  }
  let length: number;
  try {
    length = readSync(fd, tokenBuffer, 0, tokenBuffer.length, 0);
  } finally {
    closeSync(fd);
  }
  // Tokens are hex: the quoted key and value cannot occur anywhere else in owner.json.
  return tokenBuffer.toString('utf8', 0, length).includes(`"token":"${token}"`) ? 'match' : 'other';
}

/** Removes a lock this process holds. The caller has checked the token. */
export function removeMkdirLock(dir: string): void {
  try {
    unlinkSync(join(dir, OWNER_FILE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  rmdirSync(dir);
}

/** Replaces owner.json atomically (a reader sees the old or the new record, never half). */
export function rewriteOwner(dir: string, owner: object): void {
  const temp = join(dir, `.${OWNER_FILE}.${process.pid}.tmp`);
  const fd = openSync(temp, 'w');
  try {
    writeSync(fd, JSON.stringify(owner));
  } finally {
    closeSync(fd);
  }
  renameSync(temp, join(dir, OWNER_FILE));
}

// The board mutex: every write of ACTIVE_TASKS.md (and the log lines that go with it) happens
// while holding <git-common-dir>/guild/board.lock, and re-reads the board inside it, so that
// no two writers ever base an update on the same old text. The mutex is held only across a
// synchronous read-parse-write (plus, rarely, loading the remark fallback), never across git.
import { randomBytes } from 'node:crypto';
import { BusyError } from '../errors.js';
import { hostName } from './lock-owner.js';
import { readLockOwner, removeMkdirLock, tryMkdirLock } from './mkdir-lock.js';

export interface MutexOwner {
  pid: number;
  host: string;
  since: string;
  token: string;
  purpose: string;
}

export interface MutexOptions {
  timeoutMs?: number;
  now?: () => number;
  sleep?: (ms: number) => void;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Synchronous sleep: the whole read-modify-write is synchronous, which keeps the hold short. */
export const sleepSync = (ms: number): void => void Atomics.wait(sleeper, 0, 0, ms);

export async function withBoardMutex<T>(path: string, purpose: string, work: () => Promise<T>, options: MutexOptions = {}): Promise<T> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? sleepSync;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const owner: MutexOwner = { pid: process.pid, host: hostName(), since: '', token: randomBytes(8).toString('hex'), purpose };
  const start = now();
  let wait = 1;
  for (;;) {
    owner.since = new Date(now()).toISOString();
    if (tryMkdirLock(path, owner)) break;
    if (now() - start > timeoutMs) {
      const holder = readLockOwner<MutexOwner>(path);
      const who = holder.state === 'held' ? `pid ${holder.owner.pid} on ${holder.owner.host} (${holder.owner.purpose}) since ${holder.owner.since}` : 'an unknown process';
      throw new BusyError(`the board is being written by ${who} and was not free within ${Math.round(timeoutMs / 1000)}s; if that process is gone, remove ${path}`, { path });
    }
    // Jittered backoff: racing writers spread out instead of retrying in lockstep.
    sleep(wait + Math.random() * wait);
    wait = Math.min(wait * 2, 25);
  }
  try {
    return await work();
  } finally {
    removeMkdirLock(path);
  }
}

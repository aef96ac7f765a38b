// The board mutex: every write of ACTIVE_TASKS.md (and the log lines that go with it) happens
// while holding <git-common-dir>/guild/board.lock, and re-reads the board inside it, so that no
// two writers ever base an update on the same old text. The mutex is held only across a
// read-parse-write (plus, rarely, loading the remark fallback), never across git.
//
// A writer killed while holding it would block every other writer, so the holder records its
// pid, the pid's start time and the boot id, and a waiter that proves the holder gone breaks the
// mutex through the same breaker protocol as claim locks (lock-removal.ts): only the very
// mutex that was judged dead is removed, never one taken again meanwhile.
import { randomBytes } from 'node:crypto';
import { BoardBusyError, FileError } from '../errors.js';
import { holderOf, judgeProcess, systemProbe, type Holder, type ProcessProbe } from './liveness.js';
import { removeLockDir } from './lock-removal.js';
import { notALock, readLockOwner, tryMkdirLock } from './mkdir-lock.js';
import { sleepSync } from './sleep.js';

export interface MutexOwner extends Holder {
  since: string;
  token: string;
  purpose: string;
}

export interface MutexOptions {
  timeoutMs?: number;
  now?: () => number;
  sleep?: (ms: number) => void;
  probe?: ProcessProbe;
}

/**
 * How long a board write keeps trying on a busy board, waiting for the mutex here and starting
 * again on a board a person keeps saving (update-board.ts), before it gives up with exit 3. Long
 * enough to outlast any burst of saves an editor makes and a slow writer's hold; short enough
 * for an agent, which sees the command hang meanwhile, to be told and try again later.
 */
export const BOARD_WAIT_MS = 30_000;

/** A mutex directory with no owner.json for this long was left by a writer killed right after mkdir. */
export const UNFINISHED_GRACE_MS = 10_000;

/**
 * This process's own turns at each mutex. The wait below blocks the thread (it runs inside
 * synchronous read-modify-writes), so two async writers of one process (`guild-fs run`'s
 * workers) must not both reach it: the second would block the very event loop the first needs
 * to finish and let go. They queue here instead, without blocking, one after the other.
 */
const turns = new Map<string, Promise<void>>();

export async function withBoardMutex<T>(path: string, purpose: string, work: () => Promise<T>, options: MutexOptions = {}): Promise<T> {
  const before = turns.get(path);
  let done!: () => void;
  const mine = new Promise<void>((resolve) => (done = resolve));
  const queue = (before ?? Promise.resolve()).then(() => mine);
  turns.set(path, queue);
  if (before) await before;
  try {
    return await holdBoardMutex(path, purpose, work, options);
  } finally {
    done();
    if (turns.get(path) === queue) turns.delete(path);
  }
}

async function holdBoardMutex<T>(path: string, purpose: string, work: () => Promise<T>, options: MutexOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? sleepSync;
  const probe = options.probe ?? systemProbe;
  const timeoutMs = options.timeoutMs ?? BOARD_WAIT_MS;
  const owner: MutexOwner = { ...holderOf(probe, process.pid), since: '', token: randomBytes(8).toString('hex'), purpose };
  const start = now();
  let wait = 1;
  for (let attempt = 0; ; attempt++) {
    owner.since = new Date(now()).toISOString();
    if (tryMkdirLock(path, owner)) break;
    // A symlink or a file at the mutex's name never frees itself, and is nobody's to remove but a
    // person's (see lock-removal.ts): say so at once rather than time out, and touch nothing.
    const refused = attempt === 0 ? notALock(path) : null;
    if (refused !== null) throw new FileError('ENOTLOCK', path, undefined, refused);
    // Every few tries, ask whether the holder is still there at all.
    if (attempt % 4 === 3 && breakIfDead(path, probe, now())) continue;
    if (now() - start > timeoutMs) {
      const holder = readLockOwner<MutexOwner>(path);
      const who = holder.state === 'held' ? `pid ${holder.owner.pid} on ${holder.owner.host} (${holder.owner.purpose}) since ${holder.owner.since}` : 'an unknown process';
      throw new BoardBusyError(`the board is being written by ${who} and was not free within ${Math.round(timeoutMs / 1000)}s; if that process is gone, remove ${path}`, { path });
    }
    // Jittered backoff: racing writers spread out instead of retrying in lockstep.
    sleep(wait + Math.random() * wait);
    wait = Math.min(wait * 2, 25);
  }
  try {
    return await work();
  } finally {
    for (let i = 0; removeLockDir<MutexOwner>(path, (read) => read.state === 'held' && read.owner.token === owner.token, { probe }) === 'busy' && i < 200; i++) sleep(1);
  }
}

/** Breaks the mutex if its holder is proved gone. True when it did (or it was already free). */
export function breakIfDead(path: string, probe: ProcessProbe, now: number): boolean {
  const holder = readLockOwner<MutexOwner>(path);
  if (holder.state === 'free') return true;
  if (holder.state === 'unreadable') {
    return removeLockDir(path, (read, ageMs) => read.state === 'unreadable' && ageMs >= UNFINISHED_GRACE_MS, { probe, now, needsAge: true }) === 'removed';
  }
  if (judgeProcess(holder.owner, probe).alive) return false;
  const token = holder.owner.token;
  return removeLockDir<MutexOwner>(path, (read) => read.state === 'held' && read.owner.token === token, { probe, now }) === 'removed';
}

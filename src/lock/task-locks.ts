// Claim locks: one directory per task under <git-common-dir>/guild/locks/, so that every
// worktree of a clone sees the same locks. TaskLocks is the one interface the rest of guild-fs
// uses; a remote-backed store (refs/guild/claims/<ID> on the shared remote) can stand beside
// this mkdir store later without the callers changing.
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TASK_ID_PATTERN } from '../identifiers.js';
import { bootId, hostName, processStartTime, type LockOwner } from './lock-owner.js';
import { lockTokenState, readLockOwner, removeMkdirLock, rewriteOwner, tryMkdirLock, type OwnerRead } from './mkdir-lock.js';

export type AcquireResult = { ok: true; owner: LockOwner } | { ok: false; holder: OwnerRead<LockOwner> };
export type ReleaseResult = 'released' | 'free' | 'not-yours';

export interface LockRequest {
  agent: string;
  pid?: number | null;
  now?: number;
}

export interface TaskLocks {
  acquire(task: string, request: LockRequest): AcquireResult;
  /** Removes the lock only if `token` is the one it holds. */
  release(task: string, token: string): ReleaseResult;
  read(task: string): OwnerRead<LockOwner>;
  heartbeat(task: string, token: string, now?: number): LockOwner | null;
  list(): { task: string; read: OwnerRead<LockOwner> }[];
  /** Where the lock lives, for people: a path, or later a ref on a remote. */
  where(task: string): string;
}

export class MkdirTaskLocks implements TaskLocks {
  readonly dir: string;

  constructor(locksDir: string) {
    this.dir = locksDir;
  }

  where(task: string): string {
    return this.pathOf(task);
  }

  pathOf(task: string): string {
    // The ID becomes a path: it must be an ID and nothing else.
    if (!TASK_ID_PATTERN.test(task)) throw new Error(`refusing a lock path for ${JSON.stringify(task)}`);
    return join(this.dir, `${task}.lock`);
  }

  acquire(task: string, request: LockRequest): AcquireResult {
    const now = new Date(request.now ?? Date.now()).toISOString();
    const pid = request.pid ?? null;
    const owner: LockOwner = {
      task,
      agent: request.agent,
      host: hostName(),
      pid,
      pidStart: pid === null ? null : processStartTime(pid),
      bootId: bootId(),
      acquired: now,
      heartbeat: now,
      token: randomBytes(12).toString('hex'),
    };
    const path = this.pathOf(task);
    if (tryMkdirLock(path, owner)) return { ok: true, owner };
    return { ok: false, holder: readLockOwner<LockOwner>(path) };
  }

  release(task: string, token: string): ReleaseResult {
    const path = this.pathOf(task);
    const state = lockTokenState(path, token);
    if (state === 'free') return 'free';
    if (state === 'other') return 'not-yours';
    try {
      removeMkdirLock(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'free';
      throw error;
    }
    return 'released';
  }

  read(task: string): OwnerRead<LockOwner> {
    return readLockOwner<LockOwner>(this.pathOf(task));
  }

  heartbeat(task: string, token: string, now: number = Date.now()): LockOwner | null {
    const path = this.pathOf(task);
    const current = readLockOwner<LockOwner>(path);
    if (current.state !== 'held' || current.owner.token !== token) return null;
    const owner = { ...current.owner, heartbeat: new Date(now).toISOString() };
    rewriteOwner(path, owner);
    return owner;
  }

  list(): { task: string; read: OwnerRead<LockOwner> }[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names
      .filter((name) => name.endsWith('.lock') && TASK_ID_PATTERN.test(name.slice(0, -5)))
      .sort()
      .map((name) => {
        const task = name.slice(0, -5);
        return { task, read: this.read(task) };
      });
  }
}

export type Staleness = { stale: false } | { stale: true; reason: string };

/**
 * Judges a lock by heartbeat age alone, the rule that holds across hosts. The process checks
 * (pid gone, pid reused, boot changed) come with healing; they plug in here.
 */
export function judgeLock(owner: LockOwner, options: { now: number; ttlMs: number }): Staleness {
  const beat = Date.parse(owner.heartbeat);
  if (Number.isNaN(beat)) return { stale: true, reason: 'heartbeat is not a time' };
  const age = options.now - beat;
  return age > options.ttlMs ? { stale: true, reason: `no heartbeat for ${Math.round(age / 1000)}s (lock_ttl ${Math.round(options.ttlMs / 1000)}s)` } : { stale: false };
}

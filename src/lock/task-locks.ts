// Claim locks: one directory per task under <git-common-dir>/guild/locks/, so that every
// worktree of a clone sees the same locks. TaskLocks is the one interface the rest of guild-fs
// uses; a remote-backed store (refs/guild/claims/<ID> on the shared remote) can stand beside
// this mkdir store later without the callers changing.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TASK_ID_PATTERN } from '../identifiers.js';
import { sleepSync } from './sleep.js';
import { holderOf, judgeProcess, systemProbe, type ProcessProbe } from './liveness.js';
import { lockOwnerProblem, type LockIntent, type LockOwner } from './lock-owner.js';
import { removeLockDir, sweepTombstones, withBreaker, type RemoveOutcome } from './lock-removal.js';
import { FileError } from '../errors.js';
import { notALock, readLockOwner, replaceFile, rewriteOwner, tryMkdirLock, type OwnerRead } from './mkdir-lock.js';

/** A claim this clone lost to another clone: the remote's claim ref for the task was there first. */
export interface HeldElsewhere {
  state: 'elsewhere';
  /** Where, for people: the ref and the remote. */
  where: string;
  reason: string;
}
export type AcquireResult = { ok: true; owner: LockOwner } | { ok: false; holder: OwnerRead<LockOwner> | HeldElsewhere };
/**
 * `remote-pending`: the claim is finished here, but the remote could not be reached to remove its
 * claim ref; the lock stays, saying what is left to do, and heal finishes it (see RemoteTaskLocks).
 */
export type ReleaseResult = 'released' | 'free' | 'not-yours' | 'busy' | 'remote-pending';
/** How a claim ends: `done` leaves the remote a marker that the task is finished (see RemoteTaskLocks). */
export type ReleaseHow = 'done' | 'free';

export interface LockRequest {
  agent: string;
  pid?: number | null;
  now?: number;
  /** The id the task.claimed event will get (see LockOwner.claimEvent). */
  claimEvent?: string;
}

/** Which lock a healer judged stale: the very one (same token), or one never finished (no owner.json) for this long. */
/**
 * Which lock heal may break: the one with `token` (`finished`: its task was completed, so a
 * remote claim ends at the done marker, as complete would have left it), or one unreadable for long.
 */
export type Judged = { token: string; finished?: boolean } | { unreadableForMs: number };

export interface TaskLocks {
  acquire(task: string, request: LockRequest): AcquireResult;
  /** Removes the lock only if `token` is the one it holds; `how` says whether the task was finished (default free). */
  release(task: string, token: string, how?: ReleaseHow): ReleaseResult;
  read(task: string): OwnerRead<LockOwner>;
  heartbeat(task: string, token: string, now?: number): LockOwner | null;
  /** Rewrites the lock's owner record if the lock is still the one with `token`; null when it is not. */
  update(task: string, token: string, change: (owner: LockOwner) => LockOwner, now?: number): LockOwner | null;
  /** Marks the claim recorded (see LockOwner.recorded); null when the lock is no longer the one with `token`. */
  markRecorded(task: string, token: string, now?: number): LockOwner | null;
  /** Breaks a lock judged stale, only if it still is the lock that was judged. */
  breakStale(task: string, judged: Judged, now?: number): RemoveOutcome;
  list(): { task: string; read: OwnerRead<LockOwner> }[];
  /** Removes what crashed removers left behind; returns what it removed. */
  sweep(now?: number): string[];
  /** Where the lock lives, for people: a path, or later a ref on a remote. */
  where(task: string): string;
  /** Records what the holder is about to do (see LockIntent); false when the lock is not the holder's. */
  writeIntent(task: string, token: string, payload: unknown): boolean;
  /** Every intent recorded, by task. */
  intents<P>(): Map<string, LockIntent<P>>;
  /** Removes the intent of the lock with `token`, if that is the one recorded. */
  clearIntent(task: string, token: string): void;
}

/** A breaker is held for microseconds; a remover that finds one busy waits this long at most. */
const BUSY_RETRIES = 200;

export class MkdirTaskLocks implements TaskLocks {
  readonly dir: string;
  readonly probe: ProcessProbe;

  constructor(locksDir: string, probe: ProcessProbe = systemProbe) {
    this.dir = locksDir;
    this.probe = probe;
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
      host: this.probe.host,
      bootId: this.probe.bootId,
      pid,
      pidStart: pid === null ? null : this.probe.startTime(pid),
      claimPid: process.pid,
      claimPidStart: this.probe.startTime(process.pid),
      claimEvent: request.claimEvent ?? null,
      acquired: now,
      heartbeat: now,
      token: randomBytes(12).toString('hex'),
    };
    const path = this.pathOf(task);
    if (tryMkdirLock(path, owner)) return { ok: true, owner };
    const holder = readTaskLock(path);
    // Not a lock at all (a symlink, a file): no holder to wait for, and nothing guild-fs may remove.
    if (holder.state === 'unreadable' && holder.refused) throw new FileError('ENOTLOCK', path, undefined, holder.reason);
    return { ok: false, holder };
  }

  release(task: string, token: string): ReleaseResult {
    const outcome = retryBusy(() => removeLockDir<LockOwner>(this.pathOf(task), (read) => read.state === 'held' && read.owner.token === token, { probe: this.probe, ownerProblem: lockOwnerProblem }));
    if (outcome === 'removed') return 'released';
    if (outcome === 'gone') return 'free';
    return outcome === 'busy' ? 'busy' : 'not-yours';
  }

  read(task: string): OwnerRead<LockOwner> {
    return readTaskLock(this.pathOf(task));
  }

  heartbeat(task: string, token: string, now: number = Date.now()): LockOwner | null {
    return this.rewrite(task, token, now, (owner) => ({ ...owner, heartbeat: new Date(now).toISOString() }));
  }

  markRecorded(task: string, token: string, now: number = Date.now()): LockOwner | null {
    return this.rewrite(task, token, now, (owner) => ({ ...owner, recorded: true }));
  }

  update(task: string, token: string, change: (owner: LockOwner) => LockOwner, now: number = Date.now()): LockOwner | null {
    return this.rewrite(task, token, now, change);
  }

  /** Rewrites owner.json of the lock with `token`, or does nothing and returns null. */
  private rewrite(task: string, token: string, now: number, change: (owner: LockOwner) => LockOwner): LockOwner | null {
    const path = this.pathOf(task);
    // Under the breaker: a healer cannot judge the old record and remove the lock while the new
    // one is being written.
    const result = retryBusy(() =>
      withBreaker(
        path,
        () => {
          const current = readTaskLock(path);
          if (current.state !== 'held' || current.owner.token !== token) return null;
          const owner = change(current.owner);
          rewriteOwner(path, owner);
          return owner;
        },
        { probe: this.probe, now },
      ),
    );
    return result === 'busy' || result === 'gone' ? null : result;
  }

  breakStale(task: string, judged: Judged, now: number = Date.now()): RemoveOutcome {
    return removeLockDir<LockOwner>(
      this.pathOf(task),
      (read, ageMs) =>
        'token' in judged ? read.state === 'held' && read.owner.token === judged.token : read.state === 'unreadable' && ageMs >= judged.unreadableForMs,
      { probe: this.probe, now, needsAge: !('token' in judged), ownerProblem: lockOwnerProblem },
    );
  }

  list(): { task: string; read: OwnerRead<LockOwner> }[] {
    return this.names()
      .filter((name) => name.endsWith('.lock') && TASK_ID_PATTERN.test(name.slice(0, -5)))
      .sort()
      .map((name) => {
        const task = name.slice(0, -5);
        return { task, read: this.read(task) };
      });
  }

  sweep(now: number = Date.now()): string[] {
    return sweepTombstones(this.dir, this.names(), now);
  }

  writeIntent(task: string, token: string, payload: unknown): boolean {
    const current = readTaskLock(this.pathOf(task));
    if (current.state !== 'held' || current.owner.token !== token) return false;
    const intent: LockIntent = { task, token, writer: holderOf(this.probe, process.pid), ts: new Date().toISOString(), payload };
    mkdirSync(this.intentsDir, { recursive: true });
    replaceFile(this.intentPath(task), JSON.stringify(intent));
    return true;
  }

  intents<P>(): Map<string, LockIntent<P>> {
    const found = new Map<string, LockIntent<P>>();
    let names: string[];
    try {
      names = readdirSync(this.intentsDir);
    } catch {
      return found;
    }
    for (const name of names) {
      const task = name.slice(0, -'.json'.length);
      if (!name.endsWith('.json') || !TASK_ID_PATTERN.test(task)) continue;
      try {
        found.set(task, JSON.parse(readFileSync(join(this.intentsDir, name), 'utf8')) as LockIntent<P>);
      } catch {
        // Half written by a process that died before its rename: never acted on.
      }
    }
    return found;
  }

  clearIntent(task: string, token: string): void {
    const path = this.intentPath(task);
    try {
      if ((JSON.parse(readFileSync(path, 'utf8')) as LockIntent).token !== token) return;
    } catch {
      return;
    }
    rmSync(path, { force: true });
  }

  /** Intents sit beside the locks, not in them: heal finds them all with one readdir. */
  private get intentsDir(): string {
    return join(this.dir, '.intents');
  }

  private intentPath(task: string): string {
    this.pathOf(task); // validates the ID before it becomes a path
    return join(this.intentsDir, `${task}.json`);
  }

  private names(): string[] {
    // The locks folder itself a symlink: listing it would list, and sweeping sweep, its target.
    const refused = notALock(this.dir);
    if (refused !== null) throw new FileError('ENOTLOCK', this.dir, undefined, refused.replace('lock', 'locks folder'));
    try {
      return readdirSync(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }
}

/** A claim lock's owner.json, checked field by field: a damaged one is unreadable, judged by age. */
function readTaskLock(path: string): OwnerRead<LockOwner> {
  return readLockOwner<LockOwner>(path, lockOwnerProblem);
}

function retryBusy<R>(attempt: () => R | 'busy'): R | 'busy' {
  for (let i = 0; ; i++) {
    const result = attempt();
    if (result !== 'busy' || i >= BUSY_RETRIES) return result;
    sleepSync(1 + (i % 5));
  }
}

export type Staleness = { stale: false } | { stale: true; reason: string };

/**
 * A claim lock is stale when the process it is bound to is proved gone (on this host: pid gone,
 * pid reused, machine restarted), or when its heartbeat is older than lock_ttl. A claim made
 * without --pid is bound to no process and lives by heartbeat alone; so does every lock taken
 * on another host.
 */
export function judgeLock(owner: LockOwner, options: { now: number; ttlMs: number; probe?: ProcessProbe; written?: number }): Staleness {
  const verdict = judgeProcess(owner, options.probe ?? systemProbe);
  if (!verdict.alive) return { stale: true, reason: verdict.reason };
  let beat = Date.parse(owner.heartbeat);
  if (Number.isNaN(beat)) return { stale: true, reason: 'heartbeat is not a time' };
  // A heartbeat in the future (a clock stepped back since it was written, or a skewed host) must
  // neither keep a silent lock fresh until that time nor give a negative age. When owner.json's
  // mtime is known, that is when the heartbeat was really written (by this file system's clock);
  // otherwise it counts as now, and doctor names it (heartbeatAhead).
  if (beat > options.now) beat = options.written !== undefined && options.written <= options.now ? options.written : options.now;
  const age = options.now - beat;
  return age > options.ttlMs ? { stale: true, reason: `no heartbeat for ${Math.round(age / 1000)}s (lock_ttl ${Math.round(options.ttlMs / 1000)}s)` } : { stale: false };
}

/** How far in the future the lock's heartbeat is (clock skew), or 0 when it is not. */
export function heartbeatAhead(owner: LockOwner, now: number): number {
  const beat = Date.parse(owner.heartbeat);
  return Number.isNaN(beat) ? 0 : Math.max(0, beat - now);
}

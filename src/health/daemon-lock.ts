// One daemon per clone: `<git-common-dir>/guild/daemon.lock/`, an mkdir lock like a claim lock,
// holding owner.json with the daemon's pid, its start time and the boot id. Every worktree of
// the clone shares the common dir, so a second `watch` started anywhere in the clone finds it.
// A daemon killed with SIGKILL leaves the directory behind; it is stale on proof only (its
// process on this host is gone, or the pid now belongs to another process, or the machine has
// restarted), and is broken race-free through the same breaker protocol as claim locks: the
// next `watch` or `heal` removes only the very lock it judged, never one taken again meanwhile.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { FileError, HeldError } from '../errors.js';
import { appendEvents } from '../log/append-event.js';
import { makeEvent } from '../log/event.js';
import { withBoardMutex } from '../lock/board-mutex.js';
import { holderOf, judgeProcess, systemProbe, type Holder, type ProcessProbe } from '../lock/liveness.js';
import { ageOf, removeLockDir } from '../lock/lock-removal.js';
import { readLockOwner, tryMkdirLock, type OwnerRead } from '../lock/mkdir-lock.js';
import type { Guild } from '../tasks/guild.js';

export interface DaemonOwner extends Holder {
  /** The pid of the `watch` process (never null: a daemon is always bound to itself). */
  pid: number;
  agent: string;
  since: string;
  token: string;
}

/** A daemon lock without owner.json for this long was left by a `watch` killed right after its mkdir. */
export const DAEMON_UNFINISHED_GRACE_MS = 10_000;

export function daemonLockPath(guild: Guild): string {
  return join(guild.repo.commonDir, 'guild', 'daemon.lock');
}

export function readDaemonLock(guild: Guild): OwnerRead<DaemonOwner> {
  return readLockOwner<DaemonOwner>(daemonLockPath(guild));
}

export type DaemonLockVerdict = { state: 'free' } | { state: 'running'; owner: DaemonOwner } | { state: 'stale'; reason: string; owner: DaemonOwner | null };

/** Is a daemon running for this clone? A lock is stale only on proof that its process is gone. */
export function judgeDaemonLock(guild: Guild, probe: ProcessProbe = systemProbe): DaemonLockVerdict {
  const read = readDaemonLock(guild);
  if (read.state === 'free') return { state: 'free' };
  // Not a lock at all: no daemon runs behind it, and nobody may break it (never removed; doctor names it).
  if (read.state === 'unreadable' && read.refused) return { state: 'stale', reason: read.reason, owner: null };
  if (read.state === 'unreadable') {
    const age = ageOf(daemonLockPath(guild), guild.now());
    // Between mkdir and the owner write, a starting daemon looks like this for a moment.
    if (age < DAEMON_UNFINISHED_GRACE_MS) return { state: 'running', owner: { host: probe.host, bootId: null, pid: 0, pidStart: null, agent: '?', since: '', token: '' } };
    return { state: 'stale', reason: `${read.reason} for ${Math.round(age / 1000)}s`, owner: null };
  }
  const verdict = judgeProcess(read.owner, probe);
  return verdict.alive ? { state: 'running', owner: read.owner } : { state: 'stale', reason: verdict.reason, owner: read.owner };
}

/**
 * Breaks the daemon lock if it is proved stale. 'removed' when it did, 'free' when there was none,
 * 'alive' when a daemon holds it, 'busy' when another healer is at it this instant.
 */
export function breakDeadDaemonLock(guild: Guild, probe: ProcessProbe = systemProbe): 'removed' | 'free' | 'alive' | 'busy' {
  const verdict = judgeDaemonLock(guild, probe);
  if (verdict.state === 'free') return 'free';
  if (verdict.state === 'running') return 'alive';
  const path = daemonLockPath(guild);
  const token = verdict.owner?.token;
  const outcome = removeLockDir<DaemonOwner>(
    path,
    (read, ageMs) => (token === undefined ? read.state === 'unreadable' && ageMs >= DAEMON_UNFINISHED_GRACE_MS : read.state === 'held' && read.owner.token === token),
    { probe, now: guild.now(), needsAge: token === undefined },
  );
  if (outcome === 'removed' || outcome === 'gone') return outcome === 'removed' ? 'removed' : 'free';
  return outcome === 'busy' ? 'busy' : 'alive';
}

export interface DaemonLock {
  owner: DaemonOwner;
  /** Whether a dead daemon's lock had to be broken first. */
  healed: string | null;
  release(): void;
}

/** Takes the clone's daemon lock, breaking a dead daemon's first; HeldError (exit 3) naming the running one. */
export function acquireDaemonLock(guild: Guild, agent: string, probe: ProcessProbe = systemProbe): DaemonLock {
  const path = daemonLockPath(guild);
  const owner: DaemonOwner = { ...holderOf(probe, process.pid), pid: process.pid, agent, since: new Date(guild.now()).toISOString(), token: randomBytes(8).toString('hex') };
  let healed: string | null = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryMkdirLock(path, owner)) {
      return {
        owner,
        healed,
        release: () => void removeLockDir<DaemonOwner>(path, (read) => read.state === 'held' && read.owner.token === owner.token, { probe }),
      };
    }
    const read = readDaemonLock(guild);
    if (read.state === 'unreadable' && read.refused) throw new FileError('ENOTLOCK', path, undefined, read.reason);
    const verdict = judgeDaemonLock(guild, probe);
    if (verdict.state === 'running') {
      const running = verdict.owner;
      const who = running.pid === 0 ? 'a daemon that is starting this instant' : `pid ${running.pid} on ${running.host}, since ${running.since}`;
      throw new HeldError(`a daemon already watches this clone: ${who}`, { pid: running.pid, host: running.host, since: running.since, agent: running.agent, lock: path });
    }
    if (verdict.state === 'stale') {
      const outcome = breakDeadDaemonLock(guild, probe);
      if (outcome === 'removed') healed = `broke the lock of a daemon that is gone (${verdict.reason})`;
    }
  }
  throw new HeldError(`the daemon lock ${path} could not be taken (another watch is starting or healing it); try again`, { lock: path });
}

/**
 * Appends daemon.started / daemon.stopped. Under the board mutex like every other append, so a
 * writer's check for a torn last line never sees this line half copied.
 */
export async function recordDaemonEvent(guild: Guild, type: 'daemon.started' | 'daemon.stopped', actor: string, data: Record<string, unknown>): Promise<void> {
  await withBoardMutex(guild.mutexPath, type, async () => {
    appendEvents(guild.logPath, [makeEvent({ type, agent: actor, host: guild.host, data }, guild.now())], { exclusive: true, markPath: guild.logMarkPath });
  });
}

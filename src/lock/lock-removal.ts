// Removing a lock directory safely: the one place where the guarantee "two healers never both
// break a lock, and nobody ever removes a lock that was just taken again" is made.
//
// The danger is ABA: a healer judges lock L stale (token T), and before it removes L, L is
// released and taken again (token T2); removing "L" now removes the new holder's lock. Checking
// and removing cannot be one system call, so every remover (a release, a heal, a heartbeat that
// rewrites owner.json) first takes L's *breaker*: a symlink `.break` created inside L.
//   - Creating a symlink is atomic and exclusive, so at most one remover holds L's breaker.
//   - While the breaker exists inside L, L cannot be rmdir'd (it is not empty) and no one else
//     may rename it (renaming L is only done by a breaker holder), and L cannot be taken again
//     (it exists). So the owner.json the holder reads is the lock it is about to remove.
//   - The holder then renames L to a unique tombstone (atomic: from that instant L is free for a
//     new mkdir) and cleans the tombstone up. A crash mid-cleanup leaves a `.tomb-*` that
//     sweepTombstones removes; it never blocks the task.
// A remover that dies holding a breaker would block L for ever, so a breaker records its holder
// (host, pid, start time, boot id) in the symlink's target, and a breaker whose holder is proved
// gone can be taken over. Taking over is the same problem one level up, solved the same way:
// the taker-over first creates `.break.1` (exclusive among takers-over), then checks that
// `.break` is still the dead holder's (same token), and only then acts as its holder. A dead
// taker-over is taken over through `.break.2`; beyond that the lock is left for a human (doctor
// names it), which needs three crashes inside a few milliseconds of each other.
//
// Only real directories are locks. A symlink (or a file) at a lock's name is refused by every
// function here before anything is created in, read from or removed through it: followed, a link
// to a directory of someone's files would have those files emptied as a tombstone's.
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, readdirSync, readlinkSync, renameSync, rmSync, rmdirSync, symlinkSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { judgeProcess, systemProbe, type Holder, type ProcessProbe } from './liveness.js';
import { notALock, OWNER_FILE, readLockOwner, type OwnerProblem, type OwnerRead } from './mkdir-lock.js';

const BREAKER = '.break';
const DEEPEST_LEVEL = 2;
/** A breaker from another host is judged by age; removal takes milliseconds. */
const FOREIGN_BREAKER_TTL_MS = 5 * 60_000;
export const TOMBSTONE_PREFIX = '.tomb-';

/**
 * A breaker's holder, kept in the symlink's target. Host and boot id are stored as short hashes:
 * a target under 60 bytes lives inside the inode on ext4, and unlinking it is then ~20x cheaper
 * than unlinking one with a block of its own, on every release and heartbeat.
 */
interface BreakerRecord {
  hostHash: string;
  bootHash: string;
  pid: number;
  pidStart: string | null;
  token: string;
  /** Milliseconds since the epoch. */
  since: number;
}

function shortHash(value: string | null): string {
  return value === null ? '-' : createHash('sha1').update(value).digest('hex').slice(0, 6);
}

function encodeBreaker(record: BreakerRecord): string {
  return ['b1', record.pid, record.pidStart ?? '-', record.hostHash, record.bootHash, record.token, record.since.toString(36)].join(' ');
}

function decodeBreaker(target: string): BreakerRecord | null {
  const [version, pid, pidStart, hostHash, bootHash, token, since] = target.split(' ');
  if (version !== 'b1' || !token || !since) return null;
  return { pid: Number(pid), pidStart: pidStart === '-' ? null : pidStart!, hostHash: hostHash!, bootHash: bootHash!, token, since: parseInt(since, 36) };
}

/** The breaker as a Holder, for judgeProcess: a matching host hash stands for this host. */
function breakerHolder(record: BreakerRecord, probe: ProcessProbe): Holder {
  const here = record.hostHash === shortHash(probe.host);
  return {
    host: here ? probe.host : `other:${record.hostHash}`,
    bootId: record.bootHash === '-' || !here ? null : record.bootHash === shortHash(probe.bootId) ? probe.bootId : `other:${record.bootHash}`,
    pid: record.pid,
    pidStart: record.pidStart,
  };
}

export interface RemovalContext {
  probe?: ProcessProbe;
  now?: number;
  /** shouldRemove looks at the age of a lock without an owner (costs a stat, so only when asked). */
  needsAge?: boolean;
  /** How owner.json is checked (see readLockOwner): what shouldRemove sees as held or damaged. */
  ownerProblem?: OwnerProblem;
}

export type RemoveOutcome = 'removed' | 'refused' | 'busy' | 'gone';

/**
 * Removes lock directory `dir` if, with its breaker held, `shouldRemove` still says so of what
 * the directory holds. `ageMs` is how long ago the directory last changed, for judging a lock
 * whose owner.json was never written.
 */
export function removeLockDir<T>(dir: string, shouldRemove: (read: OwnerRead<T>, ageMs: number) => boolean, context: RemovalContext = {}): RemoveOutcome {
  const probe = context.probe ?? systemProbe;
  const now = context.now ?? Date.now();
  // Taken before the breaker, whose creation touches the directory's mtime; compared by inode
  // after, so the age is the age of the very directory then judged.
  const before = context.needsAge ? lstatSync(dir, { throwIfNoEntry: false }) : undefined;
  if (before && !before.isDirectory()) return 'refused';
  if (context.needsAge) {
    // Judged once before the breaker too, and left untouched when too young: taking and giving
    // back the breaker touches the directory's mtime, which is the very age being judged, so a
    // poller that took it at every look (a writer waiting for the board mutex) would keep a dead
    // writer's lock young for ever. Only a lock that already looks removable is touched.
    if (!before) return 'gone';
    const early = readLockOwner<T>(dir, context.ownerProblem);
    if (!shouldRemove(early, early.state === 'unreadable' ? now - before.mtimeMs : 0)) return 'refused';
  }
  const breaker = takeBreaker(dir, 0, probe, now);
  if (typeof breaker === 'string') return breaker;
  let moved = false;
  try {
    const read = readLockOwner<T>(dir, context.ownerProblem);
    if (read.state === 'unreadable' && read.refused) return 'refused';
    let ageMs = 0;
    if (read.state === 'unreadable' && before && lstatSync(dir, { throwIfNoEntry: false })?.ino === before.ino) ageMs = now - before.mtimeMs;
    if (!shouldRemove(read, ageMs)) return 'refused';
    const tomb = join(dirname(dir), `${TOMBSTONE_PREFIX}${basename(dir)}-${randomBytes(6).toString('hex')}`);
    renameSync(dir, tomb);
    moved = true;
    clearTombstone(tomb);
    return 'removed';
  } finally {
    if (!moved) releaseBreaker(breaker);
  }
}

/**
 * Runs `work` with the breaker of `dir` held: nobody removes or replaces the lock meanwhile.
 * For changes made in place, such as a heartbeat rewriting owner.json.
 */
export function withBreaker<R>(dir: string, work: () => R, context: RemovalContext = {}): R | 'busy' | 'gone' {
  const breaker = takeBreaker(dir, 0, context.probe ?? systemProbe, context.now ?? Date.now());
  if (typeof breaker === 'string') return breaker;
  try {
    return work();
  } finally {
    releaseBreaker(breaker);
  }
}

/** The breakers held, the one that guards the lock first, each with the target that makes it ours. */
type HeldBreaker = { links: { path: string; target: string }[] };

function takeBreaker(dir: string, level: number, probe: ProcessProbe, now: number): HeldBreaker | 'busy' | 'gone' {
  // A breaker made through a symlink would land in its target; a refused lock counts as gone to
  // every remover (removeLockDir has said 'refused' before it gets here).
  if (level === 0 && notALock(dir) !== null) return 'gone';
  const path = join(dir, level === 0 ? BREAKER : `${BREAKER}.${level}`);
  const record: BreakerRecord = {
    hostHash: shortHash(probe.host),
    bootHash: shortHash(probe.bootId),
    pid: process.pid,
    pidStart: probe.startTime(process.pid),
    token: randomBytes(4).toString('hex'),
    since: now,
  };
  const target = encodeBreaker(record);
  try {
    symlinkSync(target, path);
    // The name is resolved before the link is made: if the lock was renamed to a tombstone in
    // that instant, the link landed in the tombstone (whose cleanup removes it). Only a link
    // that is found again by name is a breaker of this lock.
    return readTarget(path) === target ? { links: [{ path, target }] } : 'gone';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'gone';
    if (code !== 'EEXIST') throw error;
  }
  if (level >= DEEPEST_LEVEL) return 'busy';
  const judgedTarget = readTarget(path);
  const held = judgedTarget === null ? null : readBreaker(path, judgedTarget);
  if (held === null || !isDead(held, probe, now)) return 'busy';
  const over = takeBreaker(dir, level + 1, probe, now);
  if (typeof over === 'string') return over;
  // Still the dead holder's breaker? Another taker-over may have finished and a live remover
  // taken its place in between.
  const deadTarget = readTarget(path);
  if (deadTarget === null || deadTarget !== judgedTarget) {
    releaseBreaker(over);
    return 'busy';
  }
  return { links: [{ path, target: deadTarget }, ...over.links] };
}

function releaseBreaker(breaker: HeldBreaker): void {
  // The guarding breaker goes first: were ours to go first, a second taker-over could come in
  // while the dead holder's breaker still stands. Each is unlinked only while the name still
  // shows our target: while we hold the lock's breaker nobody renames the lock, so the name and
  // the link stay ours from the check to the unlink.
  for (const { path, target } of breaker.links) {
    if (readTarget(path) !== target) continue;
    try {
      unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

function readTarget(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

function readBreaker(path: string, target: string | null = readTarget(path)): BreakerRecord | null {
  if (target === null) return null;
  const record = decodeBreaker(target);
  if (record) return record;
  // Not ours to read (another version, or damage): judged like a breaker from another host, by
  // its own age, so that it cannot block the lock for ever.
  const since = lstatSync(path, { throwIfNoEntry: false })?.mtimeMs;
  return since === undefined ? null : { hostHash: '?', bootHash: '-', pid: -1, pidStart: null, token: target, since };
}

function isDead(record: BreakerRecord, probe: ProcessProbe, now: number): boolean {
  const holder = breakerHolder(record, probe);
  if (holder.host !== probe.host) return now - record.since > FOREIGN_BREAKER_TTL_MS;
  return !judgeProcess(holder, probe).alive;
}

/** Takes over and removes breakers of `dir` whose holders are gone; true when none is left. */
export function clearDeadBreakers(dir: string, context: RemovalContext = {}): boolean {
  // Taking the breaker takes a dead one over; giving it back removes both.
  return withBreaker(dir, () => true, context) === true;
}

/** Breakers in `lockPath` whose holder is proved gone: a removal that died half way (for doctor). */
export function deadBreakers(lockPath: string, probe: ProcessProbe, now: number): { name: string; pid: number }[] {
  const dead: { name: string; pid: number }[] = [];
  if (notALock(lockPath) !== null) return dead;
  // Deeper breakers exist only beside a first one: one readlink answers for almost every lock.
  if (readTarget(join(lockPath, BREAKER)) === null) return dead;
  for (const name of [BREAKER, `${BREAKER}.1`, `${BREAKER}.2`]) {
    const record = readBreaker(join(lockPath, name));
    if (record && isDead(record, probe, now)) dead.push({ name, pid: record.pid });
  }
  return dead;
}

/** How long ago `path` last changed; 0 when it is not there. Of a symlink, the link's own age. */
export function ageOf(path: string, now: number): number {
  try {
    return now - lstatSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Empties and removes a tombstone: a lock holds only files and symlinks, so one level is all.
 * Never throws: the lock is already removed, and a stray entry (a breaker that landed here as
 * the rename happened) only leaves the tombstone for sweepTombstones.
 */
function clearTombstone(tomb: string): void {
  try {
    // What a lock almost always holds, without listing it; anything else falls to the listing.
    unlinkSync(join(tomb, OWNER_FILE));
    unlinkSync(join(tomb, BREAKER));
    rmdirSync(tomb);
    return;
  } catch {
    // An entry missing or one more: list and clear.
  }
  try {
    // The lock was judged a real directory under its breaker; never list through anything else.
    if (!lstatSync(tomb).isDirectory()) return;
    for (const name of readdirSync(tomb)) unlinkSync(join(tomb, name));
    rmdirSync(tomb);
  } catch {
    try {
      rmSync(tomb, { recursive: true, force: true });
    } catch {
      // Swept later.
    }
  }
}

/** The names removeLockDir gives tombstones: `.tomb-<lock name>-<12 hex>`, none a person would type. */
const TOMBSTONE_NAME = /^\.tomb-.+\.lock-[0-9a-f]{12}$/;

/**
 * Removes tombstones left by a remover that crashed between its rename and its cleanup. They
 * hold no lock (the name is already free), so any healer may sweep them, once they are old
 * enough that no live remover can still be cleaning them. Only names removeLockDir makes, and
 * only real directories: a symlink with such a name is left alone, never followed.
 */
export function sweepTombstones(locksDir: string, names: readonly string[], now: number, minAgeMs = 60_000): string[] {
  const swept: string[] = [];
  for (const name of names) {
    if (!TOMBSTONE_NAME.test(name)) continue;
    const path = join(locksDir, name);
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (!stat?.isDirectory() || now - stat.mtimeMs < minAgeMs) continue;
    rmSync(path, { recursive: true, force: true });
    swept.push(name);
  }
  return swept;
}

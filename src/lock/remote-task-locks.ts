// Claims through the git remote (SPEC section 7), behind the same TaskLocks interface as the
// mkdir locks: a claim takes this clone's lock first (so claimers in one clone never race on the
// network), then creates refs/guild/claims/<ID> on the remote, create-only. The server's atomic
// ref update makes exactly one clone win; a clone that loses gives its local lock back at once.
//
// The lock's owner.json records the claim commit last pushed (LockOwner.remote): every later move
// of the ref (a heartbeat) or its removal (release, fail) leases on that value, so nothing this
// clone does can undo a claim another clone made after a healer broke this one.
//
// complete leaves the ref at the task's "done" marker instead of removing it (a commit every clone
// can compute, see git/claim-objects.ts). That is a decision SPEC is silent on beside "delete": a
// clone whose board is behind (it has not synced since the task was finished elsewhere) sees the
// task Ready, and a removed ref would let it claim and do the work a second time. The marker keeps
// the create-only push failing for finished tasks; `sync --remote` removes markers of tasks a
// person moved back to Ready.
import { abandonedClaim, forgetAbandoned, noteAbandoned } from './abandoned-claims.js';
import { ClaimRefs, claimRef, type ClaimTarget } from './claim-refs.js';
import type { LockOwner } from './lock-owner.js';
import type { OwnerRead } from './mkdir-lock.js';
import type { RemoveOutcome } from './lock-removal.js';
import type { LockIntent } from './lock-owner.js';
import { RemoteUnreachableError } from '../errors.js';
import type { AcquireResult, Judged, LockRequest, ReleaseHow, ReleaseResult, TaskLocks } from './task-locks.js';

export class RemoteTaskLocks implements TaskLocks {
  constructor(
    readonly inner: TaskLocks,
    readonly refs: ClaimRefs,
    /**
     * --offline: the remote is not asked. New claims are this clone's alone (no ref); a claim
     * that has a ref keeps its lock until a command that may ask the remote finishes its step,
     * exactly as when the remote cannot be reached.
     */
    readonly offline = false,
  ) {}

  get remote(): string {
    return this.refs.remote;
  }

  acquire(task: string, request: LockRequest): AcquireResult {
    const local = this.inner.acquire(task, request);
    if (!local.ok || this.offline) return local;
    const now = request.now ?? Date.now();
    const owner = local.owner;
    const oid = this.refs.writeClaim(owner, now);
    // Named in the lock before the push: a claimer killed right after its push leaves a lock that
    // says which ref is its own, and heal removes both.
    const marked = this.inner.update(task, owner.token, (current) => ({ ...current, remote: { name: this.remote, oid } }), now);
    if (!marked) return { ok: false, holder: this.inner.read(task) as OwnerRead<LockOwner> };
    let pushed = this.refs.push(task, { to: oid, expect: null });
    // Taken: perhaps by this clone's own earlier claim whose push never answered. Removed with a
    // lease on its id (nobody else's commit has it), the create is tried once more.
    if (pushed.outcome === 'rejected' && this.removeAbandoned(task) === 'removed') pushed = this.refs.push(task, { to: oid, expect: null });
    if (pushed.outcome === 'ok') return { ok: true, owner: marked };
    this.inner.release(task, owner.token);
    if (pushed.outcome === 'rejected') return { ok: false, holder: { state: 'elsewhere', where: this.where(task), reason: pushed.reason } };
    // No answer: the push may have landed all the same. Noted, so that it is not taken for another clone's claim.
    noteAbandoned(this.refs.commonDir, this.remote, task, oid);
    throw new RemoteUnreachableError(`could not reach the remote ${this.remote} to claim ${task} (${pushed.reason}); nothing was claimed. Try again, or claim --offline to claim in this clone alone`, {
      task,
      remote: this.remote,
    });
  }

  release(task: string, token: string, how: ReleaseHow = 'free'): ReleaseResult {
    const read = this.inner.read(task);
    if (read.state !== 'held' || read.owner.token !== token || !read.owner.remote) return this.inner.release(task, token, how);
    const step = this.finishRemote(task, read.owner.remote.oid, how);
    if (step === 'unreachable') {
      this.inner.update(task, token, (owner) => ({ ...owner, remote: { ...owner.remote!, pending: how } }));
      return 'remote-pending';
    }
    return this.inner.release(task, token, how);
  }

  read(task: string): OwnerRead<LockOwner> {
    return this.inner.read(task);
  }

  heartbeat(task: string, token: string, now: number = Date.now()): LockOwner | null {
    const read = this.inner.read(task);
    if (read.state !== 'held' || read.owner.token !== token) return null;
    const hold = read.owner.remote;
    if (!hold || hold.pending || this.offline) return this.inner.heartbeat(task, token, now);
    // A new claim commit with the new heartbeat, leased on the last one: an observer judges a
    // claim by how long its ref has not moved, by its own clock.
    const beat = { ...read.owner, heartbeat: new Date(now).toISOString() };
    const oid = this.refs.writeClaim(beat, now);
    const pushed = this.refs.push(task, { to: oid, expect: hold.oid });
    // Lost: a healer elsewhere broke the claim after it went silent too long. Not this clone's any more.
    if (pushed.outcome === 'rejected') return null;
    // Unreachable: the local heartbeat stands; the next one tries the remote again.
    const moved = pushed.outcome === 'ok' ? oid : hold.oid;
    return this.inner.update(task, token, (owner) => ({ ...owner, heartbeat: beat.heartbeat, remote: { ...owner.remote!, oid: moved } }), now);
  }

  update(task: string, token: string, change: (owner: LockOwner) => LockOwner, now?: number): LockOwner | null {
    return this.inner.update(task, token, change, now);
  }

  markRecorded(task: string, token: string, now?: number): LockOwner | null {
    return this.inner.markRecorded(task, token, now);
  }

  /**
   * Heal broke this lock as stale, a leftover or a half-made claim: its remote ref goes first (with
   * the lease), or the step a finish could not make. When the remote cannot be reached the lock
   * stays ('busy'): heal tries again next time, rather than leave a ref no lock here explains.
   */
  breakStale(task: string, judged: Judged, now?: number): RemoveOutcome {
    const read = this.inner.read(task);
    if (read.state === 'held' && 'token' in judged && read.owner.token === judged.token && read.owner.remote) {
      const hold = read.owner.remote;
      const finished = 'finished' in judged && judged.finished === true;
      if (this.finishRemote(task, hold.oid, hold.pending ?? (finished ? 'done' : 'free')) === 'unreachable') return 'busy';
    }
    return this.inner.breakStale(task, judged, now);
  }

  list(): { task: string; read: OwnerRead<LockOwner> }[] {
    return this.inner.list();
  }

  sweep(now?: number): string[] {
    return this.inner.sweep(now);
  }

  where(task: string): string {
    return `${claimRef(task)} on ${this.remote}`;
  }

  writeIntent(task: string, token: string, payload: unknown): boolean {
    return this.inner.writeIntent(task, token, payload);
  }

  intents<P>(): Map<string, LockIntent<P>> {
    return this.inner.intents<P>();
  }

  clearIntent(task: string, token: string): void {
    this.inner.clearIntent(task, token);
  }

  /** Removes this clone's abandoned claim ref of the task (abandoned-claims.ts), if one was noted. */
  removeAbandoned(task: string): 'removed' | 'none' | 'unreachable' {
    const abandoned = abandonedClaim(this.refs.commonDir, this.remote, task);
    if (abandoned === null) return 'none';
    const removed = this.refs.push(task, { to: null, expect: abandoned });
    if (removed.outcome === 'unreachable') return 'unreachable';
    // Rejected: the ref is not at that id (never landed, or already gone): nothing of ours to remove.
    forgetAbandoned(this.refs.commonDir, this.remote, task);
    return removed.outcome === 'ok' ? 'removed' : 'none';
  }

  /** The remote half of a finish: the done marker, or no ref. A lost lease means it is not ours to touch any more: done either way. */
  private finishRemote(task: string, oid: string, how: ReleaseHow): 'ok' | 'unreachable' {
    if (this.offline) return 'unreachable';
    const target: ClaimTarget = how === 'done' ? { to: this.refs.writeDone(task), expect: oid } : { to: null, expect: oid };
    return this.refs.push(task, target).outcome === 'unreachable' ? 'unreachable' : 'ok';
  }
}

// complete, fail and release: the owner gives a task back. Order: log -> board -> lock. The lock
// goes last so that there is never a moment when the board says In Progress and the task is
// unlocked: a crash before the lock is removed leaves a lock on a finished task, which heal
// removes; the other order could let a second claimer in beside the first.
import type { TaskChange } from '../board/edit-board.js';
import type { Status, Task } from '../board/types.js';
import type { AuditEvent } from '../log/event.js';
import { requeue } from './requeue.js';
import { refuseControlCharacters } from '../control-characters.js';
import { HeldError, UsageError } from '../errors.js';
import type { ReleaseHow, ReleaseResult } from '../lock/task-locks.js';
import type { Guild } from './guild.js';
import { resolveOwnTask } from './claim-task.js';
import { viewTask, type TaskView } from './task-view.js';
import { updateBoard, type Transaction } from './update-board.js';

/** The uncommitted work of a try that ended, as it was committed (or why it could not be). */
export interface LeftWork {
  branch: string;
  path: string;
  /** The branch head after the commit (or as it was, when nothing was left). */
  head: string;
  /** The commit made of the leftovers; null when the worktree was clean or the commit failed. */
  committed: string | null;
  /** How many paths were committed (or could not be). */
  files: number;
  /** Why the leftovers could not be committed (a hook refused, say): they stay in the worktree. */
  notCommitted?: string;
}

export interface FinishResult {
  task: TaskView;
  /** Where the task went. */
  status: Status;
  /** True when the task was already where this command would put it. */
  already: boolean;
  /** What happened to the lock: released, was already free, or held by someone else (left alone). */
  lock: ReleaseResult;
  retry?: string;
  poisoned?: boolean;
  /** fail: what the try left uncommitted, committed on the task's branch as its commit. */
  saved?: LeftWork | null;
}

/** What `complete` checked in the task's worktree: recorded with task.completed. */
export interface CompletedWork {
  branch: string;
  head: string;
}

/**
 * The claim a finishing process holds: its lock's token. A runner names it, so that a finish
 * whose claim was lost meanwhile (healed, released by hand, taken by another) records nothing.
 */
export interface HeldClaim {
  token: string;
}

export interface CompleteRequest {
  note?: string;
  work?: CompletedWork | null;
  /** Complete only while the lock is still this claim's (the runner); without it, any lock of the agent's, or none, will do (the CLI). */
  claim?: HeldClaim;
}

export async function completeTask(guild: Guild, agent: string, id: string | undefined, request: CompleteRequest = {}): Promise<FinishResult> {
  const { note, work, claim } = request;
  requireCleanNote(note);
  const result = await updateBoard(guild, agent, `complete ${id ?? ''} for ${agent}`, (tx) => {
    const task = resolveOwnTask(tx.board, agent, id);
    if ((task.status === 'done' || task.status === 'review') && task.owner === agent) {
      // Completing twice (an agent retrying after a crash) is not an error, and never moves a
      // task out of Review: that is the reviewer's call (tick the box, or move the line).
      return done(tx, task, { status: task.status }, true);
    }
    // Checked under the board mutex, where heal breaks locks too: a claim lost before this point
    // (its task perhaps completed by whoever took it next) gets no second task.completed.
    if (claim) requireClaim(guild, tx.idOf(task), agent, claim);
    requireOwned(tx, task, agent, ['in-progress']);
    const to: Status = tx.board.settings.review ? 'review' : 'done';
    const change: TaskChange = { status: to, checked: to === 'done' };
    tx.edit.update(task, change);
    tx.emit('task.completed', tx.idOf(task), { to, ...(note ? { note } : {}), ...(work ? { branch: work.branch, head: work.head } : {}) });
    recordIntent(guild, tx, task, agent, 'complete', change);
    return done(tx, task, { status: to }, false);
  });
  // A finished task's claim ref becomes its done marker (remote-task-locks.ts), so that a clone
  // whose board is behind cannot take it again.
  return { ...result, lock: releaseLockOf(guild, result.task.id!, agent, result.status === 'done' || result.status === 'review' ? 'done' : 'free') };
}

export function requireReason(reason: string): void {
  if (reason.trim() === '') throw new UsageError('fail needs --reason: say what went wrong, for whoever tries next');
  refuseControlCharacters({ name: 'the reason', value: reason, lines: 'many' });
}

export function requireCleanNote(note: string | undefined): void {
  if (note !== undefined) refuseControlCharacters({ name: 'the note', value: note, lines: 'many' });
}

/**
 * `work`: what the try left uncommitted, already committed on the task's branch by its caller
 * (workspace/earlier-tries.ts commitFailedTry, before the mutex: a commit runs the user's hooks),
 * recorded with task.failed so that the next claimer inherits nothing unseen.
 */
export async function failTask(guild: Guild, agent: string, id: string | undefined, reason: string, work: LeftWork | null = null, claim?: HeldClaim): Promise<FinishResult> {
  requireReason(reason);
  const saved = work ? { branch: work.branch, head: work.head, ...(work.committed ? { committed: work.committed } : {}), ...(work.notCommitted ? { uncommitted: work.files, notCommitted: work.notCommitted } : {}) } : {};
  const result = await updateBoard(guild, agent, `fail ${id ?? ''} for ${agent}`, (tx) => {
    const task = resolveOwnTask(tx.board, agent, id);
    // A runner fails only a try it still holds: never a task completed (or taken) since.
    if (claim) requireClaim(guild, tx.idOf(task), agent, claim);
    requireOwned(tx, task, agent, ['in-progress']);
    const requeued = requeue(tx, task, { type: 'task.failed', data: { reason, ...saved } });
    recordIntent(guild, tx, task, agent, 'fail', requeued.change);
    const status = requeued.poisoned ? 'failed' : 'ready';
    const view = done(tx, task, { status, owner: null, tries: requeued.tries, retry: requeued.retry }, false);
    return requeued.poisoned ? { ...view, poisoned: true } : { ...view, retry: requeued.retry! };
  });
  return { ...result, saved: work, lock: releaseLockOf(guild, result.task.id!, agent) };
}

export interface ReleaseRequest {
  /** Why the claim is given back, recorded with task.released (a try that could not start). */
  reason?: string;
  /** Release only while the lock is still this claim's (the runner). */
  claim?: HeldClaim;
}

export async function releaseTask(guild: Guild, agent: string, id: string | undefined, request: ReleaseRequest = {}): Promise<FinishResult> {
  const result = await updateBoard(guild, agent, `release ${id ?? ''} for ${agent}`, (tx) => {
    const task = resolveOwnTask(tx.board, agent, id);
    if (request.claim) requireClaim(guild, tx.idOf(task), agent, request.claim);
    requireOwned(tx, task, agent, ['in-progress']);
    const change: TaskChange = { status: 'ready', fields: { owner: null } };
    tx.edit.update(task, change);
    tx.emit('task.released', tx.idOf(task), request.reason ? { reason: request.reason } : {});
    recordIntent(guild, tx, task, agent, 'release', change);
    return done(tx, task, { status: 'ready', owner: null }, false);
  });
  return { ...result, lock: releaseLockOf(guild, result.task.id!, agent) };
}

/** The lock is still the one this claim took (same token): otherwise the claim was lost. */
function requireClaim(guild: Guild, id: string, agent: string, claim: HeldClaim): void {
  const lock = guild.locks.read(id);
  if (lock.state === 'held' && lock.owner.token === claim.token) return;
  const now = lock.state === 'held' ? `held by ${lock.owner.agent} under another claim` : lock.state === 'free' ? 'unlocked' : `locked in a way guild-fs cannot read (${lock.state})`;
  throw new HeldError(`${id}: ${agent}'s claim was lost (healed or released meanwhile; the task is ${now}); nothing recorded`, { task: id, holder: lock.state === 'held' ? lock.owner.agent : null, lost: true });
}

/**
 * A claim whose try never started (its worktree could not be had): given back with the reason.
 * The board may show the claim or not (a person's save from an older buffer may have dropped it
 * for a moment); while the lock is this claim's, its task.claimed is in the log and the
 * task.released closes it, so replay and the board agree on Ready either way.
 */
export async function releaseUnstarted(guild: Guild, agent: string, id: string, request: { reason: string; claim: HeldClaim }): Promise<{ released: boolean }> {
  const released = await updateBoard(guild, agent, `give back ${id} for ${agent}`, (tx) => {
    const lock = guild.locks.read(id);
    if (lock.state !== 'held' || lock.owner.token !== request.claim.token) return false;
    const task = tx.board.byId.get(id);
    if (task && task.status === 'in-progress' && task.owner === agent) {
      const change: TaskChange = { status: 'ready', fields: { owner: null } };
      tx.edit.update(task, change);
      recordIntent(guild, tx, task, agent, 'release', change);
    }
    tx.emit('task.released', id, { reason: request.reason, started: false });
    return true;
  });
  if (released) {
    const freed = guild.locks.release(id, request.claim.token);
    if (freed === 'released' || freed === 'remote-pending') guild.locks.clearIntent(id, request.claim.token);
  }
  return { released };
}

function requireOwned(tx: Transaction, task: Task, agent: string, allowed: Status[]): Status {
  if (task.owner !== null && task.owner !== agent) throw new HeldError(`${task.id} is held by ${task.owner}, not ${agent}`, { task: task.id, holder: task.owner });
  if (!allowed.includes(task.status)) {
    const where = tx.board.settings.headings[task.status];
    throw new UsageError(`${task.id} is in ${where}, not In Progress: ${agent} does not hold it`, { task: task.id, status: task.status }, 'ENOTCLAIMED');
  }
  if (task.owner === null) throw new UsageError(`${task.id} has no owner on the board; claim it first`, { task: task.id }, 'ENOTCLAIMED');
  return task.status;
}

/** The result, showing the task as this write leaves it. */
function done(tx: Transaction, task: Task, after: Partial<TaskView> & { status: Status }, already: boolean): Omit<FinishResult, 'lock'> {
  const id = tx.idOf(task);
  const view: TaskView = { ...viewTask(task), id, ...after };
  // Where the write put the task's line (finishing moves it), not where it was read.
  tx.afterCommit((written) => void (view.line = written.byId.get(id)?.line ?? view.line));
  return { task: view, status: after.status, already };
}

/** What heal needs to finish this operation if its process dies between the log and the board. */
export interface FinishIntent {
  op: 'complete' | 'fail' | 'release';
  task: string;
  agent: string;
  change: TaskChange;
  events: AuditEvent[];
}

/**
 * Just before the events are appended, the lock gets an intent: the events and the board change.
 * The lock is removed last, so a crash anywhere after this leaves the intent where heal finds it.
 */
function recordIntent(guild: Guild, tx: Transaction, task: Task, agent: string, op: FinishIntent['op'], change: TaskChange): void {
  const id = tx.idOf(task);
  tx.beforeCommit((events) => {
    const lock = guild.locks.read(id);
    if (lock.state !== 'held' || lock.owner.agent !== agent) return;
    const payload: FinishIntent = { op, task: id, agent, change, events: [...events] };
    guild.locks.writeIntent(id, lock.owner.token, payload);
  });
}

function releaseLockOf(guild: Guild, id: string, agent: string, how: ReleaseHow = 'free'): FinishResult['lock'] {
  const lock = guild.locks.read(id);
  if (lock.state === 'free') return 'free';
  if (lock.state !== 'held' || lock.owner.agent !== agent) return 'not-yours';
  const released = guild.locks.release(id, lock.owner.token, how);
  // The intent goes after the lock: a crash in between leaves an intent without its lock,
  // which heal recognises (its token matches no lock) and removes. A lock kept only for its
  // remote step (remote-pending) has nothing left to finish here: its intent goes too.
  if (released === 'released' || released === 'remote-pending') guild.locks.clearIntent(id, lock.owner.token);
  return released;
}

// Claiming: lock -> log -> board.
//
// The lock comes first because it is the exclusive step: of any number of racing claimers of
// one task exactly one creates its directory, and the losers leave at once without ever waiting
// for the board mutex. The winner then, under the mutex, checks the re-read board (the task may
// have been claimed and finished since the caller looked), appends task.claimed and writes the
// board. A crash after the lock and before the log leaves a lock that no event and no board line
// explain: a stale lock, broken by heal. A crash between log and board leaves an event the board
// does not show yet, which replay reports and heal finishes or undoes. Once both are written the
// lock is marked recorded: from then on a board and log that do not show the claim were rewound by
// git (a stash, a checkout), and the claim is kept (see classify-lock.ts).
import type { Board, Task } from '../board/types.js';
import { HeldError, NoSuchTaskError, NothingToDoError, UsageError } from '../errors.js';
import { parseAgentName, parseTaskId } from '../identifiers.js';
import type { LockOwner } from '../lock/lock-owner.js';
import { newUlid } from '../log/event.js';
import type { AcquireResult } from '../lock/task-locks.js';
import { needsMet } from './dependency-graph.js';
import type { Guild } from './guild.js';
import { loadBoard } from './guild.js';
import { noClaimableTask } from './queries.js';
import { isClaimable, nextReady } from './ready-queue.js';
import { viewTask, type TaskView } from './task-view.js';
import { updateBoard, type Transaction } from './update-board.js';

export interface ClaimRequest {
  agent: string;
  id?: string;
  caps?: readonly string[];
  pid?: number | null;
}

export interface ClaimResult {
  task: TaskView;
  /** `token`: the lock's own, which a runner checks before it starts a try and when it finishes one. */
  lock: { path: string; acquired: string; pid: number | null; token: string };
  /** True when the agent already held this task: claiming twice is not an error. */
  alreadyHeld: boolean;
}

export async function claimTask(guild: Guild, request: ClaimRequest): Promise<ClaimResult> {
  if (request.id !== undefined) return claimById(guild, request, request.id);
  let made: { id: string; token: string } | null = null;
  const result = await updateBoard(guild, request.agent, `claim next for ${request.agent}`, (tx) => {
    const filter = { caps: request.caps, now: tx.now, statusOf: statusLookup(tx), elsewhere: guild.elsewhere };
    const tried = new Set<number>();
    for (let task = nextReady(tx.board.tasks, filter); task; task = nextReady(tx.board.tasks, filter, tried)) {
      const acquired = guild.locks.acquire(task.id!, { agent: request.agent, pid: request.pid, now: tx.now, claimEvent: newUlid(tx.now) });
      if (acquired.ok) {
        made = { id: task.id!, token: acquired.owner.token };
        return recordClaim(guild, tx, task, request, acquired.owner);
      }
      tried.add(task.line); // taken by a `claim <ID>` that has not written the board yet
    }
    throw noClaimableTask(tx.board.tasks, filter);
  });
  markRecorded(guild, made);
  return result;
}

async function claimById(guild: Guild, request: ClaimRequest, id: string): Promise<ClaimResult> {
  // The claim's event id is chosen now and kept in the lock, so that heal can tell from the log
  // whether a claim whose maker died got as far as its event.
  const acquired = guild.locks.acquire(id, { agent: request.agent, pid: request.pid, now: guild.now(), claimEvent: newUlid(guild.now()) });
  if (!acquired.ok) return alreadyHeldOrLost(guild, request, id, acquired);
  let result: ClaimResult;
  try {
    result = await updateBoard(guild, request.agent, `claim ${id} for ${request.agent}`, (tx) => {
      const task = tx.board.byId.get(parseTaskId(id, tx.board.settings.prefix));
      if (!task) throw new NoSuchTaskError(id);
      if (task.status === 'in-progress' && task.owner === request.agent) {
        // The board says this agent holds the task but its lock was gone: the lock just taken
        // puts that right, and the claim stands.
        return { task: viewTask(task), lock: lockView(guild, id, acquired.owner), alreadyHeld: true };
      }
      if (task.status === 'in-progress') throw heldBy(task);
      if (task.status !== 'ready') {
        throw new NothingToDoError(`${id} is in ${tx.board.settings.headings[task.status]}; only Ready tasks can be claimed`, { task: id, status: task.status }, 'ENOTREADY');
      }
      if (!needsMet(task, statusLookup(tx))) throw new NothingToDoError(`${id} still needs ${task.needs.join(', ')}`, { task: id }, 'ENOTREADY');
      if (!isClaimable(task, { now: tx.now, statusOf: statusLookup(tx) })) {
        throw new NothingToDoError(`${id} is waiting to be retried until ${task.retry}`, { task: id, retry: task.retry }, 'ENOTREADY');
      }
      return recordClaim(guild, tx, task, request, acquired.owner);
    });
  } catch (error) {
    // Whatever stopped the claim (no board, a broken board, a busy mutex, a refusal), the lock
    // taken for it is given back: a failed claim must leave nothing held.
    guild.locks.release(id, acquired.owner.token);
    throw error;
  }
  // A lock that only put back what the board already showed made no claim event: it stays
  // unrecorded, judged as before (its own claim event is in no log).
  if (!result.alreadyHeld) markRecorded(guild, { id, token: acquired.owner.token });
  return result;
}

/**
 * The claim's event is appended and its board written: say so in the lock. A crash before this
 * leaves a lock judged as before (the board shows it, so it is healthy or stale on proof).
 */
function markRecorded(guild: Guild, made: { id: string; token: string } | null): void {
  if (made) guild.locks.markRecorded(made.id, made.token, guild.now());
}

function recordClaim(guild: Guild, tx: Transaction, task: Task, request: ClaimRequest, owner: LockOwner): ClaimResult {
  const id = tx.idOf(task);
  tx.onAbort(() => guild.locks.release(id, owner.token));
  tx.edit.update(task, { status: 'in-progress', fields: { owner: request.agent } });
  tx.emit('task.claimed', id, request.pid ? { pid: request.pid } : {}, undefined, owner.claimEvent ?? undefined);
  const view: TaskView = { ...viewTask(task), id, status: 'in-progress', owner: request.agent };
  // The task's line is where the write put it (a claim moves it into In Progress), not where it was read.
  tx.afterCommit((written) => void (view.line = written.byId.get(id)?.line ?? view.line));
  return { task: view, lock: lockView(guild, id, owner), alreadyHeld: false };
}

function lockView(guild: Guild, id: string, owner: LockOwner): ClaimResult['lock'] {
  return { path: guild.locks.where(id), acquired: owner.acquired, pid: owner.pid, token: owner.token };
}

/** The lock is taken. If it is this agent's own claim, say so; otherwise the claim is lost. */
async function alreadyHeldOrLost(guild: Guild, request: ClaimRequest, id: string, acquired: Extract<AcquireResult, { ok: false }>): Promise<ClaimResult> {
  const holder = acquired.holder;
  if (holder.state === 'held' && holder.owner.agent === request.agent) {
    const task = (await loadBoard(guild)).byId.get(id);
    if (task?.status === 'in-progress' && task.owner === request.agent) {
      // Any command of the holder on its task counts as a sign of life.
      guild.locks.heartbeat(id, holder.owner.token, guild.now());
      return { task: viewTask(task), lock: lockView(guild, id, holder.owner), alreadyHeld: true };
    }
  }
  if (holder.state === 'elsewhere') throw new HeldError(`${id} is held by another clone (${holder.where}): ${holder.reason}`, { task: id, holder: null, elsewhere: holder.where });
  const who =
    holder.state === 'held' ? `${holder.owner.agent} (since ${holder.owner.acquired})` : holder.state === 'unreadable' && holder.damaged ? `a damaged lock (${holder.reason}; heal removes it)` : 'another claimer';
  throw new HeldError(`${id} is held by ${who}`, { task: id, holder: holder.state === 'held' ? holder.owner.agent : null });
}

export function heldBy(task: Task): HeldError {
  return new HeldError(`${task.id} is held by ${task.owner ?? 'someone (no owner on the board)'}`, { task: task.id, holder: task.owner });
}

function statusLookup(tx: Transaction): (id: string) => Task['status'] | undefined {
  return (id) => tx.board.byId.get(id)?.status;
}

export interface HeartbeatResult {
  task: string;
  heartbeat: string;
}

export async function heartbeatTask(guild: Guild, agent: string, id: string | undefined): Promise<HeartbeatResult> {
  parseAgentName(agent, 'agent');
  const board = await loadBoard(guild);
  const task = resolveOwnTask(board, agent, id);
  const lock = guild.locks.read(task.id!);
  if (lock.state !== 'held' || lock.owner.agent !== agent) {
    throw new HeldError(`${task.id} has no lock of ${agent}'s: the claim was lost (healed or released)`, { task: task.id });
  }
  const owner = guild.locks.heartbeat(task.id!, lock.owner.token, guild.now());
  if (!owner) throw new HeldError(`${task.id}: the lock changed hands while refreshing it`, { task: task.id });
  return { task: task.id!, heartbeat: owner.heartbeat };
}

/**
 * The task a command acts on: the ID given, or the one task in progress that the agent owns.
 */
export function resolveOwnTask(board: Board, agent: string, id: string | undefined): Task {
  if (id !== undefined) {
    const task = board.byId.get(parseTaskId(id, board.settings.prefix));
    if (!task) throw new NoSuchTaskError(id);
    return task;
  }
  const own = board.tasks.filter((task) => task.status === 'in-progress' && task.owner === agent);
  if (own.length === 1) return own[0]!;
  if (own.length === 0) throw new UsageError(`no task ID given, and ${agent} holds no task in progress`, { agent }, 'ENOID');
  throw new UsageError(`no task ID given, and ${agent} holds ${own.length} tasks: ${own.map((task) => task.id).join(', ')}; name one`, { agent }, 'ENOID');
}


// Read-only questions about the board, the locks and the log. No mutex: a read of the board file
// is atomic because every write replaces it with a rename.
import type { Board, Status, Task } from '../board/types.js';
import { NoSuchTaskError, NothingToDoError } from '../errors.js';
import { parseTaskId } from '../identifiers.js';
import type { AuditEvent } from '../log/event.js';
import { readEvents, type LogWarning } from '../log/read-events.js';
import type { LockOwner } from '../lock/lock-owner.js';
import type { OwnerRead } from '../lock/mkdir-lock.js';
import { judgeLock } from '../lock/task-locks.js';
import { cycleKey, findCycles, unknownNeeds } from './dependency-graph.js';
import { loadBoard, type Guild } from './guild.js';
import { orderedMatches } from '../log/ordered-matches.js';
import { isClaimable, nextReady, readyQueue, type ReadyFilter } from './ready-queue.js';
import { viewTask, type TaskView } from './task-view.js';

export interface BoardNotice {
  line: number;
  message: string;
}

/** What is odd about a board but does not stop it being read: for stderr and doctor. */
export function boardNotices(board: Board): BoardNotice[] {
  const notices: BoardNotice[] = [];
  for (const { task, need } of unknownNeeds(board.tasks, (id) => board.byId.has(id))) {
    notices.push({ line: task.line, message: `${task.id ?? 'task'} needs ${need}, which is not on the board: it stays blocked` });
  }
  const edges = new Map<string, readonly string[]>();
  for (const task of board.tasks) if (task.id && task.needs.length > 0) edges.set(task.id, task.needs);
  const seen = new Set<string>();
  for (const cycle of findCycles(edges)) {
    if (seen.has(cycleKey(cycle))) continue;
    seen.add(cycleKey(cycle));
    notices.push({ line: board.byId.get(cycle[0]!)!.line, message: `dependency cycle: ${cycle.join(' -> ')}` });
  }
  for (const task of board.tasks) if (task.id === null) notices.push({ line: task.line, message: `task without an ID: it gets one at the next write` });
  return notices;
}

export interface TaskList {
  tasks: TaskView[];
  notices: BoardNotice[];
}

export async function listTasks(guild: Guild, filter: { status?: Status; agent?: string } = {}): Promise<TaskList> {
  const board = await loadBoard(guild);
  const tasks = board.tasks.filter((task) => (!filter.status || task.status === filter.status) && (!filter.agent || task.owner === filter.agent));
  return { tasks: tasks.map((task) => viewElsewhere(guild, task)), notices: boardNotices(board) };
}

/** The task's view, saying when another clone holds it or finished it (a board that has not synced yet). */
function viewElsewhere(guild: Guild, task: Task): TaskView {
  const view = viewTask(task);
  const elsewhere = task.id === null ? undefined : guild.elsewhere?.get(task.id);
  return elsewhere ? { ...view, elsewhere: elsewhere.state } : view;
}

export async function readyTasks(guild: Guild, caps?: readonly string[]): Promise<TaskList> {
  const board = await loadBoard(guild);
  return { tasks: readyQueue(board.tasks, readyFilter(board, guild, caps)).map(viewTask), notices: boardNotices(board) };
}

export async function nextTask(guild: Guild, caps?: readonly string[]): Promise<TaskView> {
  const board = await loadBoard(guild);
  const filter = readyFilter(board, guild, caps);
  const tried = new Set<number>();
  // What claim would take: the first ready task that no racing claim holds a lock on.
  for (let task = nextReady(board.tasks, filter); task; task = nextReady(board.tasks, filter, tried)) {
    if (guild.locks.read(task.id!).state === 'free') return viewTask(task);
    tried.add(task.line);
  }
  throw noClaimableTask(board.tasks, filter);
}

/**
 * Why next or claim found nothing: with the tasks that only wait for their retry time (the
 * soonest first), so that "nothing" does not hide work that is minutes away. Still exit 5.
 */
export function noClaimableTask(tasks: readonly Task[], filter: ReadyFilter): NothingToDoError {
  const later = { ...filter, now: Infinity };
  const waiting = tasks
    .filter((task) => task.retry !== null && Date.parse(task.retry) > filter.now && isClaimable(task, later))
    .map((task) => ({ task: task.id!, retry: task.retry! }))
    .sort((a, b) => Date.parse(a.retry) - Date.parse(b.retry));
  const caps = filter.caps ? ` for caps ${filter.caps.join(',') || '(none)'}` : '';
  const wait = waiting.length === 0 ? '' : `; waiting to be retried: ${waiting.map((w) => `${w.task} until ${w.retry}`).join(', ')}`;
  return new NothingToDoError(`no claimable task${caps}${wait}`, { caps: filter.caps ?? null, ...(waiting.length > 0 ? { waiting } : {}) });
}

function readyFilter(board: Board, guild: Guild, caps: readonly string[] | undefined): ReadyFilter {
  return { caps, now: guild.now(), statusOf: (id) => board.byId.get(id)?.status, elsewhere: guild.elsewhere };
}

export interface LockView {
  task: string;
  state: 'held' | 'unreadable';
  /** An owner.json that is there but is no owner (bad JSON, wrong shape): heal removes it once old. */
  damaged: boolean;
  agent: string | null;
  host: string | null;
  pid: number | null;
  acquired: string | null;
  heartbeat: string | null;
  stale: boolean;
  reason: string | null;
  path: string;
}

export async function listLocks(guild: Guild): Promise<{ locks: LockView[] }> {
  let ttlMs = 3_600_000;
  try {
    ttlMs = (await loadBoard(guild)).settings.lockTtlMs;
  } catch {
    // Locks are worth listing even when the board is broken; judge by the default lock_ttl.
  }
  const now = guild.now();
  const locks = guild.locks.list().flatMap(({ task, read }) => lockView(guild, task, read, { now, ttlMs }) ?? []);
  return { locks };
}

/** What a lock read shows, judged against lock_ttl; null when the lock is free. */
function lockView(guild: Guild, task: string, read: OwnerRead<LockOwner>, judge: { now: number; ttlMs: number }): LockView | null {
  if (read.state === 'free') return null;
  const path = guild.locks.where(task);
  if (read.state === 'unreadable') return { task, state: 'unreadable', agent: null, host: null, pid: null, acquired: null, heartbeat: null, stale: false, damaged: read.damaged === true, reason: read.reason, path };
  const { owner } = read;
  const staleness = judgeLock(owner, { ...judge, written: read.written });
  return {
    task,
    state: 'held',
    agent: owner.agent,
    host: owner.host,
    pid: owner.pid,
    acquired: owner.acquired,
    heartbeat: owner.heartbeat,
    stale: staleness.stale,
    damaged: false,
    reason: staleness.stale ? staleness.reason : null,
    path,
  };
}

export interface ShowResult {
  task: TaskView;
  body: string[];
  lock: LockView | null;
  /** The task's last SHOW_HISTORY events, in replay's (ts, id) order. */
  history: AuditEvent[];
  /** How many events the log holds for the task; more than `history` holds when it is long. */
  historyTotal: number;
  warnings: LogWarning[];
}

/** How many of a task's events `show` prints: the rest is `guild-fs log --task ID`'s. */
export const SHOW_HISTORY = 200;

function renumberedBy(event: AuditEvent): { from: string; events: string[] } | null {
  const value = event.data.renumbered as { from?: unknown; events?: unknown } | undefined;
  if (!value || typeof value.from !== 'string' || !Array.isArray(value.events)) return null;
  return { from: value.from, events: value.events.filter((e): e is string => typeof e === 'string') };
}

/**
 * A task given a new ID after two branches used one ID (sync-board.ts, findRenumbered): the events
 * its marker names moved from the old ID to the new one, in both tasks' histories. The marker comes
 * after the events it names, so it is looked for in a pass of its own (markers are few: memory is theirs).
 */
async function renumbered(path: string, id: string): Promise<{ movedOut: Set<string>; movedIn: Set<string> }> {
  const movedOut = new Set<string>();
  const movedIn = new Set<string>();
  for await (const { event } of readEvents(path, { lenient: true, onWarning: () => {} })) {
    const marker = event.type === 'task.edited' ? renumberedBy(event) : null;
    if (marker?.from === id) for (const moved of marker.events) movedOut.add(moved);
    if (marker && event.task === id) for (const moved of marker.events) movedIn.add(moved);
  }
  return { movedOut, movedIn };
}

/** `viewer`: the agent asking, if any; the holder looking at its own task refreshes its heartbeat. */
export async function showTask(guild: Guild, id: string, viewer?: string): Promise<ShowResult> {
  const board = await loadBoard(guild);
  const task = board.byId.get(parseTaskId(id, board.settings.prefix));
  if (!task) throw new NoSuchTaskError(id);
  const warnings: LogWarning[] = [];
  const { movedOut, movedIn } = await renumbered(guild.logPath, id);
  const mine = (event: AuditEvent) => (event.task === id && !movedOut.has(event.id)) || movedIn.has(event.id);
  // Only the end of a long history is kept and printed; `log --task` streams all of it.
  const history = await orderedMatches(guild.logPath, mine, { last: SHOW_HISTORY, onWarning: (warning) => warnings.push(warning) });
  let read = guild.locks.read(id);
  if (viewer !== undefined && read.state === 'held' && read.owner.agent === viewer) {
    const owner = guild.locks.heartbeat(id, read.owner.token, guild.now());
    if (owner) read = { state: 'held', owner };
  }
  const lock = lockView(guild, id, read, { now: guild.now(), ttlMs: board.settings.lockTtlMs });
  return { task: viewElsewhere(guild, task), body: bodyOf(board, task), lock, history: history.events, historyTotal: history.total, warnings };
}

function bodyOf(board: Board, task: Task): string[] {
  return board.source.slice(task.line + 1, task.endLine);
}

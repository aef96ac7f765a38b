// The order work is handed out in: priority, then the task's place on the board (a human
// reorders lines to reorder work); lines are unique, so no two tasks tie. Tasks waiting for
// their retry time, or for their needs, are skipped.
import type { Priority, Status, Task } from '../board/types.js';
import { needsMet } from './dependency-graph.js';
import type { ElsewhereClaim } from './guild.js';

const PRIORITY_RANK: Record<Priority, number> = { critical: 0, high: 1, normal: 2, low: 3 };

export interface ReadyFilter {
  /** The agent's capabilities; when given, a task is offered only if it needs no other. */
  caps?: readonly string[];
  now: number;
  /** Status of another task by ID: a task in Ready whose needs are not all Done is not offered. */
  statusOf: (id: string) => Status | undefined;
  /** Tasks claimed (or finished) in another clone, as the remote says (see Guild.elsewhere): never offered. */
  elsewhere?: ReadonlyMap<string, ElsewhereClaim>;
}

export function isClaimable(task: Task, filter: ReadyFilter): boolean {
  if (task.status !== 'ready' || task.id === null || task.checked) return false;
  if (filter.elsewhere?.has(task.id)) return false;
  if (task.retry !== null && Date.parse(task.retry) > filter.now) return false;
  if (filter.caps) for (const cap of task.caps) if (!filter.caps.includes(cap)) return false;
  // A hand edit can leave a task in Ready before its needs are done; the next write moves it.
  return needsMet(task, filter.statusOf);
}

/**
 * Every claimable task in hand-out order. Lines are unique, so (priority, line) is a total order;
 * it is packed into one number per task and sorted natively, which in cold JavaScript is several
 * times faster than a comparator over thousands of tasks.
 */
export function readyQueue(tasks: readonly Task[], filter: ReadyFilter): Task[] {
  const byLine = new Map<number, Task>();
  const keys: number[] = [];
  for (const task of tasks) {
    if (!isClaimable(task, filter)) continue;
    byLine.set(task.line, task);
    keys.push(sortKey(task));
  }
  const sorted = Float64Array.from(keys).sort();
  const queue: Task[] = new Array(sorted.length);
  for (let i = 0; i < sorted.length; i++) queue[i] = byLine.get(sorted[i]! % LINE_SPAN)!;
  return queue;
}

/** The first task of readyQueue without sorting the rest; `skip` holds lines already tried. */
export function nextReady(tasks: readonly Task[], filter: ReadyFilter, skip: ReadonlySet<number> = new Set()): Task | undefined {
  let best: Task | undefined;
  let bestKey = Infinity;
  for (const task of tasks) {
    if (skip.has(task.line) || !isClaimable(task, filter)) continue;
    const key = sortKey(task);
    if (key < bestKey) {
      best = task;
      bestKey = key;
    }
  }
  return best;
}

const LINE_SPAN = 2 ** 32;

function sortKey(task: Task): number {
  return PRIORITY_RANK[task.prio] * LINE_SPAN + task.line;
}

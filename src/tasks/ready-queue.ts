// The order work is handed out in: priority, then the task's place on the board (a human
// reorders lines to reorder work), then ID. Tasks waiting for their retry time are skipped.
import { taskNumber } from '../identifiers.js';
import type { Priority, Task } from '../board/types.js';

const PRIORITY_RANK: Record<Priority, number> = { critical: 0, high: 1, normal: 2, low: 3 };

export interface ReadyFilter {
  /** The agent's capabilities; when given, a task is offered only if it needs no other. */
  caps?: readonly string[];
  now: number;
}

export function isClaimable(task: Task, filter: ReadyFilter): boolean {
  if (task.status !== 'ready' || task.id === null || task.checked) return false;
  if (task.retry !== null && Date.parse(task.retry) > filter.now) return false;
  if (filter.caps) for (const cap of task.caps) if (!filter.caps.includes(cap)) return false;
  return true;
}

export function readyQueue(tasks: readonly Task[], filter: ReadyFilter): Task[] {
  return tasks.filter((task) => isClaimable(task, filter)).sort(compareForWork);
}

export function compareForWork(a: Task, b: Task): number {
  return PRIORITY_RANK[a.prio] - PRIORITY_RANK[b.prio] || a.line - b.line || taskNumber(a.id ?? '') - taskNumber(b.id ?? '');
}

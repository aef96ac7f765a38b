// A task that did not get done goes back to Ready with one more try and a retry time that
// doubles each time (retry_base x 2^(tries-1)), or, at max_tries, to Failed with
// task.poisoned: a human moves it back to Ready to try again. `fail` and `heal` share this.
import type { Task } from '../board/types.js';
import type { TaskChange } from '../board/edit-board.js';
import type { Transaction } from './update-board.js';

export interface Requeued {
  change: TaskChange;
  tries: number;
  retry: string | null;
  poisoned: boolean;
}

export function requeueChange(tx: Transaction, task: Task): Requeued {
  const tries = task.tries + 1;
  const { maxTries, retryBaseMs } = tx.board.settings;
  if (tries >= maxTries) {
    return { change: { status: 'failed', fields: { owner: null, tries: String(tries), retry: null } }, tries, retry: null, poisoned: true };
  }
  const retry = new Date(tx.now + retryBaseMs * 2 ** (tries - 1)).toISOString();
  return { change: { status: 'ready', fields: { owner: null, tries: String(tries), retry } }, tries, retry, poisoned: false };
}

/** Applies a requeue, logging `first` (task.failed, lock.healed) and task.poisoned when it is. */
export function requeue(tx: Transaction, task: Task, first: { type: 'task.failed' | 'lock.healed'; data: Record<string, unknown>; agent?: string }): Requeued {
  const requeued = requeueChange(tx, task);
  const id = tx.idOf(task);
  tx.edit.update(task, requeued.change);
  tx.emit(first.type, id, { ...first.data, tries: requeued.tries, ...(requeued.retry ? { retry: requeued.retry } : {}) }, first.agent);
  if (requeued.poisoned) tx.emit('task.poisoned', id, { tries: requeued.tries, maxTries: tx.board.settings.maxTries }, first.agent);
  return requeued;
}

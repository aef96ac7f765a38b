// The shape a task has in --json output: plain data, stable keys.
import type { Task } from '../board/types.js';

/** A task without what only the editor needs (its box and last line). */
export type TaskView = Omit<Task, 'checked' | 'endLine'> & {
  /** Claimed, or finished, in another clone, as the board's remote says (only when the board has `remote:`). */
  elsewhere?: 'claimed' | 'done';
};

export function viewTask(task: Task): TaskView {
  return {
    id: task.id,
    title: task.title,
    status: task.status,
    prio: task.prio,
    needs: task.needs,
    caps: task.caps,
    owner: task.owner,
    branch: task.branch,
    tries: task.tries,
    retry: task.retry,
    empty: task.empty,
    line: task.line,
  };
}

// The shape a task has in --json output: plain data, stable keys.
import type { Status, Task } from '../board/types.js';

export interface TaskView {
  id: string | null;
  title: string;
  status: Status;
  prio: string;
  needs: string[];
  caps: string[];
  owner: string | null;
  branch: string | null;
  tries: number;
  retry: string | null;
  line: number;
}

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
    line: task.line,
  };
}

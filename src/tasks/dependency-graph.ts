// needs: between tasks. A task is blocked until every task it needs is done; a need on an ID
// that is not on the board blocks too. Cycles are found with an iterative depth-first search
// (a recursive one would overflow on a long chain of 10,000 tasks).
import type { Status, Task } from '../board/types.js';

export function needsMet(task: Task, statusOf: (id: string) => Status | undefined): boolean {
  for (const need of task.needs) if (statusOf(need) !== 'done') return false;
  return true;
}

export function unknownNeeds(tasks: readonly Task[], known: (id: string) => boolean): { task: Task; need: string }[] {
  const found: { task: Task; need: string }[] = [];
  for (const task of tasks) for (const need of task.needs) if (!known(need)) found.push({ task, need });
  return found;
}

/** Every cycle, each as the IDs along it with the first repeated at the end. */
export function findCycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, 1 | 2>(); // 1: on the current path, 2: finished
  const cycles: string[][] = [];
  for (const root of edges.keys()) {
    if (state.has(root)) continue;
    const path: string[] = [];
    const stack: { id: string; next: number }[] = [{ id: root, next: 0 }];
    state.set(root, 1);
    path.push(root);
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const needs = edges.get(frame.id) ?? [];
      if (frame.next < needs.length) {
        const need = needs[frame.next++]!;
        if (!edges.has(need)) continue;
        const seen = state.get(need);
        if (seen === 1) cycles.push([...path.slice(path.indexOf(need)), need]);
        else if (seen === undefined) {
          state.set(need, 1);
          path.push(need);
          stack.push({ id: need, next: 0 });
        }
        continue;
      }
      state.set(frame.id, 2);
      path.pop();
      stack.pop();
    }
  }
  return cycles;
}

export function cycleKey(cycle: readonly string[]): string {
  // The same cycle found from another start is the same cycle.
  const ring = cycle.slice(0, -1);
  const start = ring.indexOf([...ring].sort()[0]!);
  return [...ring.slice(start), ...ring.slice(0, start)].join('>');
}

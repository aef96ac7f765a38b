// The dependency graph as data: which tasks to show, the needs: edges between them, the cycles
// and the needs that name no task. Drawing it (Mermaid, DOT) is graph-text.ts's.
import type { Status, Task } from '../board/types.js';
import { cycleKey, findCycles } from '../tasks/dependency-graph.js';

export interface GraphNode {
  /** The task's ID; for a need that names no task, the ID it names. */
  id: string;
  title: string;
  status: Status | 'unknown';
  /** Not asked for (another status), shown because a task that was asked for needs it. */
  context?: true;
}

/** `from` is the needed task, `to` the task that needs it: the order work flows in. */
export interface GraphEdge {
  from: string;
  to: string;
  /** `from` names no task on the board: the need blocks `to` for ever. */
  unknown?: true;
}

export interface TaskGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** The dependency cycles among the shown tasks, each once, the first ID repeated at the end. */
  cycles: string[][];
  unknownNeeds: { task: string; need: string }[];
}

export interface GraphFilter {
  /** Only tasks with this status (and what they need). */
  status?: Status;
  /** Done tasks too; without it and without `status`, the open work: everything not Done. */
  all?: boolean;
}

/**
 * The graph of `tasks` the filter asks for. `byId` is the board's index (Board.byId), passed to
 * save building it again on a board of 10,000 tasks.
 */
export function taskGraph(tasks: readonly Task[], filter: GraphFilter = {}, byId: ReadonlyMap<string, Task> = indexTasks(tasks)): TaskGraph {
  // A hand-typed item has no ID yet (the next write gives it one): nothing can need it, and it
  // has no name a graph could use, so it waits for that write.
  const selected = new Set<string>();
  for (const task of tasks) if (task.id !== null && (filter.status ? task.status === filter.status : filter.all || task.status !== 'done')) selected.add(task.id);
  // The tasks a selected task needs are drawn too, with their own status, even when the filter
  // left them out (a Done need of open work, an In Progress need of a Blocked task): an edge
  // without its other end would say less than the board does, and why a task waits is the
  // question the graph answers. One level only: what those need in turn was not asked for.
  const context = new Set<string>();
  const edges: GraphEdge[] = [];
  const unknownNeeds: { task: string; need: string }[] = [];
  const unknown: GraphNode[] = [];
  const unknownShown = new Set<string>();
  for (const task of tasks) {
    if (task.id === null || task.needs.length === 0 || !selected.has(task.id)) continue;
    for (const need of task.needs) {
      if (byId.has(need)) {
        edges.push({ from: need, to: task.id });
        if (!selected.has(need)) context.add(need);
        continue;
      }
      edges.push({ from: need, to: task.id, unknown: true });
      unknownNeeds.push({ task: task.id, need });
      if (!unknownShown.has(need)) {
        unknownShown.add(need);
        unknown.push({ id: need, title: 'not on the board', status: 'unknown' });
      }
    }
  }
  const nodes: GraphNode[] = [];
  for (const task of tasks) {
    if (task.id === null) continue;
    if (selected.has(task.id)) nodes.push({ id: task.id, title: task.title, status: task.status });
    else if (context.has(task.id)) nodes.push({ id: task.id, title: task.title, status: task.status, context: true });
  }
  nodes.push(...unknown);
  // A cycle is reported when all its edges are drawn, i.e. every task on it was asked for:
  // `--status ready` is not about a loop among Blocked tasks.
  const cycles = boardCycles(tasks).filter((cycle) => cycle.every((id) => selected.has(id)));
  return { nodes, edges, cycles, unknownNeeds };
}

function indexTasks(tasks: readonly Task[]): Map<string, Task> {
  const byId = new Map<string, Task>();
  for (const task of tasks) if (task.id !== null) byId.set(task.id, task);
  return byId;
}

/** The board's cycles, each once (findCycles may meet one from several starts). */
function boardCycles(tasks: readonly Task[]): string[][] {
  // Only tasks that need something can be on a cycle; findCycles skips needs outside the map.
  const needs = new Map<string, readonly string[]>();
  for (const task of tasks) if (task.id !== null && task.needs.length > 0) needs.set(task.id, task.needs);
  const seen = new Set<string>();
  const cycles: string[][] = [];
  for (const cycle of findCycles(needs)) {
    const key = cycleKey(cycle);
    if (seen.has(key)) continue;
    seen.add(key);
    cycles.push(cycle);
  }
  return cycles;
}

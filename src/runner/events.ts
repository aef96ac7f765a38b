// What a run reports, as plain data: the CLI prints each event as a line (or NDJSON with --json),
// and a live view can subscribe to the same stream (RunOptions.onEvent, onOutput).

export type TaskOutcome = 'done' | 'failed' | 'released';

interface Base {
  time: string;
}

export type RunEvent = Base &
  (
    | { event: 'run.started'; workers: string[]; argv: string[]; template: string }
    | { event: 'task.claimed'; worker: string; task: string; title: string; try: number; worktree: string | null; branch: string | null; log: string }
    | { event: 'task.done'; worker: string; task: string; try: number; status: 'done' | 'review'; ms: number; head: string | null }
    | { event: 'task.failed'; worker: string; task: string; try: number; ms: number; reason: string; poisoned: boolean; retry: string | null; committed: string | null }
    | { event: 'task.released'; worker: string; task: string; try: number; ms: number; reason?: string }
    | { event: 'run.waiting'; worker: string; why: string }
    | { event: 'run.stopping'; how: 'finish-running' | 'stop-agents' }
    | { event: 'run.note'; worker: string | null; task: string | null; message: string }
    | { event: 'worker.error'; worker: string; task: string | null; code: string; message: string }
    | ({ event: 'run.summary' } & RunSummary)
  );

export interface TaskRecord {
  task: string;
  worker: string;
  try: number;
  outcome: TaskOutcome;
  ms: number;
}

/** Tasks are counted by how their last try of the run ended; the tries themselves are listed apart. */
export interface RunSummary {
  /** Tasks completed. */
  done: number;
  /** Tasks whose last try failed. */
  failed: number;
  /** Tasks handed back (released) by their last try. */
  released: number;
  /** Tries that failed and were followed by another try of the same task in this run. */
  retried: number;
  errors: number;
  /** Every try of the run, in the order they ended. */
  tries: TaskRecord[];
  ms: number;
  /** 0 every task taken was completed, 5 none was taken, 6 some failed or were given back, 1 a worker hit an unexpected error. */
  exitCode: number;
}

/** An event without its time; the run stamps it. */
export type RunEventBody = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'time'> : never) : never;

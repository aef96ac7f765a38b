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
    | { event: 'task.released'; worker: string; task: string; try: number; ms: number; reason?: string; unavailable?: true }
    /** The breaker opened for a command (runner/breaker.ts): its tries are given back, and no new one starts until `until`. */
    | { event: 'agent.unavailable'; command: string; workers: string[]; reason: string; until: string; wait: boolean; givenBack: number }
    /** The one try after the wait worked: the command's workers claim again. */
    | { event: 'agent.available'; command: string }
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
  /** The commands whose breaker opened in this run ([] when none did). */
  unavailable: UnavailableAgent[];
  /** 0 every task taken was completed, 5 none was taken, 6 some failed or were given back, 8 an agent command was unavailable (--no-wait), 1 a worker hit an unexpected error. */
  exitCode: number;
}

export interface UnavailableAgent {
  command: string;
  /** Why it is unavailable still; null: it worked again before the end. */
  reason: string | null;
  /** When it was to be tried again, while still open. */
  until: string | null;
  opened: number;
  givenBack: number;
  /** --no-wait ended the run on it (exit 8). */
  stopped: boolean;
}

/** An event without its time; the run stamps it. */
export type RunEventBody = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'time'> : never) : never;

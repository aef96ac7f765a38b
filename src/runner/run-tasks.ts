// `guild-fs run`'s engine: N workers named <agent>-1..N, each pulling the next task its caps
// allow until nothing is claimable and no worker is busy (a busy worker's outcome may unlock a
// task that needs it, so an idle worker waits for it rather than leaving). With `watch`, idle
// workers wait for the board to change instead (fs.watch on its folder, plus a modest timer for
// retry times and for file systems that do not notify), never polling in a tight loop.
// Stopping: stop('finish') takes no new claims and lets running agents finish; stop('now') also
// stops their process groups, and their tasks are released.
import { watch as watchFs, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ExitCode } from '../errors.js';
import type { Guild } from '../tasks/guild.js';
import type { RunEvent, RunEventBody, RunSummary, TaskRecord, UnavailableAgent } from './events.js';
import type { RunStream } from './run-log.js';
import { startWatchdog, type Watchdog } from './watchdog.js';
import { settleHeld, workerLoop, type Pool } from './worker.js';
import type { RemoteRounds } from './remote-rounds.js';
import { RunBreakers, type BreakerSettings } from './run-breakers.js';

export interface RunOptions {
  /** CMD and its ARGs, with placeholders. */
  argv: string[];
  /** The workers' name stem: workers are <agent>-1..N. */
  agent: string;
  parallel: number;
  caps?: readonly string[];
  /**
   * Each worker's name, command and caps, when they differ (front matter `agents:` profiles);
   * without it, `parallel` workers `<agent>-1..N` all run `argv` with `caps`.
   */
  workers?: WorkerSpec[];
  /** At most this many claims in the whole run. */
  maxTasks?: number;
  /** 0: none. */
  timeoutMs: number;
  /** Between SIGTERM and SIGKILL, for timeouts, stops and an agent's leftover children. */
  graceMs: number;
  /** How a try is judged beyond its exit code (absent: the defaults, no idle timeout and no empty tries). */
  tryRules?: TryRules;
  watch: boolean;
  /**
   * Agents run in their task's worktree (true), or in the main checkout (false: the board said
   * `worktrees: false` when the run started). Decided once for the whole run: no later read of a
   * board a person is saving switches it.
   */
  worktrees: boolean;
  /** Commit what an agent left uncommitted after exit 0 (false: --no-commit). */
  commit: boolean;
  /** The process the claims are bound to (the runner's). */
  pid: number;
  /** The prompt template's text (prompt.ts loadPromptTemplate). */
  promptTemplate: string;
  promptFrom: string;
  onEvent: (event: RunEvent) => void;
  /** Each line an agent prints (for a live view's "last output line"). */
  onOutput?: (worker: string, task: string, stream: RunStream, text: string) => void;
  /** Awaited before each claim: where resource gating (--max-load, --min-free-mem) waits. */
  beforeClaim?: (worker: string) => Promise<void>;
  /** How often an idle --watch worker looks again without a board change. */
  idleRecheckMs?: number;
  /** The breaker for broken agent commands (run-breakers.ts): --no-wait, --unavailable. */
  breaker?: BreakerSettings;
  /** On a board with `remote:`: the board's travel between runners in other clones (remote-rounds.ts). */
  remote?: RemoteRounds;
  now?: () => number;
}

export interface WorkerSpec {
  name: string;
  argv: string[];
  caps?: readonly string[];
  /** The profile's `unavailable:` patterns, added to the defaults (unavailable.ts). */
  unavailable?: readonly string[];
  /** Its profile's `allow_empty: true`: its tries may complete having changed nothing. */
  allowEmpty?: boolean;
}

export interface TryRules {
  /** --idle-timeout: an agent silent (no output) this long is stopped as on the timeout; 0: never. */
  idleTimeoutMs: number;
  /** --allow-empty: every try of the run may complete having changed nothing (empty-try.ts). */
  allowEmpty: boolean;
}

export interface RunHandle {
  done: Promise<RunSummary>;
  /** 'finish': no new claims, running agents finish; 'now': stop them too and release their tasks. */
  stop(how: 'finish' | 'now'): void;
}

export function runTasks(guild: Guild, options: RunOptions): RunHandle {
  const now = options.now ?? Date.now;
  const started = now();
  const emit = (body: RunEventBody): void => options.onEvent({ time: new Date(now()).toISOString(), ...body } as RunEvent);
  const watchdog: Watchdog = startWatchdog(options.graceMs);
  const specs: WorkerSpec[] = options.workers ?? Array.from({ length: options.parallel }, (_, i) => ({ name: `${options.agent}-${i + 1}`, argv: options.argv, caps: options.caps }));
  const workers = specs.map((spec) => spec.name);
  let wakers: (() => void)[] = [];
  const pool: Pool = {
    guild,
    options,
    watchdog,
    emit,
    now,
    stopping: false,
    halted: false,
    halt: new AbortController(),
    busy: 0,
    taken: 0,
    errors: 0,
    records: [] as TaskRecord[],
    refused: new Map(),
    running: new Map(),
    breakers: new RunBreakers({ now, emit, settings: options.breaker ?? { noWait: false, patterns: [] } }),
    wake: () => {
      const waiting = wakers;
      wakers = [];
      for (const wake of waiting) wake();
    },
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        const timer = ms === null ? undefined : setTimeout(done, ms);
        function done(): void {
          if (timer) clearTimeout(timer);
          resolve();
        }
        wakers.push(done);
      }),
  };
  const boardWatcher = options.watch ? watchBoard(guild.boardPath, pool.wake) : null;
  emit({ event: 'run.started', workers, argv: options.argv, template: options.promptFrom });
  const done = Promise.all(specs.map((spec) => workerLoop(pool, spec)))
    // Tries the breaker still holds when the run stops (a Ctrl-C mid-streak) are recorded as the failures they looked like.
    .then(() => settleHeld(pool, pool.breakers.settle()))
    // The last outcomes reach the remote even when the run ends without another claim (--max-tasks, a stop).
    .then(() => options.remote?.refresh())
    .then((): RunSummary => {
    boardWatcher?.close();
    watchdog.close();
    const summary = summarize(pool.records, pool.errors, now() - started, pool.breakers.report());
    emit({ event: 'run.summary', ...summary });
    return summary;
  });
  return {
    done,
    stop: (how) => {
      if (how === 'now') {
        pool.halted = true;
        pool.halt.abort();
        for (const agent of pool.running.values()) agent.stop();
      }
      if (!pool.stopping || how === 'now') emit({ event: 'run.stopping', how: how === 'now' ? 'stop-agents' : 'finish-running' });
      pool.stopping = true;
      pool.wake();
    },
  };
}

export function summarize(records: TaskRecord[], errors: number, ms: number, unavailable: UnavailableAgent[] = []): RunSummary {
  // Each task is judged by how its last try ended: a task that failed once and was then completed
  // by a later try of this run was completed, and its failed try counts apart, as retried.
  const last = new Map<string, TaskRecord['outcome']>();
  for (const record of records) last.set(record.task, record.outcome);
  const count = (outcome: TaskRecord['outcome']): number => [...last.values()].filter((ended) => ended === outcome).length;
  const done = count('done');
  const failedTries = records.filter((record) => record.outcome === 'failed').length;
  const failed = count('failed');
  // 8: --no-wait ended the run on an agent command that cannot work now (not logged in, out of quota).
  const exitCode = errors > 0 ? 1 : unavailable.some((agent) => agent.stopped) ? ExitCode.agentUnavailable : records.length === 0 ? 5 : done < last.size ? 6 : 0;
  return { done, failed, released: count('released'), retried: failedTries - failed, errors, tries: records, ms, unavailable, exitCode };
}

/** Calls `wake` when the board file changes; a watcher that cannot start leaves the idle timer alone to do it. */
function watchBoard(boardPath: string, wake: () => void): FSWatcher | null {
  const name = basename(boardPath);
  try {
    // The folder, not the file: every write replaces the board (a rename), which a watch on
    // the file itself would stop following.
    const watcher = watchFs(dirname(boardPath), { persistent: false }, (_type, file) => {
      if (file === null || String(file) === name) wake();
    });
    watcher.on('error', () => undefined);
    return watcher;
  } catch {
    return null;
  }
}

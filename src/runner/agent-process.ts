// One try of one agent: its argv run without a shell, cwd the task's worktree, stdin the prompt,
// the GUILD_* variables in its environment, in a process group of its own. Its stdout and stderr
// go, line by line and with times, to the try's log (run-log.ts), and the last lines are kept
// for the failure reason. A timeout, a silence longer than the idle timeout (no output on stdout or
// stderr: a stalled agent) or a stop sends SIGTERM to the whole group and SIGKILL after the grace
// period; once the agent itself has exited, whatever it left running in its group is
// stopped the same way, so no child of an agent outlives its try.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatDuration } from '../duration.js';
import { signalGroup } from '../git/process-group.js';
import { formatRunLine, type RunStream } from './run-log.js';
import type { Watchdog } from './watchdog.js';

export interface AgentInput {
  /** CMD and its ARGs, the placeholders already replaced (see placeholders()). */
  argv: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  prompt: string;
  logPath: string;
  /** 0: no timeout. */
  timeoutMs: number;
  /** Stopped as on a timeout after this long without output (--idle-timeout); 0 or absent: never. */
  idleTimeoutMs?: number;
  /** Between SIGTERM and SIGKILL. */
  graceMs: number;
  watchdog?: Watchdog;
  /** Each line the agent prints, as it prints it (for a live view). */
  onLine?: (stream: RunStream, text: string) => void;
  now?: () => Date;
}

export interface AgentOutcome {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** With timedOut: it was stopped for printing nothing this long (--idle-timeout), not for --timeout. */
  silentFor: number | null;
  /** Stopped by the runner (a second Ctrl-C), not by its own doing. */
  stopped: boolean;
  /** Set when the program could not be started (not found, not executable). */
  spawnError: string | null;
  /** The last lines it printed, stdout and stderr as they came. */
  tail: string[];
  ms: number;
}

export interface RunningAgent {
  pid: number | undefined;
  done: Promise<AgentOutcome>;
  /** SIGTERM to its group, SIGKILL after the grace period. */
  stop(): void;
}

const TAIL_LINES = 20;
/** A line longer than this is cut in the log: one runaway line must not hold the whole output in memory. */
const MAX_LINE = 16 * 1024;

/** Replaces {id} {title} {prompt} {prompt_file} {worktree} {branch}, only where an ARG is exactly one of them. */
export function placeholders(argv: readonly string[], values: Record<'id' | 'title' | 'prompt' | 'prompt_file' | 'worktree' | 'branch', string>): string[] {
  return argv.map((arg) => {
    const match = /^\{(id|title|prompt|prompt_file|worktree|branch)\}$/.exec(arg);
    return match ? values[match[1] as keyof typeof values] : arg;
  });
}

export function startAgent(input: AgentInput): RunningAgent {
  const now = input.now ?? (() => new Date());
  const started = Date.now();
  mkdirSync(dirname(input.logPath), { recursive: true });
  const log = createWriteStream(input.logPath, { flags: 'a' });
  const tail: string[] = [];
  const write = (kind: RunStream | 'end', text: string): void => {
    log.write(formatRunLine(kind, text, now()));
  };
  const child = spawn(input.argv[0]!, input.argv.slice(1), { cwd: input.cwd, env: input.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true, shell: false });
  const pgid = child.pid;
  if (pgid !== undefined) input.watchdog?.watch(pgid);
  let timedOut = false;
  let silentFor: number | null = null;
  let stopped = false;
  let killTimer: NodeJS.Timeout | undefined;
  const terminate = (): void => {
    signalGroup(pgid, 'SIGTERM');
    killTimer ??= setTimeout(() => signalGroup(pgid, 'SIGKILL'), input.graceMs);
  };
  // The first reason to stop is the one said: a timeout after the idle stop (or a stop) changes nothing.
  const timeOut = (silence: number | null): void => {
    if (timedOut || stopped) return;
    timedOut = true;
    silentFor = silence;
    terminate();
  };
  const timer = input.timeoutMs > 0 ? setTimeout(() => timeOut(null), input.timeoutMs) : undefined;
  const idleMs = input.idleTimeoutMs ?? 0;
  // Re-armed (refresh(), no new timer) by every chunk of output, partial lines included: a progress
  // bar redrawn with \r is an agent at work.
  const idle = idleMs > 0 ? setTimeout(() => timeOut(idleMs), idleMs) : undefined;

  const lines = (stream: RunStream, source: NodeJS.ReadableStream): Promise<void> =>
    new Promise((resolve) => {
      let partial = '';
      const emit = (line: string): void => {
        const text = line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line.replace(/\r$/, '');
        write(stream, text);
        tail.push(text);
        if (tail.length > TAIL_LINES) tail.shift();
        input.onLine?.(stream, text);
      };
      source.setEncoding('utf8');
      source.on('data', (chunk: string) => {
        idle?.refresh();
        partial += chunk;
        let at;
        while ((at = partial.indexOf('\n')) >= 0) {
          emit(partial.slice(0, at));
          partial = partial.slice(at + 1);
        }
        if (partial.length > MAX_LINE) {
          emit(partial);
          partial = '';
        }
        // An agent that prints faster than the disk takes it waits (its pipe fills) rather than
        // the runner's memory holding the difference.
        if (log.writableNeedDrain) {
          source.pause();
          log.once('drain', () => source.resume());
        }
      });
      source.on('end', () => {
        if (partial !== '') emit(partial);
        partial = '';
        resolve();
      });
      source.on('error', () => resolve());
      source.on('close', () => resolve());
    });
  const out = lines('out', child.stdout!);
  const err = lines('err', child.stderr!);
  // An agent that does not read its stdin closes it: the prompt is also in GUILD_PROMPT_FILE.
  child.stdin!.on('error', () => {});
  child.stdin!.end(input.prompt);

  const done = new Promise<AgentOutcome>((resolve) => {
    let spawnError: string | null = null;
    child.on('error', (error) => {
      spawnError = error.message;
    });
    let finished = false;
    const finish = (exitCode: number | null, signal: string | null): void => {
      if (finished) return;
      finished = true;
      // The agent is gone; a child it left behind in its group (a server, a sleep) holds its
      // pipes open and would keep the try from ending: the group goes with it.
      signalGroup(pgid, 'SIGTERM');
      const leftovers = setTimeout(() => signalGroup(pgid, 'SIGKILL'), input.graceMs);
      void Promise.all([out, err]).then(() => {
        clearTimeout(leftovers);
        if (timer) clearTimeout(timer);
        if (idle) clearTimeout(idle);
        if (killTimer) clearTimeout(killTimer);
        // Anything still in the group after its pipes closed (it ignored SIGTERM and closed them).
        signalGroup(pgid, 'SIGKILL');
        if (pgid !== undefined) input.watchdog?.unwatch(pgid);
        const outcome: AgentOutcome = { exitCode, signal, timedOut, silentFor, stopped, spawnError, tail: [...tail], ms: Date.now() - started };
        write('end', describeEnd(outcome, input.timeoutMs));
        log.end(() => resolve(outcome));
      });
    };
    child.on('exit', (code, signal) => finish(code, signal));
    // Could not start: no 'exit' follows an 'error' of spawn.
    child.on('error', () => {
      if (child.exitCode === null && child.signalCode === null && child.pid === undefined) finish(null, null);
    });
  });
  return {
    pid: pgid,
    done,
    stop: () => {
      stopped = true;
      terminate();
    },
  };
}

/** How the try ended, in words: the log's `end` line and the start of a failure reason. */
export function describeEnd(outcome: Pick<AgentOutcome, 'exitCode' | 'signal' | 'timedOut' | 'silentFor' | 'stopped' | 'spawnError'>, timeoutMs = 0): string {
  if (outcome.spawnError !== null) return `could not start: ${outcome.spawnError}`;
  if (outcome.timedOut && outcome.silentFor !== null) return `printed nothing for ${formatDuration(outcome.silentFor)} and was stopped (--idle-timeout; ${outcome.signal ? `signal ${outcome.signal}` : `exit ${outcome.exitCode}`})`;
  if (outcome.timedOut) return `timed out${timeoutMs > 0 ? ` after ${Math.round(timeoutMs / 1000)}s` : ''} (${outcome.signal ? `signal ${outcome.signal}` : `exit ${outcome.exitCode}`})`;
  if (outcome.stopped) return `stopped by the runner (${outcome.signal ? `signal ${outcome.signal}` : `exit ${outcome.exitCode}`})`;
  if (outcome.signal !== null) return `killed by signal ${outcome.signal}`;
  return `exit ${outcome.exitCode}`;
}

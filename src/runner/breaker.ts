// The breaker for one agent command: tells a broken CLI (not logged in, out of quota) from a task
// that fails, so that a broken CLI never burns the board. Pure: fed each failed try (its task, how
// long it ran, its reason and last lines) and each sign that the command works, with a clock
// passed in; it answers what to do with the try and whether a new try may start:
//   closed     tries start; a fast failure is held (neither failed nor given back) until the
//              breaker knows: `threshold` of them in a row on different tasks with the same
//              reason open it, anything else (a success, a slow try, another reason) fails them
//   open       no try starts until `until` (the reset time the CLI printed, or a backoff)
//   half-open  one try starts: it working closes the breaker, it failing the same way re-opens
//              it with a longer backoff
// A try matching an `unavailable:` pattern opens it at once. Tries the breaker lays on the
// command are given back (the worker releases them: the tasks keep their tries).
import { matchUnavailable, resetTime, type UnavailablePattern } from './unavailable.js';

export interface BreakerPolicy {
  /** Fast failures in a row, on different tasks, with the same reason, that open the breaker. */
  threshold: number;
  /** A failure quicker than this may be the command's; a slower try shows the command ran. */
  fastMs: number;
  /** The first wait when the CLI names no reset time; doubled at each re-open, up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_POLICY: BreakerPolicy = { threshold: 3, fastMs: 15_000, backoffMs: 60_000, maxBackoffMs: 30 * 60_000 };

/** How many of a failed try's last lines are looked at for patterns and reset times. */
const LOOK_AT_LINES = 20;

export interface FailedTry {
  task: string;
  ms: number;
  /** What ended it, in words ("the agent exited with status 1"). */
  reason: string;
  /** Its last lines of output. */
  tail: readonly string[];
}

export type BreakerState = { kind: 'closed' } | { kind: 'open'; until: number; reason: string } | { kind: 'half-open'; reason: string };

export type Verdict =
  /** The task's own failure: record it; and fail the held tries `settle` names too. */
  | { kind: 'failed'; settle: string[] }
  /** Hold it (its claim kept, nothing recorded) until the breaker decides; fail the held tries `settle` names (another reason ended their streak). */
  | { kind: 'held'; settle: string[] }
  /** The command's failure: give this try back, and the held tries `giveBack` names. `opened`: it opened just now. */
  | { kind: 'unavailable'; reason: string; until: number; giveBack: string[]; opened: boolean };

export type Gate = { kind: 'start'; trial: boolean } | { kind: 'wait'; until: number | null };

interface Held {
  task: string;
  key: string;
  line: string;
}

export class Breaker {
  private current: BreakerState = { kind: 'closed' };
  private held: Held[] = [];
  /** The opening reason's key: a try that was under way when it opened and fails the same way is the command's too. */
  private openKey: string | null = null;
  private opens = 0;
  private trial = false;
  private readonly policy: BreakerPolicy;

  constructor(private readonly options: { now: () => number; patterns: readonly UnavailablePattern[]; policy?: Partial<BreakerPolicy> }) {
    this.policy = { ...DEFAULT_POLICY, ...options.policy };
  }

  state(): BreakerState {
    if (this.current.kind === 'open' && this.options.now() >= this.current.until) this.current = { kind: 'half-open', reason: this.current.reason };
    return this.current;
  }

  /** The tasks held now, oldest first. */
  holding(): string[] {
    return this.held.map((held) => held.task);
  }

  /**
   * May a try of this command start now (`running`: its tries under way, held ones apart)? While
   * fast failures are held, only as many as could still open it: at most `threshold` tries are
   * spent before the breaker opens, beyond the ones already running at the first failure.
   */
  gate(running: number): Gate {
    const state = this.state();
    if (state.kind === 'open') return { kind: 'wait', until: state.until };
    if (state.kind === 'half-open') {
      if (this.trial) return { kind: 'wait', until: null };
      this.trial = true;
      return { kind: 'start', trial: true };
    }
    if (this.held.length > 0 && running + this.held.length >= this.policy.threshold) return { kind: 'wait', until: null };
    return { kind: 'start', trial: false };
  }

  /** A try that started ended without an outcome the breaker judges (stopped, nothing claimed). */
  abandoned(): void {
    this.trial = false;
  }

  /** The command ran (a try succeeded, or ran past fastMs): the held tries are the tasks' own failures. */
  worked(): string[] {
    const state = this.state();
    if (state.kind === 'half-open' && this.trial) {
      this.current = { kind: 'closed' };
      this.opens = 0;
      this.openKey = null;
    }
    this.trial = false;
    return this.release();
  }

  /** Nothing more will come to judge the held tries by (the run is idle or stopping): they are failures. */
  settle(): string[] {
    return this.release();
  }

  failed(one: FailedTry): Verdict {
    const lines = one.tail.slice(-LOOK_AT_LINES);
    const matched = matchUnavailable(lines, this.options.patterns);
    const line = matched ?? lastLine(one.reason, lines);
    const key = reasonKey(one.task, one.reason, line);
    const fast = one.ms < this.policy.fastMs;
    const state = this.state();
    const theCommands = matched !== null || (fast && key === this.openKey);
    const wasTrial = this.trial;
    this.trial = false;
    if (state.kind === 'half-open' && wasTrial) {
      if (theCommands) return this.open(matched ?? state.reason, key, lines, [one.task]);
      // The one try after the wait failed its own way: the command works again.
      this.current = { kind: 'closed' };
      this.opens = 0;
      this.openKey = null;
      return this.closedFailure(one, { fast, key, line, lines });
    }
    if (state.kind !== 'closed') {
      // A try under way when it opened: the command's failure too when it failed the same way.
      if (theCommands) return { kind: 'unavailable', reason: state.reason, until: state.kind === 'open' ? state.until : this.options.now(), giveBack: [one.task], opened: false };
      return { kind: 'failed', settle: [] };
    }
    if (matched !== null) return this.open(matched, key, lines, [...this.release(), one.task]);
    return this.closedFailure(one, { fast, key, line, lines });
  }

  private closedFailure({ task }: FailedTry, { fast, key, line, lines }: { fast: boolean; key: string; line: string; lines: readonly string[] }): Verdict {
    if (!fast) return { kind: 'failed', settle: this.release() };
    // Another reason ends the streak: those held are their tasks' own failures.
    const settle = this.held.length > 0 && this.held[0]!.key !== key ? this.release() : [];
    this.held.push({ task, key, line });
    if (this.held.length < this.policy.threshold) return { kind: 'held', settle };
    const reason = `${this.held.length} tries in a row, on different tasks, failed within ${Math.round(this.policy.fastMs / 1_000)}s the same way: ${line}`;
    return this.open(reason, key, lines, this.release());
  }

  private open(reason: string, key: string, lines: readonly string[], giveBack: string[]): Verdict {
    const now = this.options.now();
    this.opens++;
    const backoff = Math.min(this.policy.maxBackoffMs, this.policy.backoffMs * 2 ** (this.opens - 1));
    const until = resetTime(lines, now) ?? now + backoff;
    this.current = { kind: 'open', until, reason };
    this.openKey = key;
    return { kind: 'unavailable', reason, until, giveBack, opened: true };
  }

  private release(): string[] {
    const tasks = this.held.map((held) => held.task);
    this.held = [];
    return tasks;
  }
}

/** The line that says what went wrong: the output's last non-empty line, or the reason itself. */
function lastLine(reason: string, lines: readonly string[]): string {
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i]!.trim() !== '') return lines[i]!.trim();
  return reason;
}

/** "The same reason" across tasks: the words of it, without the task's ID and without numbers (times, counts, ports). */
export function reasonKey(task: string, reason: string, line: string): string {
  const plain = (text: string): string => text.split(task).join('{id}').toLowerCase().replace(/\d+/g, '#').replace(/\s+/g, ' ').trim();
  return `${plain(reason)} | ${plain(line)}`;
}

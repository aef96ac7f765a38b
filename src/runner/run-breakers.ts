// The breakers of one run, one per agent command (workers running the same argv share one): what
// the worker asks before a claim (start, wait, or leave with --no-wait), and what becomes of a
// try that failed (fail it, hold it, give it back, with the held tries the verdict settles). It
// says what happens in events (agent.unavailable, agent.available); worker.ts does the board's
// part (failTry, releaseTask), so this module never touches the board.
import { Breaker, type BreakerPolicy, DEFAULT_POLICY } from './breaker.js';
import type { RunEventBody, UnavailableAgent } from './events.js';
import type { WorkerSpec } from './run-tasks.js';
import { compilePatterns, DEFAULT_UNAVAILABLE } from './unavailable.js';
import type { HeldClaim } from '../tasks/finish-task.js';

export interface BreakerSettings {
  /** --no-wait: an open breaker stops that command's workers and the run exits 8, rather than waiting for the reset. */
  noWait: boolean;
  /** Added to the defaults for every command (run --unavailable PATTERN). */
  patterns: readonly string[];
  policy?: Partial<BreakerPolicy>;
}

/** A failed try on its way to an outcome: what failTry or the release needs. */
export interface PendingTry {
  id: string;
  worker: string;
  tryNumber: number;
  started: number;
  reason: string;
  claim: HeldClaim;
}

/** What to do now: tries to fail, tries to give back (with why), and whether the try just judged is held. */
export interface Settlement {
  fail: PendingTry[];
  giveBack: PendingTry[];
  why: string;
  hold: boolean;
  /** The try just judged (not a held one), if any. */
  judged: PendingTry | null;
}

export type Admission = { kind: 'start' } | { kind: 'wait'; ms: number | null } | { kind: 'leave' };

interface Command {
  name: string;
  breaker: Breaker;
  running: number;
  held: Map<string, PendingTry>;
  opened: number;
  gaveBack: number;
  workers: Set<string>;
}

const NOTHING: Settlement = { fail: [], giveBack: [], why: '', hold: false, judged: null };

export class RunBreakers {
  private readonly commands = new Map<string, Command>();
  readonly fastMs: number;

  constructor(private readonly deps: { now: () => number; emit: (event: RunEventBody) => void; settings: BreakerSettings }) {
    this.fastMs = deps.settings.policy?.fastMs ?? DEFAULT_POLICY.fastMs;
  }

  /** Before a claim by a worker running `spec`. */
  admit(spec: WorkerSpec): Admission {
    const command = this.of(spec);
    const state = command.breaker.state();
    if (state.kind === 'open' && this.deps.settings.noWait) return { kind: 'leave' };
    const gate = command.breaker.gate(command.running);
    if (gate.kind === 'wait') return { kind: 'wait', ms: gate.until === null ? null : Math.max(50, gate.until - this.deps.now()) };
    if (gate.trial) this.deps.emit({ event: 'run.note', worker: spec.name, task: null, message: `agent ${command.name}: the wait is over; one try to see whether it works again` });
    command.running++;
    return { kind: 'start' };
  }

  /** Why a try of `spec` may not start now (its breaker opened since the claim was let through); null: it may. */
  blocked(spec: WorkerSpec): string | null {
    const state = this.of(spec).breaker.state();
    return state.kind === 'open' ? `agent unavailable: ${state.reason}` : null;
  }

  /** A try admitted has ended (or its claim found nothing): whatever verdict it had is given. */
  finished(spec: WorkerSpec): void {
    const command = this.of(spec);
    command.running = Math.max(0, command.running - 1);
    command.breaker.abandoned();
  }

  /** The command ran (the try succeeded, or is still running past fastMs): its held tries are their tasks' failures. */
  worked(spec: WorkerSpec): Settlement {
    const command = this.of(spec);
    const before = command.breaker.state().kind;
    const settle = command.breaker.worked();
    this.closedAgain(command, before);
    return { ...NOTHING, fail: this.take(command, settle) };
  }

  failed(spec: WorkerSpec, pending: PendingTry, one: { ms: number; tail: readonly string[] }): Settlement {
    const command = this.of(spec);
    const before = command.breaker.state().kind;
    const firstLine = pending.reason.split('\n')[0]!;
    const verdict = command.breaker.failed({ task: pending.id, ms: one.ms, reason: firstLine, tail: one.tail });
    this.closedAgain(command, before);
    if (verdict.kind === 'failed') return { ...NOTHING, fail: [pending, ...this.take(command, verdict.settle)], judged: pending };
    if (verdict.kind === 'held') {
      const settle = this.take(command, verdict.settle);
      command.held.set(pending.id, pending);
      return { ...NOTHING, fail: settle, hold: true, judged: pending };
    }
    const giveBack = verdict.giveBack.map((task) => (task === pending.id ? pending : command.held.get(task))).filter((one): one is PendingTry => one !== undefined);
    for (const task of verdict.giveBack) command.held.delete(task);
    command.gaveBack += giveBack.length;
    if (verdict.opened) this.opened(command, verdict.reason, verdict.until);
    return { fail: [], giveBack, why: `agent unavailable: ${verdict.reason}`, hold: false, judged: pending };
  }

  /** Nothing more will come to judge the held tries by: they are their tasks' failures. */
  settle(): Settlement {
    const fail = [...this.commands.values()].flatMap((command) => this.take(command, command.breaker.settle()));
    return { ...NOTHING, fail };
  }

  holding(): number {
    let n = 0;
    for (const command of this.commands.values()) n += command.held.size;
    return n;
  }

  /** The commands whose breaker opened in this run, for the summary. */
  report(): UnavailableAgent[] {
    return [...this.commands.values()]
      .filter((command) => command.opened > 0)
      .map((command) => {
        const state = command.breaker.state();
        return {
          command: command.name,
          reason: state.kind === 'closed' ? null : state.reason,
          until: state.kind === 'open' ? new Date(state.until).toISOString() : null,
          opened: command.opened,
          givenBack: command.gaveBack,
          stopped: state.kind !== 'closed' && this.deps.settings.noWait,
        };
      });
  }

  /** Said once the one try after the wait shows the command works again. */
  private closedAgain(command: Command, before: string): void {
    if (before !== 'closed' && command.breaker.state().kind === 'closed') this.deps.emit({ event: 'agent.available', command: command.name });
  }

  private opened(command: Command, reason: string, until: number): void {
    command.opened++;
    this.deps.emit({ event: 'agent.unavailable', command: command.name, workers: [...command.workers], reason, until: new Date(until).toISOString(), wait: !this.deps.settings.noWait, givenBack: command.gaveBack });
  }

  private take(command: Command, tasks: readonly string[]): PendingTry[] {
    const found: PendingTry[] = [];
    for (const task of tasks) {
      const pending = command.held.get(task);
      if (pending) found.push(pending);
      command.held.delete(task);
    }
    return found;
  }

  private of(spec: WorkerSpec): Command {
    const key = JSON.stringify(spec.argv);
    let command = this.commands.get(key);
    if (!command) {
      const patterns = compilePatterns([...DEFAULT_UNAVAILABLE, ...this.deps.settings.patterns, ...(spec.unavailable ?? [])]);
      const breaker = new Breaker({ now: this.deps.now, patterns, policy: this.deps.settings.policy });
      command = { name: commandName(spec), breaker, running: 0, held: new Map(), opened: 0, gaveBack: 0, workers: new Set() };
      this.commands.set(key, command);
    }
    command.workers.add(spec.name);
    return command;
  }
}

/** The command as a person knows it: its words, cut short (a {prompt} placeholder can be long). */
function commandName(spec: WorkerSpec): string {
  const words = spec.argv.join(' ');
  if (words === '') return spec.name;
  return words.length > 60 ? `${words.slice(0, 59)}…` : words;
}

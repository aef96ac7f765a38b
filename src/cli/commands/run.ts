// `guild-fs run [--parallel N] [--caps CAPS] [--max-tasks K] [--timeout DUR] [--idle-timeout DUR] [--allow-empty] [--watch] [--no-commit] -- CMD [ARG...]`:
// any command becomes guild workers that drain the board (runner/run-tasks.ts). It prints as it
// goes: one plain line per event, or NDJSON with --json (one event a line, the summary last), and
// sets its own exit code from the summary: 0 every task taken completed, 6 some failed or were
// given back, 5 there was nothing to do, 8 an agent command was unavailable (--no-wait), 1 a
// worker hit an unexpected error.
import { accessSync, constants, statSync } from 'node:fs';
import { basename, delimiter, join, resolve } from 'node:path';
import { worktreeSettings } from '../../board/front-matter.js';
import type { Settings } from '../../board/types.js';
import { requireDuration } from '../../duration.js';
import { UsageError } from '../../errors.js';
import { isAgentName, parseAgentName } from '../../identifiers.js';
import type { RunEvent, RunSummary } from '../../runner/events.js';
import type { TryRules, WorkerSpec } from '../../runner/run-tasks.js';
import type { BreakerSettings } from '../../runner/run-breakers.js';
import { compilePattern } from '../../runner/unavailable.js';
import { eventLines } from '../../runner/event-lines.js';
import { loadBoard, type Guild } from '../../tasks/guild.js';
import { requireTrusted } from '../../workspace/trust.js';
import { capsOption, type Context } from '../context.js';

export const streams = true;

export interface RunArgs {
  parallel?: number;
  caps?: string;
  maxTasks?: number;
  timeout?: string;
  killAfter?: string;
  idleTimeout?: string;
  allowEmpty?: boolean;
  watch?: boolean;
  commit?: boolean;
  profile?: string;
  maxLoad?: string;
  minFreeMem?: string;
  /** --no-wait: an agent command found unavailable ends the run (exit 8) instead of waiting for its reset. */
  wait?: boolean;
  unavailable?: string | string[];
  '--'?: (string | number)[];
}

/**
 * Whether the run's agents get worktrees, decided once here: on unless the front matter says
 * `worktrees: false` on two reads (one read of a board a person is saving is not enough to send
 * every agent of the run to the main checkout).
 */
async function worktreesForRun(guild: Guild, settings: Settings): Promise<boolean> {
  if (worktreeSettings(settings).enabled) return true;
  return worktreeSettings((await loadBoard(guild)).settings).enabled;
}

export async function run(args: RunArgs, ctx: Context): Promise<RunSummary> {
  const argv = (args['--'] ?? []).map(String);
  if (argv.some((arg) => arg.includes('\0'))) throw new UsageError('the command holds a NUL character');
  if (argv.length > 0 && argv[0] === '') throw new UsageError('run needs the agent\'s command after --: guild-fs run -- CMD [ARG...]');
  if (argv.length > 0 && args.profile !== undefined) throw new UsageError('--profile names one of the board\'s agents: profiles; it does not go with a command after --');
  const parallel = wholeNumber(args.parallel ?? 1, '--parallel', 1, 256);
  const maxTasks = args.maxTasks === undefined ? undefined : wholeNumber(args.maxTasks, '--max-tasks', 1, Number.MAX_SAFE_INTEGER);
  const timeoutMs = args.timeout === undefined ? 0 : requireDuration(last(args.timeout), '--timeout');
  const graceMs = args.killAfter === undefined ? 10_000 : requireDuration(last(args.killAfter), '--kill-after');
  const tryRules: TryRules = { idleTimeoutMs: args.idleTimeout === undefined ? 0 : requireDuration(last(args.idleTimeout), '--idle-timeout'), allowEmpty: args.allowEmpty === true };
  const { parseMaxLoad, parseSize, ResourceGate } = await import('../../runner/resources.js');
  const maxLoad = args.maxLoad === undefined ? null : parseMaxLoad(last(args.maxLoad));
  const minFreeMem = args.minFreeMem === undefined ? null : parseSize(last(args.minFreeMem));
  const caps = capsOption(args.caps);
  const breaker = breakerSettings(args);
  const guild = await ctx.claimingGuild();
  const board = await loadBoard(guild);
  // The board's commands run in every try (worktree_setup at the claim, verify at the end):
  // refused up front, before anything is claimed, where this clone does not trust them.
  requireTrusted(guild, board.settings, board.text, ['worktree_setup', 'verify'], 'run claimed nothing and started no agent');
  let agent: string;
  let workers: WorkerSpec[] | undefined;
  if (argv.length > 0) {
    agent = ctx.agentIfAny() ?? agentFromCommand(argv[0]!);
    parseAgentName(`${agent}-${parallel}`, '--agent (with the worker number after it)');
  } else {
    // No command: the front matter's agents: profiles, each its own command, caps and workers.
    const { profilesToRun, requireProfilesTrusted, workerNames } = await import('../../runner/profiles.js');
    const profiles = profilesToRun(board.settings, { profile: args.profile });
    requireProfilesTrusted(guild, board, profiles);
    agent = profiles.map((profile) => profile.name).join('+');
    workers = profiles.flatMap((profile) => workerNames(profile).map((name): WorkerSpec => ({ name, argv: profile.command, caps: profile.caps ?? caps, allowEmpty: profile.allowEmpty, unavailable: profile.unavailable })));
  }
  // A command that cannot be found would fail every task on the board, one try after another.
  for (const command of new Set(workers ? workers.map((worker) => worker.argv[0]!) : [argv[0]!])) {
    if (!findProgram(command, ctx.cwd)) throw new UsageError(`run: cannot find the command ${JSON.stringify(command)} (not on PATH, or not executable)`, { command }, 'ENOCOMMAND');
  }
  const { loadPromptTemplate } = await import('../../runner/prompt.js');
  const { runTasks } = await import('../../runner/run-tasks.js');
  const template = loadPromptTemplate(guild.repo.mainWorktree);
  // At a terminal, the live view; elsewhere one plain line per event; --json: NDJSON.
  const live = !ctx.json && process.stdout.isTTY === true && process.env.TERM !== 'dumb' ? new (await import('../../runner/live-view.js')).LiveView({ out: process.stdout, progress: () => boardProgress(guild) }) : null;
  const print = ctx.json ? (event: RunEvent) => void process.stdout.write(`${JSON.stringify(event)}\n`) : live ? (event: RunEvent) => live.onEvent(event) : printPlain;
  // --max-load / --min-free-mem: sampled off the hot path; a claim waits while the machine is over them.
  let stopping = false;
  const gate = maxLoad === null && minFreeMem === null ? null : new ResourceGate({ maxLoad, minFreeMem, repoDir: guild.repo.mainWorktree });
  // The first sample before the first claim (at most 3 s): a limit the machine already breaks holds
  // back the very first claim too. Later samples come on the gate's own timer, off the claim path.
  if (gate) await Promise.race([gate.sampleNow(), new Promise((resolve) => setTimeout(resolve, 3_000).unref())]);
  let heldBack: string | null = null;
  const beforeClaim = gate
    ? async (worker: string): Promise<void> => {
        for (let verdict = gate.verdict(); !verdict.ok && !stopping; verdict = gate.verdict()) {
          if (heldBack !== verdict.why) print({ time: new Date().toISOString(), event: 'run.waiting', worker, why: `no new claim: ${verdict.why}` });
          heldBack = verdict.why;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        heldBack = null;
      }
    : undefined;
  // Through a remote: runners in other clones drain the same board (runner/remote-rounds.ts).
  const remote = board.settings.remote !== null && !ctx.offline ? (await import('../../runner/remote-rounds.js')).remoteRounds(guild, board.settings.remote, agent, (message) => print({ time: new Date().toISOString(), event: 'run.note', worker: null, task: null, message })) : undefined;
  const handle = runTasks(guild, {
    remote,
    argv,
    agent,
    parallel,
    caps,
    workers,
    beforeClaim,
    breaker,
    maxTasks,
    timeoutMs,
    graceMs,
    tryRules,
    watch: args.watch === true,
    worktrees: await worktreesForRun(guild, board.settings),
    commit: args.commit !== false,
    pid: process.pid,
    promptTemplate: template.text,
    promptFrom: template.from,
    onEvent: print,
    onOutput: live ? (worker, _task, _stream, text) => live.onOutput(worker, text) : undefined,
  });
  // First Ctrl-C: no new claims, running agents finish. Second (or SIGTERM): stop them and give their tasks back.
  let interrupts = 0;
  const onInterrupt = (): void => {
    stopping = true;
    handle.stop(++interrupts === 1 ? 'finish' : 'now');
  };
  const onTerminate = (): void => {
    stopping = true;
    handle.stop('now');
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onTerminate);
  try {
    return await handle.done;
  } finally {
    live?.stop();
    gate?.stop();
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onTerminate);
  }
}

export function render(): string {
  return '';
}

export function exitCode(result: RunSummary): number {
  return result.exitCode;
}

/** Whether `command` names a program that can be run, as spawn would look for it (PATH unless it has a slash). */
function findProgram(command: string, cwd: string): boolean {
  const runnable = (path: string): boolean => {
    try {
      accessSync(path, constants.X_OK);
      return statSync(path).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes('/')) return runnable(resolve(cwd, command));
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && runnable(join(dir, command)));
}

/** `claude` -> claude, `./bin/My Agent.sh` -> my-agent; anything else unusable -> agent. */
function agentFromCommand(command: string): string {
  const stem = basename(command).replace(/\.[a-z0-9]+$/i, '').toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '').slice(0, 48);
  return stem !== '' && isAgentName(stem) ? stem : 'agent';
}

/** --no-wait and --unavailable PATTERN (each a /regexp/flags or a substring; added to the defaults). */
function breakerSettings(args: RunArgs): BreakerSettings {
  const patterns = args.unavailable === undefined ? [] : Array.isArray(args.unavailable) ? args.unavailable.map(String) : [String(args.unavailable)];
  for (const pattern of patterns) {
    try {
      compilePattern(pattern);
    } catch (error) {
      throw new UsageError(`--unavailable ${JSON.stringify(pattern)}: not a regular expression: ${(error as Error).message}`, { pattern });
    }
  }
  return { noWait: args.wait === false, patterns };
}

function wholeNumber(value: unknown, option: string, min: number, max: number): number {
  const n = Array.isArray(value) ? value[value.length - 1] : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw new UsageError(`${option} must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, got ${JSON.stringify(n)}`);
  return n;
}

function last(value: string | string[]): string {
  return Array.isArray(value) ? value[value.length - 1]! : value;
}

function printPlain(event: RunEvent): void {
  for (const line of eventLines(event)) (line.stream === 'out' ? process.stdout : process.stderr).write(`${line.text}\n`);
}

/** Done of all tasks outside Backlog, for the live view's bar (the parse cache makes it cheap). */
async function boardProgress(guild: Guild): Promise<{ done: number; total: number }> {
  const board = await loadBoard(guild);
  const counted = board.tasks.filter((task) => task.status !== 'backlog');
  return { done: counted.filter((task) => task.status === 'done').length, total: counted.length };
}

// `guild-fs run [--parallel N] [--caps CAPS] [--max-tasks K] [--timeout DUR] [--watch] [--no-commit] -- CMD [ARG...]`:
// any command becomes guild workers that drain the board (runner/run-tasks.ts). It prints as it
// goes: one plain line per event, or NDJSON with --json (one event a line, the summary last), and
// sets its own exit code from the summary: 0 every task taken completed, 6 some failed or were
// given back, 5 there was nothing to do, 1 a worker hit an unexpected error.
import { accessSync, constants, statSync } from 'node:fs';
import { basename, delimiter, join, resolve } from 'node:path';
import { formatDuration, requireDuration } from '../../duration.js';
import { UsageError } from '../../errors.js';
import { isAgentName, parseAgentName } from '../../identifiers.js';
import type { RunEvent, RunSummary } from '../../runner/events.js';
import { loadBoard } from '../../tasks/guild.js';
import { requireTrusted } from '../../workspace/trust.js';
import { capsOption, type Context } from '../context.js';

export const streams = true;

export interface RunArgs {
  parallel?: number;
  caps?: string;
  maxTasks?: number;
  timeout?: string;
  killAfter?: string;
  watch?: boolean;
  commit?: boolean;
  '--'?: (string | number)[];
}

export async function run(args: RunArgs, ctx: Context): Promise<RunSummary> {
  const argv = (args['--'] ?? []).map(String);
  if (argv.length === 0 || argv[0] === '') throw new UsageError('run needs the agent\'s command after --: guild-fs run -- CMD [ARG...]');
  if (argv.some((arg) => arg.includes('\0'))) throw new UsageError('the command holds a NUL character');
  const parallel = wholeNumber(args.parallel ?? 1, '--parallel', 1, 256);
  const maxTasks = args.maxTasks === undefined ? undefined : wholeNumber(args.maxTasks, '--max-tasks', 1, Number.MAX_SAFE_INTEGER);
  const timeoutMs = args.timeout === undefined ? 0 : requireDuration(last(args.timeout), '--timeout');
  const graceMs = args.killAfter === undefined ? 10_000 : requireDuration(last(args.killAfter), '--kill-after');
  // A command that cannot be found would fail every task on the board, one try after another.
  if (!findProgram(argv[0]!, ctx.cwd)) throw new UsageError(`run: cannot find the command ${JSON.stringify(argv[0])} (not on PATH, or not executable)`, { command: argv[0] }, 'ENOCOMMAND');
  const agent = ctx.agentIfAny() ?? agentFromCommand(argv[0]!);
  parseAgentName(`${agent}-${parallel}`, '--agent (with the worker number after it)');
  const caps = capsOption(args.caps);
  const guild = ctx.guild();
  const board = await loadBoard(guild);
  // The board's commands run in every try (worktree_setup at the claim, verify at the end):
  // refused up front, before anything is claimed, where this clone does not trust them.
  requireTrusted(guild, board.settings, board.text, ['worktree_setup', 'verify'], 'run claimed nothing and started no agent');
  const { loadPromptTemplate } = await import('../../runner/prompt.js');
  const { runTasks } = await import('../../runner/run-tasks.js');
  const template = loadPromptTemplate(guild.repo.mainWorktree);
  const print = ctx.json ? (event: RunEvent) => void process.stdout.write(`${JSON.stringify(event)}\n`) : printPlain;
  const handle = runTasks(guild, {
    argv,
    agent,
    parallel,
    caps,
    maxTasks,
    timeoutMs,
    graceMs,
    watch: args.watch === true,
    commit: args.commit !== false,
    pid: process.pid,
    promptTemplate: template.text,
    promptFrom: template.from,
    onEvent: print,
  });
  // First Ctrl-C: no new claims, running agents finish. Second (or SIGTERM): stop them and give their tasks back.
  let interrupts = 0;
  const onInterrupt = (): void => handle.stop(++interrupts === 1 ? 'finish' : 'now');
  const onTerminate = (): void => handle.stop('now');
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onTerminate);
  try {
    return await handle.done;
  } finally {
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

function wholeNumber(value: unknown, option: string, min: number, max: number): number {
  const n = Array.isArray(value) ? value[value.length - 1] : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw new UsageError(`${option} must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, got ${JSON.stringify(n)}`);
  return n;
}

function last(value: string | string[]): string {
  return Array.isArray(value) ? value[value.length - 1]! : value;
}

function printPlain(event: RunEvent): void {
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  const err = (line: string): void => void process.stderr.write(`${line}\n`);
  switch (event.event) {
    case 'run.started':
      return out(`run: ${event.workers.length} worker${event.workers.length === 1 ? '' : 's'} (${event.workers.join(', ')}): ${event.argv.join(' ')}`);
    case 'task.claimed':
      return out(`${event.worker}  ${event.task} claimed (try ${event.try}): ${event.title}`);
    case 'task.done':
      return out(`${event.worker}  ${event.task} ${event.status === 'review' ? 'in review' : 'done'} in ${formatDuration(event.ms)}`);
    case 'task.failed': {
      // One line: the reason, and the agent's last line of output rather than the lead-in to them.
      const [first, ...output] = event.reason.split('\n');
      const last = output.filter((line) => line.trim() !== '' && line !== 'its last lines:').pop();
      const why = last ? `${first!}: ${last}` : first!;
      return out(`${event.worker}  ${event.task} failed in ${formatDuration(event.ms)}: ${why}${event.poisoned ? ' (moved to Failed)' : ''}`);
    }
    case 'task.released':
      return out(`${event.worker}  ${event.task} stopped and released after ${formatDuration(event.ms)}`);
    case 'run.stopping':
      return err(event.how === 'finish-running' ? 'run: stopping: no new claims; running agents finish (Ctrl-C again stops them)' : 'run: stopping the running agents and releasing their tasks');
    case 'run.waiting':
      return err(`${event.worker}  waiting: ${event.why}`);
    case 'run.note':
      return err(`${event.worker ?? 'run'}  ${event.task ? `${event.task}: ` : ''}${event.message}`);
    case 'worker.error':
      return err(`${event.worker}  stopped by an error${event.task ? ` on ${event.task}` : ''}: ${event.message}`);
    case 'run.summary': {
      if (event.tasks.length === 0) return out(`run: nothing to do (no claimable task)${event.errors ? `; ${event.errors} worker error(s)` : ''}`);
      out(`run: ${event.done} done, ${event.failed} failed${event.released ? `, ${event.released} released` : ''} in ${formatDuration(event.ms)}`);
      for (const task of event.tasks) out(`  ${task.task}  ${task.outcome.padEnd(8)} ${formatDuration(task.ms).padStart(6)}  ${task.worker} (try ${task.try})`);
      return;
    }
  }
}

import { stripTerminalControls } from '../../control-characters.js';
import { formatSize } from '../../runner/resources.js';
import { listRuns, type RunFile } from '../../runner/run-log.js';
import { showTask, type ShowResult } from '../../tasks/queries.js';
import { typedTaskId, type Context } from '../context.js';

/** The task, and the tries `guild-fs run` recorded output for (read here: runner/ sits above tasks/). */
export type ShowWithRuns = ShowResult & { runs: RunFile[] };

export async function run(args: { id: string }, ctx: Context): Promise<ShowWithRuns> {
  const id = await typedTaskId(ctx, args.id);
  // Through a remote: whether another clone holds the task, or finished it (the board may not show it yet).
  const guild = await ctx.seeingGuild();
  const result = await showTask(guild, id, ctx.agentIfAny());
  for (const warning of result.warnings) ctx.notes.push(`warning: ${warning.file}:${warning.line}: ${warning.message}`);
  return { ...result, runs: listRuns(guild.repo.commonDir, id) };
}

export function render(result: ShowWithRuns): string {
  const { task, lock } = result;
  // The task's own lines (those with nothing to say left out), then its body, history and runs.
  const head = [
    `${task.id} ${task.title}`,
    `  status: ${task.status}   prio: ${task.prio}   line: ${task.line}`,
    task.owner ? `  owner: ${task.owner}` : '',
    task.elsewhere ? `  on the remote: ${task.elsewhere === 'done' ? 'finished in another clone (its done marker)' : 'claimed by another clone'}` : '',
    task.needs.length ? `  needs: ${task.needs.join(', ')}` : '',
    task.caps.length ? `  caps: ${task.caps.join(', ')}` : '',
    task.empty === 'ok' ? '  empty:ok (may be done with no change)' : '',
    task.tries ? `  tries: ${task.tries}${task.retry ? `, retry after ${task.retry}` : ''}` : '',
    lock?.state === 'unreadable'
      ? `  lock: ${lock.damaged ? 'DAMAGED' : 'unreadable'}: ${lock.reason}`
      : lock ? `  lock: ${lock.agent ?? '?'} since ${lock.acquired ?? '?'}, heartbeat ${lock.heartbeat ?? '?'}${lock.stale ? ` (stale: ${lock.reason})` : ''}` : '  lock: none',
  ].filter((line) => line !== '');
  const lines = [
    ...head,
    ...(result.body.length ? ['', ...result.body] : []),
    '',
    'history:',
    ...(result.historyTotal > result.history.length ? [`  (${result.historyTotal - result.history.length} earlier events not shown: guild-fs log --task ${task.id})`] : []),
    ...(result.history.length ? result.history.map((event) => `  ${event.ts}  ${event.type.padEnd(16)} ${event.agent}${reasonOf(event)}`) : ['  (no events)']),
    ...(result.runs.length ? ['', `runs (guild-fs output ${result.task.id} --try N):`, ...result.runs.map((run) => `  try ${String(run.try).padEnd(3)} ${formatSize(run.bytes).padStart(6)}  ${run.modified}`)] : []),
  ];
  return lines.join('\n');
}

/** How long a reason's line may be in the history: one event, one line of a terminal or so. */
const REASON_WIDTH = 200;

/**
 * A failure's or a release's reason, its first line (the rest, and the agent's output, are in
 * `--json` and the run's log). Cleaned again: a log edited by hand reaches a terminal here.
 */
function reasonOf(event: { data?: unknown }): string {
  const reason = (event.data as { reason?: unknown } | undefined)?.reason;
  if (typeof reason !== 'string') return '';
  const line = stripTerminalControls(reason.split('\n', 1)[0]!).trim();
  if (line === '') return '';
  return `  ${line.length > REASON_WIDTH ? `${line.slice(0, REASON_WIDTH)}…` : line}`;
}

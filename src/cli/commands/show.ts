import { parseTaskId } from '../../identifiers.js';
import { showTask, type ShowResult } from '../../tasks/queries.js';
import type { Context } from '../context.js';

export async function run(args: { id: string }, ctx: Context): Promise<ShowResult> {
  const result = await showTask(ctx.guild(), parseTaskId(String(args.id)), ctx.agentIfAny());
  for (const warning of result.warnings) ctx.notes.push(`warning: ${warning.file}:${warning.line}: ${warning.message}`);
  return result;
}

export function render(result: ShowResult): string {
  const { task, lock } = result;
  const lines = [
    `${task.id} ${task.title}`,
    `  status: ${task.status}   prio: ${task.prio}   line: ${task.line}`,
    task.owner ? `  owner: ${task.owner}` : '',
    task.needs.length ? `  needs: ${task.needs.join(', ')}` : '',
    task.caps.length ? `  caps: ${task.caps.join(', ')}` : '',
    task.tries ? `  tries: ${task.tries}${task.retry ? `, retry after ${task.retry}` : ''}` : '',
    lock?.state === 'unreadable'
      ? `  lock: ${lock.damaged ? 'DAMAGED' : 'unreadable'}: ${lock.reason}`
      : lock ? `  lock: ${lock.agent ?? '?'} since ${lock.acquired ?? '?'}, heartbeat ${lock.heartbeat ?? '?'}${lock.stale ? ` (stale: ${lock.reason})` : ''}` : '  lock: none',
    ...(result.body.length ? ['', ...result.body] : []),
    '',
    'history:',
    ...(result.historyTotal > result.history.length ? [`  (${result.historyTotal - result.history.length} earlier events not shown: guild-fs log --task ${task.id})`] : []),
    ...(result.history.length ? result.history.map((event) => `  ${event.ts}  ${event.type.padEnd(16)} ${event.agent}`) : ['  (no events)']),
  ];
  return lines.filter((line, i) => line !== '' || i > 5).join('\n');
}

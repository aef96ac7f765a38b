import { healGuild, type HealResult } from '../../health/heal.js';
import type { Context } from '../context.js';
import { table } from '../output.js';

export async function run(_args: unknown, ctx: Context): Promise<HealResult> {
  return healGuild(ctx.guild(), { actor: ctx.agentOr('heal') });
}

export function render(result: HealResult): string {
  const lines: string[] = [];
  if (result.mutexBroken) lines.push('broke the board mutex of a writer that is gone');
  if (result.daemonLockBroken) lines.push('broke the lock of a daemon that is gone');
  if (result.logTailEnded) lines.push('ended the unfinished last line of .guild/audit.jsonl (a write cut short), so that later appends start a line of their own');
  if (result.actions.length === 0 && !result.logTailEnded) lines.push(`nothing to heal (${result.locks} lock${result.locks === 1 ? '' : 's'} checked)`);
  else lines.push(table(result.actions.map((action) => [action.task, action.action, action.agent ?? '', action.reason])));
  if (result.busy.length > 0) lines.push(`left for now (another healer at work): ${result.busy.join(', ')}`);
  if (result.swept.length > 0) lines.push(`swept ${result.swept.length} leftover tombstone${result.swept.length === 1 ? '' : 's'}`);
  return lines.join('\n');
}

export function commitMessage(result: HealResult): string | null {
  return result.actions.length > 0 ? `guild: healed ${result.actions.map((action) => action.task).join(', ')}` : null;
}

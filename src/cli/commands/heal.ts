import { healGuild, type HealResult } from '../../health/heal.js';
import type { RemoteHealResult } from '../../remote/heal-remote.js';
import type { Context } from '../context.js';
import { table } from '../output.js';

export type HealOutput = HealResult & { remote?: RemoteHealResult };

export async function run(_args: unknown, ctx: Context): Promise<HealOutput> {
  const guild = await ctx.claimingGuild();
  const result: HealOutput = await healGuild(guild, { actor: ctx.agentOr('heal') });
  // Through a remote: also the claims other clones left, judged by this clone's clock.
  const remote = guild.settings?.remote ?? null;
  if (remote !== null && !ctx.offline) {
    const { healRemoteClaims } = await import('../../remote/heal-remote.js');
    result.remote = await healRemoteClaims(guild, remote, ctx.agentOr('heal'));
  }
  return result;
}

export function render(result: HealOutput): string {
  const lines: string[] = [];
  if (result.mutexBroken) lines.push('broke the board mutex of a writer that is gone');
  if (result.daemonLockBroken) lines.push('broke the lock of a daemon that is gone');
  if (result.logTailEnded) lines.push('ended the unfinished last line of .guild/audit.jsonl (a write cut short), so that later appends start a line of their own');
  if (result.actions.length === 0 && !result.logTailEnded) lines.push(`nothing to heal (${result.locks} lock${result.locks === 1 ? '' : 's'} checked)`);
  else lines.push(table(result.actions.map((action) => [action.task, action.action, action.agent ?? '', action.reason])));
  if (result.busy.length > 0) lines.push(`left for now (another healer at work): ${result.busy.join(', ')}`);
  if (result.remote) {
    const { remote } = result;
    if (remote.actions.length === 0) lines.push(`${remote.remote}: no stale claims of other clones (${remote.claims} seen)`);
    else lines.push(table(remote.actions.map((action) => [action.task, action.action, remote.remote, action.reason])));
  }
  if (result.swept.length > 0) lines.push(`swept ${result.swept.length} leftover tombstone${result.swept.length === 1 ? '' : 's'}`);
  return lines.join('\n');
}

export function commitMessage(result: HealOutput): string | null {
  const healed = [...result.actions.map((action) => action.task), ...(result.remote?.actions.filter((action) => action.action === 'requeued' || action.action === 'poisoned').map((action) => action.task) ?? [])];
  return healed.length > 0 ? `guild: healed ${healed.join(', ')}` : null;
}

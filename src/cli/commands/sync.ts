import { syncAsItIs, type SyncResult } from '../../history/sync-board.js';
import type { SyncRemoteResult } from '../../remote/sync-remote.js';
import type { Context } from '../context.js';

export interface SyncArgs {
  remote?: boolean;
}

type Synced = SyncResult | SyncRemoteResult;

export async function run(args: SyncArgs, ctx: Context): Promise<Synced> {
  if (args.remote) {
    const { syncRemote } = await import('../../remote/sync-remote.js');
    return syncRemote(ctx.guild(), ctx.agentOr('human'), { asItIs: true, say: (line) => ctx.notes.push(line) });
  }
  return syncAsItIs(ctx.guild(), ctx.agentOr('human'));
}

const isRemote = (result: Synced): result is SyncRemoteResult => 'remote' in result;

export function render(result: Synced): string {
  const entries = Object.entries(result.recorded);
  const recorded = `recorded ${entries.map(([type, n]) => `${n} ${type}`).join(', ')}`;
  if (!isRemote(result)) return entries.length === 0 ? `in sync: the log already explains every task (${result.tasks})` : recorded;
  const lines = [
    `${result.remote}/${result.branch}: ${[
      result.committed ? `committed ${result.committed.slice(0, 12)}` : 'nothing to commit',
      result.merged ? 'merged the remote\'s changes' : 'nothing new on the remote',
      result.pushed ? `pushed${result.attempts > 1 ? ` (${result.attempts} tries)` : ''}` : 'nothing to push',
    ].join(', ')}`,
  ];
  if (entries.length > 0) lines.push(recorded);
  for (const task of result.orphaned ?? []) lines.push(`${task.id} is In Progress${task.owner ? ` (${task.owner})` : ''} but no clone holds its claim: left as it is (release it, or claim it again)`);
  return lines.join('\n');
}

export function commitMessage(result: Synced): string | null {
  // sync --remote made its own commits.
  if (isRemote(result)) return null;
  return Object.keys(result.recorded).length > 0 ? 'guild: hand edits of the board recorded' : null;
}

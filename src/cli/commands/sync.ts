import { syncAsItIs, type SyncResult } from '../../history/sync-board.js';
import type { Context } from '../context.js';

export async function run(_args: unknown, ctx: Context): Promise<SyncResult> {
  return syncAsItIs(ctx.guild(), ctx.agentOr('human'));
}

export function render(result: SyncResult): string {
  const entries = Object.entries(result.recorded);
  if (entries.length === 0) return `in sync: the log already explains every task (${result.tasks})`;
  return `recorded ${entries.map(([type, n]) => `${n} ${type}`).join(', ')}`;
}

export function commitMessage(result: SyncResult): string | null {
  return Object.keys(result.recorded).length > 0 ? 'guild: hand edits of the board recorded' : null;
}

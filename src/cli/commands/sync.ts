import { markLogAsItIs } from '../../log/log-mark.js';
import { syncBoard, type SyncResult } from '../../tasks/sync-board.js';
import type { Context } from '../context.js';

export async function run(_args: unknown, ctx: Context): Promise<SyncResult> {
  const guild = ctx.guild();
  const result = await syncBoard(guild, ctx.agentOr('human'));
  // A person's sync says the board and log are as they mean them to be, even after taking them
  // back with git on purpose: the daemon, waiting for the log to come back, then goes on.
  // (Not in syncBoard: the daemon's own syncs must never decide that.)
  markLogAsItIs(guild.logPath, guild.logMarkPath);
  return result;
}

export function render(result: SyncResult): string {
  const entries = Object.entries(result.recorded);
  if (entries.length === 0) return `in sync: the log already explains every task (${result.tasks})`;
  return `recorded ${entries.map(([type, n]) => `${n} ${type}`).join(', ')}`;
}

export function commitMessage(result: SyncResult): string | null {
  return Object.keys(result.recorded).length > 0 ? 'guild: hand edits of the board recorded' : null;
}

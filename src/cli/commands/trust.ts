import { loadBoard } from '../../tasks/guild.js';
import { revokeTrust, trustBoard, type TrustResult } from '../../workspace/trust.js';
import type { Context } from '../context.js';

export async function run(args: { revoke?: boolean }, ctx: Context): Promise<TrustResult> {
  const guild = ctx.guild();
  if (args.revoke) return revokeTrust(guild);
  // The board as it is now, parsed and validated: exactly what claim and complete would run.
  return trustBoard(guild, await loadBoard(guild));
}

export function render(result: TrustResult): string {
  if (result.revoked) {
    return result.dropped.length === 0 ? 'this clone trusted no command of the board; nothing to revoke' : `revoked: ${result.dropped.join(', ')}; claim and complete run none of the board's commands here until \`guild-fs trust\``;
  }
  const lines: string[] = [];
  if (result.commands.length === 0) lines.push('the board names no command (verify, worktree_setup, agents:): nothing to trust');
  for (const command of result.commands) {
    const was = command.was === 'trusted' ? 'already trusted' : command.was === 'changed' ? `changed, was ${JSON.stringify(command.previous)}` : 'new';
    lines.push(`trusted ${command.key}: ${JSON.stringify(command.argv)} (${was})`);
  }
  if (result.dropped.length > 0) lines.push(`forgotten (no longer on the board): ${result.dropped.join(', ')}`);
  if (result.commands.length > 0) lines.push(`recorded in ${result.file}; a change to ${result.commands.length > 1 ? 'them' : 'it'} must be trusted again`);
  return lines.join('\n');
}

// `guild-fs mcp`: the MCP server on stdio, for agent hosts (mcp/mcp-server.ts). It runs until the
// host closes its stdin. The board is looked for first, so that a host started in the wrong
// folder hears why at once (on stderr, exit 2) instead of from every tool call later.
import { loadBoard } from '../../tasks/guild.js';
import type { Context } from '../context.js';

/** stdout is the protocol's: nothing else is printed there, not even with --json. */
export const streams = true;

export async function run(_args: Record<string, never>, ctx: Context): Promise<{ calls: number }> {
  await loadBoard(ctx.guild());
  // --agent (or GUILD_AGENT) checked now: a bad name is said at start, not at the first claim.
  const agent = ctx.agentIfAny();
  const { serveMcp } = await import('../../mcp/mcp-server.js');
  return serveMcp({ cwd: ctx.cwd, agent, offline: ctx.offline });
}

export function render(): string {
  return '';
}

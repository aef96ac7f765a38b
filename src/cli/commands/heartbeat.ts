import { heartbeatTask, type HeartbeatResult } from '../../tasks/claim-task.js';
import { optionalTaskId, type Context } from '../context.js';
import { taskFromWorktree } from './worktree-task.js';

export async function run(args: { id?: string }, ctx: Context): Promise<HeartbeatResult> {
  return heartbeatTask(await ctx.claimingGuild(), ctx.agent(), (await optionalTaskId(ctx, args.id)) ?? (await taskFromWorktree(ctx)));
}

export function render(result: HeartbeatResult): string {
  return `${result.task}: heartbeat ${result.heartbeat}`;
}

import { releaseTask, type FinishResult } from '../../tasks/finish-task.js';
import { notePendingRemote, optionalTaskId, type Context } from '../context.js';
import { taskFromWorktree } from './worktree-task.js';

export async function run(args: { id?: string }, ctx: Context): Promise<FinishResult> {
  const result = await releaseTask(await ctx.claimingGuild(), ctx.agent(), (await optionalTaskId(ctx, args.id)) ?? (await taskFromWorktree(ctx)));
  notePendingRemote(result, ctx);
  return result;
}

export function render(result: FinishResult): string {
  return `released: ${result.task.id} is ${result.status === 'ready' ? 'Ready' : result.status} again`;
}

export function commitMessage(result: FinishResult): string | null {
  return result.already ? null : `guild: ${result.task.id} released`;
}

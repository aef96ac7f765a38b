import { UsageError } from '../../errors.js';
import { failTask, type FinishResult } from '../../tasks/finish-task.js';
import { notePendingRemote, optionalTaskId, type Context } from '../context.js';
import { taskFromWorktree } from './worktree-task.js';

export async function run(args: { id?: string; reason?: string }, ctx: Context): Promise<FinishResult> {
  if (args.reason === undefined) throw new UsageError('fail needs --reason TEXT: say what went wrong, for whoever tries next');
  const guild = await ctx.claimingGuild();
  const agent = ctx.agent();
  const id = (await optionalTaskId(ctx, args.id)) ?? (await taskFromWorktree(ctx));
  // The try's uncommitted work becomes its commit first, so that the next claimer inherits nothing unseen.
  const { commitFailedTry } = await import('../../workspace/earlier-tries.js');
  const result = await failTask(guild, agent, id, args.reason, await commitFailedTry(guild, agent, id, args.reason));
  notePendingRemote(result, ctx);
  return result;
}

export function render(result: FinishResult): string {
  const line = result.poisoned
    ? `failed for good after ${result.task.tries} tries: ${result.task.id} (moved to Failed)`
    : `failed: ${result.task.id}; back in Ready, claimable again after ${result.retry}`;
  const saved = result.saved;
  if (!saved) return line;
  if (saved.notCommitted) return `${line}\n${saved.files} uncommitted path(s) stay in ${saved.path}: committing them failed (${saved.notCommitted})`;
  if (saved.committed) return `${line}\nuncommitted work (${saved.files} path(s)) committed on ${saved.branch} as ${saved.committed.slice(0, 12)}`;
  return line;
}

export function commitMessage(result: FinishResult): string {
  return `guild: ${result.task.id} failed${result.poisoned ? ' for good' : ''}`;
}

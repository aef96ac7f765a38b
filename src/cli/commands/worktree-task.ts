// Inside a task's worktree the task ID may be left out: the branch (guild/<ID>-...) names it.
import type { Context } from '../context.js';

export async function taskFromWorktree(ctx: Context): Promise<string | undefined> {
  const guild = ctx.guild();
  if (guild.repo.worktree === guild.repo.mainWorktree) return undefined;
  const { taskOfWorktree } = await import('../../workspace/workspace.js');
  return taskOfWorktree(guild);
}

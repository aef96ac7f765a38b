import { UsageError } from '../../errors.js';
import { claimTask, type ClaimResult } from '../../tasks/claim-task.js';
import { capsOption, optionalTaskId, type Context } from '../context.js';

export interface ClaimArgs {
  id?: string;
  caps?: string;
  pid?: number;
  worktree?: boolean;
}

export async function run(args: ClaimArgs, ctx: Context): Promise<ClaimResult> {
  if (args.pid !== undefined && (!Number.isInteger(args.pid) || args.pid <= 0)) throw new UsageError(`--pid must be a process id, got ${args.pid}`);
  // --worktree/--no-worktree is accepted now; worktrees themselves arrive with the git workflow.
  return claimTask(ctx.guild(), { agent: ctx.agent(), id: optionalTaskId(args.id), caps: capsOption(args.caps), pid: args.pid ?? null });
}

export function render(result: ClaimResult): string {
  return `${result.alreadyHeld ? 'already yours' : 'claimed'}: ${result.task.id} ${result.task.title}`;
}

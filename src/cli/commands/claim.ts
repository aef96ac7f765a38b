import { UsageError } from '../../errors.js';
import { claimWorkspace, type ClaimedWorkspace } from '../../workspace/claim-workspace.js';
import type { BranchHistory } from '../../workspace/earlier-tries.js';
import { describeNeeds } from '../../workspace/describe-needs.js';
import { capsOption, optionalTaskId, type Context } from '../context.js';

export interface ClaimArgs {
  id?: string;
  caps?: string;
  pid?: number;
  worktree?: boolean;
}

export type ClaimOutput = ClaimedWorkspace;

export async function run(args: ClaimArgs, ctx: Context): Promise<ClaimOutput> {
  if (args.pid !== undefined && (!Number.isInteger(args.pid) || args.pid <= 0)) throw new UsageError(`--pid must be a process id, got ${args.pid}`);
  const agent = ctx.agent();
  const id = await optionalTaskId(ctx, args.id);
  // Claiming the next task skips those other clones hold (one ls-remote); a claim by ID needs no
  // listing: its create-only push is the answer.
  const guild = id === undefined ? await ctx.seeingGuild() : ctx.guild();
  await ctx.claimingGuild();
  // --worktree (the option's default, and the MCP tool's) is not the runner's "worktrees are on":
  // the front matter decides, unless --no-worktree says none.
  return claimWorkspace(guild, { agent, id, caps: capsOption(args.caps), pid: args.pid ?? null, worktree: args.worktree === false ? false : undefined }, ctx.notes);
}

export function render(result: ClaimOutput): string {
  const line = `${result.alreadyHeld ? 'already yours' : 'claimed'}: ${result.task.id} ${result.task.title}`;
  if (!result.worktree) return line;
  const how = result.worktree.created
    ? result.worktree.reusedBranch ? 'worktree (earlier work on its branch kept)' : 'worktree'
    : result.worktree.history ? 'worktree (the earlier tries\' own, handed on)' : 'worktree (already there)';
  const lines = [`${line}`, `${how}: ${result.worktree.path}`, `branch: ${result.worktree.branch}`];
  // Which needs' branches it starts with, which conflicted, or (re-claim) which it lacks.
  if (result.worktree.needs) lines.push(...describeNeeds(result.task.id!, result.worktree.needs));
  if (result.worktree.history) lines.push(...describeHistory(result.worktree.history));
  return lines.join('\n');
}

export function commitMessage(result: ClaimOutput): string | null {
  return result.alreadyHeld && !result.worktree?.created ? null : `guild: ${result.task.id} claimed by ${result.task.owner}`;
}

/** A branch handed on: how far behind the main branch, and what each earlier try left. */
function describeHistory(history: BranchHistory): string[] {
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const lines = [`${history.branch} is ${plural(history.behind, 'commit')} behind ${history.main} (${history.ahead} ahead)`];
  for (const t of history.tries) {
    const commits = t.commits === null ? 'commits unknown' : plural(t.commits, 'commit');
    const saved = t.committed ? `, its uncommitted work saved as ${t.committed.slice(0, 12)}` : '';
    const reason = t.reason ? `: ${t.reason.trim().split('\n')[0]}` : '';
    lines.push(`  try ${t.try} by ${t.agent ?? 'unknown'}: ${t.ended}${reason} (${commits}${saved})`);
  }
  return lines;
}

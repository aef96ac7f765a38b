import { worktreeSettings } from '../../board/front-matter.js';
import { GuildError, UsageError } from '../../errors.js';
import { claimTask, type ClaimResult } from '../../tasks/claim-task.js';
import { requireSetupTrusted } from '../../workspace/trust.js';
import type { Workspace } from '../../workspace/workspace.js';
import type { BranchHistory } from '../../workspace/earlier-tries.js';
import { describeNeeds } from '../../workspace/describe-needs.js';
import { capsOption, optionalTaskId, type Context } from '../context.js';

export interface ClaimArgs {
  id?: string;
  caps?: string;
  pid?: number;
  worktree?: boolean;
}

export interface ClaimOutput extends ClaimResult {
  /** The task's worktree; null with --no-worktree, `worktrees: false`, or in a repository without a commit. */
  worktree: Workspace | null;
  /** Why no worktree was made, when one would have been. */
  worktreeSkipped?: string;
}

export async function run(args: ClaimArgs, ctx: Context): Promise<ClaimOutput> {
  if (args.pid !== undefined && (!Number.isInteger(args.pid) || args.pid <= 0)) throw new UsageError(`--pid must be a process id, got ${args.pid}`);
  const guild = ctx.guild();
  const agent = ctx.agent();
  // A worktree_setup this clone has not trusted refuses the claim before its lock is taken (trust.ts).
  if (args.worktree !== false) await requireSetupTrusted(guild);
  const claim = await claimTask(guild, { agent, id: optionalTaskId(args.id), caps: capsOption(args.caps), pid: args.pid ?? null });
  // The claim is recorded; the worktree comes after it (see workspace/workspace.ts for why), and
  // its code (and git's) is loaded only now, so --no-worktree claims start no faster or slower.
  if (args.worktree === false || (guild.settings && !worktreeSettings(guild.settings).enabled)) return { ...claim, worktree: null };
  const { ensureWorkspace } = await import('../../workspace/workspace.js');
  let outcome;
  try {
    outcome = await ensureWorkspace(guild, agent, claim.task.id!, ctx.notes, { fresh: !claim.alreadyHeld });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    const wrapped = new GuildError(error instanceof GuildError ? error.code : 'EWORKTREE', error instanceof GuildError ? error.exitCode : 1, `${claim.task.id} is claimed, but its worktree could not be made: ${why}\n(\`guild-fs claim ${claim.task.id}\` again retries it; --no-worktree works without one)`, { task: claim.task.id });
    throw wrapped;
  }
  if (outcome.skipped !== null) {
    ctx.notes.push(`no worktree for ${claim.task.id}: ${outcome.skipped}`);
    return { ...claim, worktree: null, worktreeSkipped: outcome.skipped };
  }
  return { ...claim, task: { ...claim.task, branch: outcome.workspace.branch }, worktree: outcome.workspace };
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

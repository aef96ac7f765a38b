import { UsageError } from '../../errors.js';
import { listAgentWorktrees, pruneWorktrees, type PruneResult, type WorktreeListing } from '../../workspace/prune-worktrees.js';
import { table } from '../output.js';
import type { Context } from '../context.js';

export type WorktreeOutput = ({ action: 'list' } & WorktreeListing) | ({ action: 'prune'; dryRun: boolean } & PruneResult);

export async function run(args: { action?: string; dryRun?: boolean }, ctx: Context): Promise<WorktreeOutput> {
  const guild = ctx.guild();
  const action = args.action ?? 'list';
  if (action === 'list') return { action, ...(await listAgentWorktrees(guild)) };
  if (action === 'prune') return { action, dryRun: Boolean(args.dryRun), ...(await pruneWorktrees(guild, { actor: ctx.agentOr('human'), dryRun: args.dryRun })) };
  throw new UsageError(`worktree ${action}: the actions are list and prune`);
}

export function render(result: WorktreeOutput): string {
  if (result.action === 'list') {
    if (result.worktrees.length === 0) return 'no agent worktrees';
    const rows = [['TASK', 'STATUS', 'OWNER', 'LOCK', `AHEAD/BEHIND ${result.main}`, 'DIRTY', 'MERGED', 'BRANCH', 'PATH']];
    for (const wt of result.worktrees) {
      const lock = wt.claimLock === null ? '-' : (wt.claimLock.agent ?? '(unreadable)');
      // A branch never committed on is "merged" by ancestry only: there is no work of its own.
      const merged = wt.noCommits ? 'no commits' : wt.merged ? 'yes' : 'no';
      rows.push([wt.task, wt.status ?? '(not on board)', wt.owner ?? '-', lock, `+${wt.ahead}/-${wt.behind}`, wt.exists ? String(wt.dirty) : 'gone', merged, wt.branch, wt.path]);
    }
    return table(rows);
  }
  const lines: string[] = [];
  const verb = result.dryRun ? 'would remove' : 'removed';
  for (const r of result.removed) lines.push(`${verb}: ${r.task} ${r.path}${r.branchDeleted ? ` (branch ${r.branch} deleted: merged)` : ''}`);
  for (const k of result.kept) lines.push(`kept: ${k.task} ${k.path}: ${k.reason}`);
  for (const path of result.forgotten) lines.push(`${result.dryRun ? 'would forget' : 'forgot'}: ${path} (its directory was already gone)`);
  return lines.length === 0 ? 'no agent worktrees' : lines.join('\n');
}

export function commitMessage(result: WorktreeOutput): string | null {
  return result.action === 'prune' && !result.dryRun && result.removed.length > 0 ? `guild: ${result.removed.length} merged worktree(s) removed` : null;
}

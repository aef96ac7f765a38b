// doctor's worktrees section: agents' worktrees that disagree with the board. Problems are what
// needs someone to act (a task In Progress whose recorded worktree is gone); warnings are states
// that are allowed but worth a look (a failed task's worktree kept for its next try).
import { sep } from 'node:path';
import { worktreeSettings } from '../board/front-matter.js';
import type { Board } from '../board/types.js';
import { GuildError } from '../errors.js';
import type { Guild } from '../tasks/guild.js';
import { listAgentWorktrees } from '../workspace/prune-worktrees.js';
import { worktreeRoot } from '../workspace/workspace.js';

export interface WorktreeCheck {
  name: 'worktrees';
  ok: boolean;
  problems: { task?: string; message: string }[];
  warnings: string[];
}

export async function checkWorktrees(guild: Guild, board: Board): Promise<WorktreeCheck> {
  const check: WorktreeCheck = { name: 'worktrees', ok: true, problems: [], warnings: [] };
  let listing;
  try {
    listing = await listAgentWorktrees(guild, board);
  } catch (error) {
    if (!(error instanceof GuildError)) throw error;
    check.problems.push({ message: `could not list worktrees: ${error.message}` });
    return check;
  }
  const underGit = rootUnderGit(guild, board);
  if (underGit) check.warnings.push(underGit);
  const byTask = new Map(listing.worktrees.map((wt) => [wt.task, wt]));
  for (const wt of listing.worktrees) {
    if (!wt.exists) {
      check.warnings.push(`${wt.task}: git records a worktree at ${wt.path}, but the directory is gone (\`guild-fs worktree prune\` forgets it)`);
      continue;
    }
    if (wt.status === null) check.warnings.push(`${wt.task}: worktree ${wt.path} belongs to no task on the board`);
    else if (wt.status === 'done' && wt.dirty > 0) check.warnings.push(`${wt.task}: Done, but its worktree has ${wt.dirty} uncommitted file(s); prune keeps it`);
    else if (wt.status === 'done' && !wt.merged) check.warnings.push(`${wt.task}: Done, but ${wt.ahead} commit(s) on ${wt.branch} are not merged into ${listing.main}`);
    else if (wt.status !== 'in-progress' && wt.status !== 'review' && wt.status !== 'done') {
      check.warnings.push(`${wt.task}: worktree kept while the task is ${wt.status} (its next claim reuses it)`);
    }
    if (wt.status === 'in-progress') {
      const recorded = board.byId.get(wt.task)?.branch ?? null;
      // No branch on the board: a claim cut short after making the worktree; its next claim records it.
      if (recorded === null) check.warnings.push(`${wt.task}: worktree ${wt.path} is not recorded on the board yet (\`guild-fs claim ${wt.task}\` by its owner records it)`);
      else if (recorded !== wt.branch) check.warnings.push(`${wt.task}: the board names branch ${recorded}, its worktree is on ${wt.branch}`);
    }
  }
  for (const task of board.tasks) {
    if (task.status !== 'in-progress' || !task.id || !task.branch) continue;
    const wt = byTask.get(task.id);
    if (!wt || !wt.exists) {
      check.problems.push({ task: task.id, message: `${task.id}: In Progress on branch ${task.branch}, but it has no worktree (\`guild-fs claim ${task.id}\` by ${task.owner ?? 'its owner'} makes it again)` });
    }
  }
  check.ok = check.problems.length === 0;
  return check;
}

/** worktree_root under a `.git` folder: allowed, but agent CLIs refuse to write there. */
function rootUnderGit(guild: Guild, board: Board): string | null {
  let root: string;
  try {
    root = worktreeRoot(guild, worktreeSettings(board.settings));
  } catch {
    return null; // A bad worktree_root is the front matter check's to report.
  }
  if (!root.split(sep).includes('.git')) return null;
  return `worktree_root puts worktrees under .git (${root}): agent CLIs such as Claude Code refuse to write there; leave it unset (worktrees go beside the clone) or point it elsewhere`;
}

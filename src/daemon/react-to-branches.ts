// What the daemon does when a branch moves (a commit on a task branch, a merge into main) or a
// task is finished: the same code as `guild-fs worktree prune` and `guild-fs conflicts`.
//   1. pruneWorktrees: a worktree whose task is Done, held by no lock, and whose branch is merged
//      into the main branch is removed (worktree.removed logged); a dirty or unmerged one is
//      kept, and so is one whose task a lock still holds, whatever the board says (a person's
//      tick of a task its agent is working on).
//   2. findConflicts: merges predicted between the active task branches and with main. What it
//      finds goes to the daemon's stderr and daemon.json, said again only when it changes: it
//      is a forecast, not history, so it is not an event of the audit log.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Guild } from '../tasks/guild.js';
import { findConflicts, type PredictedConflict } from '../workspace/find-conflicts.js';
import { pruneWorktrees, type PruneResult } from '../workspace/prune-worktrees.js';

export interface BranchReaction {
  removed: PruneResult['removed'];
  conflicts: PredictedConflict[];
  /** Nothing to look at: no linked worktree and no task branch. */
  skipped: boolean;
}

export async function reactToBranches(guild: Guild, actor: string): Promise<BranchReaction> {
  if (!hasTaskWork(guild)) return { removed: [], conflicts: [], skipped: true };
  const pruned = await pruneWorktrees(guild, { actor });
  // Two merge-trees at a time: the daemon shares the machine with the agents it serves.
  const report = await findConflicts(guild, { concurrency: 2 });
  return { removed: pruned.removed, conflicts: report.conflicts, skipped: false };
}

/** A cheap look before spawning git: a clone without linked worktrees or guild/ branches has nothing to prune or compare. */
function hasTaskWork(guild: Guild): boolean {
  const nonEmpty = (dir: string): boolean => existsSync(dir) && readdirSync(dir).length > 0;
  return nonEmpty(join(guild.repo.commonDir, 'worktrees')) || nonEmpty(join(guild.repo.commonDir, 'refs', 'heads', 'guild')) || existsSync(join(guild.repo.commonDir, 'packed-refs'));
}

/** A stable key for a set of predicted conflicts, to say them again only when they change. */
export function conflictsKey(conflicts: readonly PredictedConflict[]): string {
  return conflicts.map((c) => `${c.a}|${c.b}|${c.files.join(',')}`).sort().join('\n');
}

// The agents' worktrees, and their cleanup. Cleanup never loses work: a worktree is removed only
// when its task is Done, no lock holds the task, its branch is merged into the main branch (its
// head is an ancestor of main's), and it has nothing uncommitted; and then only by `git worktree
// remove` without --force, so git refuses too if anything changed in between. Everything else is
// kept and reported with the reason. `pruneWorktrees` is what the daemon calls as well.
//
// The lock outranks the board: a person may tick `[x]` on a task its agent is still working on,
// and a branch the agent has not committed on yet is "merged" by ancestry alone. Only heal
// removes locks, so while one is there (healthy or not) the worktree is someone's.
import { rmdirSync } from 'node:fs';
import type { Board, Status } from '../board/types.js';
import { taskOfBranch } from '../git/branch-name.js';
import { aheadBehind, branchCreatedAt, deleteMergedBranch, isAncestor, listWorktrees, pruneWorktreeRecords, removeWorktree, worktreeStatus, type WorktreeEntry } from '../git/worktree.js';
import { loadBoard, type Guild } from '../tasks/guild.js';
import { updateBoard } from '../tasks/update-board.js';
import { defaultWorktreeRoot, mainHead } from './workspace.js';

export interface AgentWorktree {
  task: string;
  path: string;
  branch: string;
  /** The task's status on the board; null when the board has no such task. */
  status: Status | null;
  owner: string | null;
  /** The directory is there (false: git still records a worktree whose directory is gone). */
  exists: boolean;
  /** Commits on the branch not in main, and in main not on the branch. */
  ahead: number;
  behind: number;
  /** Uncommitted files (modified, staged, untracked); 0 when the directory is gone. */
  dirty: number;
  /** The branch head is in main's history. */
  merged: boolean;
  /**
   * Never committed on: ahead 0 and its head still the commit it was created at. "Merged" by
   * ancestry, but with no work of its own to have merged.
   */
  noCommits: boolean;
  /** The task's claim lock, when there is one: its agent, or null when its owner.json cannot be read (being taken, or left so by a crash). */
  claimLock: { agent: string | null } | null;
  head: string | null;
  locked: string | null;
}

export interface WorktreeListing {
  main: string;
  worktrees: AgentWorktree[];
}

/** Every worktree on a guild/<ID>-* branch, wherever it is, with what prune and people need to judge it. */
export async function listAgentWorktrees(guild: Guild, board?: Board): Promise<WorktreeListing> {
  board ??= await loadBoard(guild);
  const main = guild.repo.mainWorktree;
  const head = await mainHead(guild);
  const entries = (await listWorktrees(main)).filter((entry): entry is WorktreeEntry & { branch: string } => entry.branch !== null && taskOfBranch(entry.branch) !== null);
  const worktrees = await Promise.all(entries.map(async (entry): Promise<AgentWorktree> => {
    const task = taskOfBranch(entry.branch)!;
    const onBoard = board!.byId.get(task);
    const counts = head.commit === null ? { ahead: 0, behind: 0 } : await aheadBehind(main, head.ref, entry.branch);
    const noCommits = counts.ahead === 0 && entry.head !== null && (await branchCreatedAt(main, entry.branch)) === entry.head;
    return {
      task,
      path: entry.path,
      branch: entry.branch.replace(/^refs\/heads\//, ''),
      status: onBoard?.status ?? null,
      owner: onBoard?.owner ?? null,
      exists: !entry.prunable,
      ahead: counts.ahead,
      behind: counts.behind,
      dirty: entry.prunable ? 0 : (await worktreeStatus(entry.path)).length,
      merged: head.commit !== null && (await isAncestor(main, entry.branch, head.ref)),
      noCommits,
      claimLock: claimLockOf(guild, task),
      head: entry.head,
      locked: entry.locked,
    };
  }));
  worktrees.sort((a, b) => a.task.localeCompare(b.task, 'en', { numeric: true }));
  return { main: head.ref.replace(/^refs\/heads\//, ''), worktrees };
}

export interface PruneResult {
  removed: { task: string; path: string; branch: string; head: string | null; branchDeleted: boolean }[];
  kept: { task: string; path: string; branch: string; reason: string }[];
  /** Records of worktrees whose directory was already gone, forgotten (`git worktree prune`). */
  forgotten: string[];
}

export async function pruneWorktrees(guild: Guild, options: { actor: string; dryRun?: boolean }): Promise<PruneResult> {
  const listing = await listAgentWorktrees(guild);
  const result: PruneResult = { removed: [], kept: [], forgotten: [] };
  const main = guild.repo.mainWorktree;
  for (const wt of listing.worktrees) {
    if (!wt.exists) {
      result.forgotten.push(wt.path);
      continue;
    }
    const reason = keepReason(wt, listing.main);
    if (reason) {
      result.kept.push({ task: wt.task, path: wt.path, branch: wt.branch, reason });
      continue;
    }
    if (options.dryRun) {
      result.removed.push({ task: wt.task, path: wt.path, branch: wt.branch, head: wt.head, branchDeleted: false });
      continue;
    }
    // Looked at again just before the removal: a claim may have come since the listing.
    const held = heldReason(claimLockOf(guild, wt.task));
    if (held) {
      result.kept.push({ task: wt.task, path: wt.path, branch: wt.branch, reason: held });
      continue;
    }
    const removal = await removeWorktree(main, wt.path);
    if (!removal.removed) {
      result.kept.push({ task: wt.task, path: wt.path, branch: wt.branch, reason: `git refused to remove it: ${removal.reason}` });
      continue;
    }
    // Merged, so `branch -d` (which itself refuses an unmerged branch) loses nothing. A claim
    // taken during the removal makes its worktree from this branch: then the branch stays.
    const branchDeleted = claimLockOf(guild, wt.task) === null && (await deleteMergedBranch(main, wt.branch));
    result.removed.push({ task: wt.task, path: wt.path, branch: wt.branch, head: wt.head, branchDeleted });
  }
  if (!options.dryRun && result.forgotten.length > 0) await pruneWorktreeRecords(main);
  if (!options.dryRun && result.removed.length > 0) {
    removeIfEmpty(defaultWorktreeRoot(guild));
    await updateBoard(guild, options.actor, `log ${result.removed.length} removed worktree(s)`, (tx) => {
      for (const removed of result.removed) tx.emit('worktree.removed', removed.task, { branch: removed.branch, head: removed.head, branchDeleted: removed.branchDeleted });
    });
  }
  return result;
}

/**
 * The default folder beside the clone (never a worktree_root a person chose), once its last
 * worktree is gone: nothing of a person's is in an empty folder, and one left behind is clutter
 * beside their clone. rmdir removes only an empty directory, so a worktree made meanwhile (or
 * anyone's file) keeps it.
 */
function removeIfEmpty(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // Not empty, not there, or not ours to remove: all fine.
  }
}

/** Any lock counts, healthy or stale, readable or not: deciding which ones are dead is heal's job. */
function claimLockOf(guild: Guild, task: string): AgentWorktree['claimLock'] {
  const read = guild.locks.read(task);
  if (read.state === 'free') return null;
  return { agent: read.state === 'held' ? read.owner.agent : null };
}

function heldReason(lock: AgentWorktree['claimLock']): string | null {
  if (lock === null) return null;
  return lock.agent === null ? 'held by a lock whose owner cannot be read (a claim being taken, or cut short: heal judges it)' : `held by ${lock.agent}'s lock`;
}

function keepReason(wt: AgentWorktree, main: string): string | null {
  const held = heldReason(wt.claimLock);
  if (held) return held;
  if (wt.status !== 'done') return wt.status === null ? 'its task is not on the board' : `its task is ${wt.status}, not done`;
  if (!wt.merged) return `its branch has ${wt.ahead} commit(s) not merged into ${main}`;
  if (wt.dirty > 0) return `${wt.dirty} uncommitted file(s)`;
  if (wt.locked !== null) return `locked by git worktree lock${wt.locked ? `: ${wt.locked}` : ''}`;
  return null;
}

// Work that builds on work: a task whose needs are Done but whose branches are not merged into
// the main branch yet would start from a main branch without the code it needs. Its new branch
// starts instead at a merge of main with each of those branches (issue 12, item 3).
//
// How, and why this way: each merge is computed with `git merge-tree --write-tree` and recorded
// with `git commit-tree` (git/merge-commit.ts), and only the finished commit is handed to
// `git worktree add -b`. Nothing is checked out until the start is decided, so
//   - a conflict leaves nothing to abort: the branch simply starts from main alone;
//   - a process killed half-way leaves at most unreferenced objects (gc's), never a worktree in
//     the middle of a merge that the next `claim` would reuse as the agent's work;
//   - no hook of the user's runs for a commit nobody made by hand, and none is skipped either:
//     the agent's own commits in the worktree run every hook as always.
// The other way (worktree at main, then `git merge --no-ff` inside it) would run merge hooks,
// need `merge --abort` on a conflict, and leave MERGE_HEAD behind when killed.
//
// Each need is merged in its own two-parent commit (ours: what is merged so far), in the order
// of the task's needs: ordinary merges, as `git merge` would make them, which `land`, `revert -m 1`
// and `rebase --rebase-merges` handle, unlike one octopus commit.
import type { Board, Task } from '../board/types.js';
import { GitError } from '../errors.js';
import { mergeCommit } from '../git/merge-commit.js';
import { headsNotMergedInto } from '../git/unmerged-heads.js';
import { isAncestor } from '../git/worktree.js';
import { isBranchName } from '../identifiers.js';

export interface NeedBranch {
  task: string;
  branch: string;
  /** The branch's head when it was looked at. */
  commit: string;
}

export interface NeedConflict extends NeedBranch {
  /** Files that conflict with main and the needs merged before this one. */
  files: string[];
}

export interface NeedsStart {
  /** Needs' branches whose work the new branch starts with, in the order of the task's needs. */
  merged: NeedBranch[];
  /** Needs' branches that did not merge cleanly: when there are any, the branch starts from main alone. */
  conflicts: NeedConflict[];
  /** A reused branch (a re-claim): needs' branches with work it lacks. Never merged in then: the branch holds earlier tries' work. */
  missing: NeedBranch[];
  /** Why the merges could not be made at all (git refused: no identity for the commit...); the branch starts from main alone. */
  error?: string;
}

export const NO_NEEDS: NeedsStart = { merged: [], conflicts: [], missing: [] };

/**
 * The task's needs whose work is on a branch and not in `mainCommit`: Done on the board, with a
 * `branch:` field naming a branch that exists, whose head main's history does not hold. A need
 * claimed with --no-worktree (no branch) or already merged is not one. No git call when no need
 * has a branch, one otherwise.
 */
export async function pendingNeeds(cwd: string, board: Pick<Board, 'byId'>, task: Task, mainCommit: string): Promise<NeedBranch[]> {
  const candidates: { task: string; branch: string }[] = [];
  for (const id of task.needs) {
    const need = board.byId.get(id);
    if (!need || id === task.id || need.status !== 'done' || !need.branch || !isBranchName(need.branch)) continue;
    if (!candidates.some((other) => other.branch === need.branch)) candidates.push({ task: id, branch: need.branch });
  }
  if (candidates.length === 0) return [];
  const heads = await headsNotMergedInto(cwd, candidates.map((need) => need.branch), mainCommit);
  return candidates.flatMap((need) => {
    const commit = heads.get(need.branch);
    return commit === undefined ? [] : [{ ...need, commit }];
  });
}

/**
 * The commit a new branch for `id` starts at: `main` with every need's branch merged in, or
 * `main` itself when there is none, when any conflicts (all or nothing: an agent given half of
 * what it needs would build on a guess), or when git cannot make the commits.
 */
export async function startFromNeeds(cwd: string, id: string, main: { ref: string; commit: string }, needs: readonly NeedBranch[]): Promise<{ start: string; needs: NeedsStart }> {
  if (needs.length === 0) return { start: main.commit, needs: NO_NEEDS };
  const mainName = main.ref.replace(/^refs\/heads\//, '');
  const all = needs.map((need) => need.task).join(', ');
  let head = main.commit;
  const merged: NeedBranch[] = [];
  const conflicts: NeedConflict[] = [];
  try {
    for (const need of needs) {
      // Already in what is merged so far, or in another need's branch (one built on this one's
      // work, which its own claim merged in): its work comes with that one, and a merge of it
      // alone would only add a commit.
      if ((await isAncestor(cwd, need.commit, head)) || (await containedInAnother(cwd, need, needs))) {
        merged.push(need);
        continue;
      }
      const message = `guild: ${id} starts from the work of ${need.task} (${need.branch})\n\n${id} needs ${all}: Done, not yet merged into ${mainName}.\nMerged in when ${id}'s worktree was made, so that it builds on that work.\n`;
      const result = await mergeCommit(cwd, head, need.commit, message);
      // A conflicting need is left out of what the next ones are merged with, so that every
      // conflict is found and named, not only the first.
      if (!result.clean) conflicts.push({ ...need, files: result.files });
      else {
        head = result.commit;
        merged.push(need);
      }
    }
  } catch (error) {
    if (!(error instanceof GitError)) throw error;
    // git's own reason (its fatal: line), not the whole command with the commit message in it.
    const stderr = typeof error.data.stderr === 'string' ? error.data.stderr : '';
    const reason = stderr.split('\n').find((line) => /^(fatal|error):/.test(line)) ?? error.message.split('\n')[0]!;
    const args = Array.isArray(error.data.args) ? error.data.args : [];
    return { start: main.commit, needs: { ...NO_NEEDS, error: `git ${args[0] ?? ''}: ${reason}` } };
  }
  if (conflicts.length > 0) return { start: main.commit, needs: { merged: [], conflicts, missing: [] } };
  return { start: head, needs: { merged, conflicts: [], missing: [] } };
}

async function containedInAnother(cwd: string, need: NeedBranch, needs: readonly NeedBranch[]): Promise<boolean> {
  for (const other of needs) if (other.commit !== need.commit && (await isAncestor(cwd, need.commit, other.commit))) return true;
  return false;
}

/** A reused branch: the needs' branches (pending for main) whose heads it does not hold. */
export async function needsMissingFrom(cwd: string, branchHead: string, needs: readonly NeedBranch[]): Promise<NeedsStart> {
  const missing: NeedBranch[] = [];
  for (const need of needs) if (!(await isAncestor(cwd, need.commit, branchHead))) missing.push(need);
  return missing.length === 0 ? NO_NEEDS : { ...NO_NEEDS, missing };
}

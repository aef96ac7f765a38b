// Predicted merge conflicts between the active task branches (tasks In Progress or in Review, and
// Done tasks whose branch is not merged into the main branch yet: their merge is still to come,
// and it conflicts as much as any other), pairwise, and between each and the main branch. `git merge-tree --write-tree` merges in memory
// and writes only objects: no checkout, index or worktree is touched, so it is safe to run while
// agents work. `findConflicts` is what the daemon calls as well.
import type { Status } from '../board/types.js';
import { BRANCH_PREFIX, taskOfBranch } from '../git/branch-name.js';
import { predictMerge } from '../git/merge-tree.js';
import { branchHeadsUnder, branchesNotMergedInto } from '../git/worktree.js';
import { loadBoard, type Guild } from '../tasks/guild.js';
import { mainHead } from './workspace.js';

const ACTIVE: readonly Status[] = ['in-progress', 'review'];

export interface ActiveBranch {
  task: string;
  branch: string;
  head: string;
  /** The task's status; `done` here means done but not merged yet. */
  status: Status;
}

export interface PredictedConflict {
  /** A task branch, or the main branch. */
  a: string;
  b: string;
  tasks: string[];
  files: string[];
}

export interface ConflictReport {
  main: string;
  branches: ActiveBranch[];
  /** How many merges were predicted. */
  pairs: number;
  conflicts: PredictedConflict[];
}

export async function findConflicts(guild: Guild, options: { concurrency?: number } = {}): Promise<ConflictReport> {
  const board = await loadBoard(guild);
  const cwd = guild.repo.mainWorktree;
  const head = await mainHead(guild);
  const main = head.ref.replace(/^refs\/heads\//, '');
  const branches: ActiveBranch[] = [];
  const heads = await branchHeadsUnder(cwd, BRANCH_PREFIX);
  const statusOf = (name: string): Status | undefined => board.byId.get(taskOfBranch(name) ?? '')?.status;
  // One more git call, and only when some Done task has a branch: which of them main lacks.
  const unmerged = head.commit !== null && heads.some(({ name }) => statusOf(name) === 'done') ? await branchesNotMergedInto(cwd, BRANCH_PREFIX, head.commit) : new Set<string>();
  for (const { name, commit } of heads) {
    const task = taskOfBranch(name);
    const status = statusOf(name);
    if (!task || !status) continue;
    if (ACTIVE.includes(status) || (status === 'done' && unmerged.has(name))) branches.push({ task, branch: name, head: commit, status });
  }
  const jobs: { a: string; b: string; tasks: string[]; ours: string; theirs: string }[] = [];
  if (head.commit !== null) for (const branch of branches) jobs.push({ a: main, b: branch.branch, tasks: [branch.task], ours: head.commit, theirs: branch.head });
  for (let i = 0; i < branches.length; i++) {
    for (let j = i + 1; j < branches.length; j++) {
      const [x, y] = [branches[i]!, branches[j]!];
      jobs.push({ a: x.branch, b: y.branch, tasks: [x.task, y.task], ours: x.head, theirs: y.head });
    }
  }
  const found: (PredictedConflict | null)[] = new Array(jobs.length).fill(null);
  let next = 0;
  // A few merge-trees at once: each is one short git process, mostly waiting on its own start-up.
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const k = next++;
      const job = jobs[k]!;
      if (job.ours === job.theirs) continue;
      const prediction = await predictMerge(cwd, job.ours, job.theirs);
      if (!prediction.clean) found[k] = { a: job.a, b: job.b, tasks: job.tasks, files: prediction.files };
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  return { main, branches, pairs: jobs.length, conflicts: found.filter((c): c is PredictedConflict => c !== null) };
}

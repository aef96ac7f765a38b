// Before `complete` records anything, the work in the task's worktree is checked: nothing may be
// left uncommitted (it would be lost to whoever merges the branch, and to `worktree prune`),
// unless --commit-all commits it first; then the board's `verify` command must pass there. Both
// run before the board mutex is taken: they may take minutes, and the mutex is everyone's.
// `verify` runs only where this clone trusts it (trust.ts).
import { worktreeSettings } from '../board/front-matter.js';
import { DirtyWorktreeError, GitError, VerifyFailedError } from '../errors.js';
import { gitLine } from '../git/git.js';
import { isLinkedWorktreeOf } from '../git/find-repo.js';
import { commitEverything, listWorktrees, worktreeState, worktreeStatus, type WorktreeState } from '../git/worktree.js';
import { runBoardCommand, type CommandRun } from './board-command.js';
import { resolveOwnTask } from '../tasks/claim-task.js';
import { loadBoard, type Guild } from '../tasks/guild.js';
import { requireTrusted } from './trust.js';
import { worktreeOfTask } from './workspace.js';

export interface CheckedWork {
  branch: string;
  /** The branch head that was checked: recorded in task.completed. */
  head: string;
  path: string;
  /** The commit --commit-all made, if it made one. */
  committed: string | null;
  verify: CommandRun | null;
}

export interface CheckWorkOptions {
  commitAll?: string;
  signal?: AbortSignal;
  /**
   * Where the caller made the task's worktree (the runner, which claimed it): looked at first,
   * so that a worktree still there on the task's branch needs no `git worktree list`.
   */
  worktree?: string;
}

export async function checkWork(guild: Guild, agent: string, id: string | undefined, options: CheckWorkOptions): Promise<CheckedWork | null> {
  const board = await loadBoard(guild);
  const task = resolveOwnTask(board, agent, id);
  // Only the holder's in-progress task is checked; every other case is completeTask's to judge
  // (a second complete, another agent's task), and nothing is committed or run for it.
  if (task.status !== 'in-progress' || task.owner !== agent) return null;
  // No branch on the board: claimed without a worktree, and nothing to check (or spawn git for).
  if (task.branch === null) return null;
  const settings = worktreeSettings(board.settings);
  const known = options.worktree === undefined ? null : await stateAt(options.worktree, guild.repo.commonDir, task.branch);
  const entry = known ? { path: options.worktree!, branch: `refs/heads/${known.branch}` } : worktreeOfTask(await listWorktrees(guild.repo.mainWorktree), task);
  if (!entry || ('prunable' in entry && entry.prunable) || entry.branch === null) return null;
  // Before anything is committed or run: a verify this clone has not trusted refuses the whole
  // complete (exit 2), so that a board someone pushed never runs a program here unasked.
  if (settings.verify) requireTrusted(guild, board.settings, board.text, ['verify'], 'complete ran nothing and recorded nothing');
  const path = entry.path;
  let committed: string | null = null;
  const dirty = known?.changes ?? (await worktreeStatus(path));
  if (dirty.length > 0) {
    if (options.commitAll === undefined) {
      const shown = dirty.slice(0, 20).map((entry) => `  ${entry.code} ${entry.path}`);
      if (dirty.length > 20) shown.push(`  ... and ${dirty.length - 20} more`);
      throw new DirtyWorktreeError(`${task.id}'s worktree ${path} has uncommitted changes; commit them, or pass --commit-all "message":\n${shown.join('\n')}`, {
        task: task.id,
        path,
        files: dirty.map((entry) => ({ status: entry.code, path: entry.path })),
      });
    }
    committed = await commitEverything(path, options.commitAll.trim() === '' ? `${task.id}: ${task.title}` : options.commitAll);
  }
  let verify: CommandRun | null = null;
  if (settings.verify) {
    // `signal`: the runner's second Ctrl-C stops a verify under way with the agents.
    verify = await runBoardCommand(settings.verify, path, undefined, options.signal);
    if (!verify.ok) {
      throw new VerifyFailedError(`verify (${settings.verify.join(' ')}) failed in ${path} with ${verify.exitCode === null ? `signal ${verify.signal}` : `exit ${verify.exitCode}`}; ${task.id} stays In Progress:\n${verify.tail}`, {
        task: task.id,
        path,
        argv: settings.verify,
        exitCode: verify.exitCode,
        signal: verify.signal,
        output: verify.tail,
      });
    }
  }
  // Nothing committed and nothing run since the status: the head it read is the head now.
  const head = committed === null && verify === null && known?.head ? known.head : await gitLine(['rev-parse', 'HEAD'], { cwd: path, readOnly: true });
  return { branch: entry.branch.replace(/^refs\/heads\//, ''), head, path, committed, verify };
}

/**
 * The worktree at `path`, when it is still one of this clone's, with the task's branch checked
 * out: then it is the entry `worktree list` would give for the task (a branch is checked out in
 * one worktree at most), and its status, head and branch come from one git process. Null
 * otherwise (moved, removed, switched to another branch): the caller asks `worktree list`.
 */
async function stateAt(path: string, commonDir: string, branch: string): Promise<(WorktreeState & { branch: string }) | null> {
  if (!isLinkedWorktreeOf(path, commonDir)) return null;
  let state: WorktreeState;
  try {
    state = await worktreeState(path);
  } catch (error) {
    if (error instanceof GitError) return null;
    throw error;
  }
  return state.branch === branch ? { ...state, branch } : null;
}

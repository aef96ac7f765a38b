// Before `complete` records anything, the work in the task's worktree is checked: nothing may be
// left uncommitted (it would be lost to whoever merges the branch, and to `worktree prune`),
// unless --commit-all commits it first; then the board's `verify` command must pass there. Both
// run before the board mutex is taken: they may take minutes, and the mutex is everyone's.
// `verify` runs only where this clone trusts it (trust.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { worktreeSettings } from '../board/front-matter.js';
import type { Board, Task } from '../board/types.js';
import { DirtyWorktreeError, GitError, VerifyFailedError } from '../errors.js';
import { gitLine } from '../git/git.js';
import { isLinkedWorktreeOf } from '../git/find-repo.js';
import { commitEverything, listWorktrees, worktreeState, worktreeStatus, type WorktreeState } from '../git/worktree.js';
import { runBoardCommand, type CommandRun } from './board-command.js';
import { resolveOwnTask } from '../tasks/claim-task.js';
import { loadBoard, type Guild } from '../tasks/guild.js';
import { requireTrusted } from './trust.js';
import { oldWorktreeRoot, worktreeOfTask, worktreeRoot } from './workspace.js';

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
  /**
   * The worktree and branch the caller's claim made and handed its agent (the runner). The work
   * is then checked there whatever the board shows for a moment (a person's older buffer saved
   * over it may lack the claim or its branch), and a worktree no longer there on that branch is
   * an error, never "nothing to check": a task does not go Done with its work left uncommitted.
   * `state`: the worktree's status the caller read there after its agent exited, when it has it.
   */
  claimed?: { path: string; branch: string; state?: WorktreeState };
}

export async function checkWork(guild: Guild, agent: string, id: string | undefined, options: CheckWorkOptions): Promise<CheckedWork | null> {
  const board = await loadBoard(guild);
  const task = resolveOwnTask(board, agent, id);
  if (options.claimed) return checkClaimed(guild, board, task, { ...options, claimed: options.claimed });
  // Only the holder's task is checked; every other case is completeTask's to judge (a second
  // complete, another agent's task), and nothing is committed or run for it. The holder is the
  // board's in-progress owner, or the lock's agent: a person's save from an older buffer may show
  // the task without its claim for a moment, and completeTask may read the board after it.
  const lock = guild.locks.read(task.id!);
  const held = (task.status === 'in-progress' && task.owner === agent) || (lock.state === 'held' && lock.owner.agent === agent);
  if (!held) return null;
  // No branch on the board: claimed without a worktree, and nothing to check (or spawn git for),
  // unless the task's worktree is where claims make it (the branch missing from a momentary board).
  if (task.branch === null && !madeWhereClaimsMakeThem(guild, board, task.id!)) return null;
  const known = options.worktree === undefined || task.branch === null ? null : await stateAt(options.worktree, guild.repo.commonDir, task.branch);
  const entry = known ? { path: options.worktree!, branch: `refs/heads/${known.branch}` } : worktreeOfTask(await listWorktrees(guild.repo.mainWorktree), task);
  if (!entry || ('prunable' in entry && entry.prunable) || entry.branch === null) return null;
  return checkAt(guild, board, task, { path: entry.path, branch: entry.branch.replace(/^refs\/heads\//, ''), known }, options);
}

/** The task has a directory where claims make worktrees now, or where they made them before. */
function madeWhereClaimsMakeThem(guild: Guild, board: Board, id: string): boolean {
  return existsSync(join(worktreeRoot(guild, worktreeSettings(board.settings)), id)) || existsSync(join(oldWorktreeRoot(guild), id));
}

/** The runner's complete: in the worktree its claim made, on that branch, or an error. */
async function checkClaimed(guild: Guild, board: Board, task: Task, options: CheckWorkOptions & { claimed: { path: string; branch: string } }): Promise<CheckedWork> {
  const { path, branch, state } = options.claimed;
  const known = await stateAt(path, guild.repo.commonDir, branch, state);
  if (!known) {
    throw new GitError(`${task.id}'s worktree ${path} is no longer a worktree of this clone with ${branch} checked out; its work cannot be checked, so ${task.id} is not completed`, { task: task.id, path, branch });
  }
  return checkAt(guild, board, task, { path, branch, known }, options);
}

/** Commits what was left (with commitAll), runs verify, and reads the head: the work at `where`. */
async function checkAt(guild: Guild, board: Board, task: Task, where: { path: string; branch: string; known: (WorktreeState & { branch: string }) | null }, options: CheckWorkOptions): Promise<CheckedWork> {
  const settings = worktreeSettings(board.settings);
  const { path, known } = where;
  // Before anything is committed or run: a verify this clone has not trusted refuses the whole
  // complete (exit 2), so that a board someone pushed never runs a program here unasked.
  if (settings.verify) requireTrusted(guild, board.settings, board.text, ['verify'], 'complete ran nothing and recorded nothing');
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
  // Nothing run since: the head is the commit just made, or, with nothing committed, the one the
  // status read. (A verify may commit: then git is asked.)
  const unchanged = verify === null ? (committed ?? known?.head ?? null) : null;
  const head = unchanged ?? (await gitLine(['rev-parse', 'HEAD'], { cwd: path, readOnly: true }));
  return { branch: where.branch, head, path, committed, verify };
}

/**
 * The worktree at `path`, when it is still one of this clone's, with the task's branch checked
 * out: then it is the entry `worktree list` would give for the task (a branch is checked out in
 * one worktree at most), and its status, head and branch come from one git process (none when
 * the caller read it already: `read`). Null
 * otherwise (moved, removed, switched to another branch): the caller asks `worktree list`.
 */
async function stateAt(path: string, commonDir: string, branch: string, read?: WorktreeState): Promise<(WorktreeState & { branch: string }) | null> {
  if (!isLinkedWorktreeOf(path, commonDir)) return null;
  let state: WorktreeState;
  try {
    state = read ?? (await worktreeState(path));
  } catch (error) {
    if (error instanceof GitError) return null;
    throw error;
  }
  return state.branch === branch ? { ...state, branch } : null;
}

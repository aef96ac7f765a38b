// A try that did nothing is not a completion (SPEC 8): agent CLIs exit 0 when they give up, or when
// every write they tried was refused. So the runner looks at the agent's directory just before the
// spawn and again after an exit 0: the same branch head and the same uncommitted files (each with
// the same size, time and inode) means the agent made no change, and the try fails with that reason.
//
// What counts is what the runner's own commit of uncommitted work would take (`git add -A`: tracked
// changes and untracked files, never ignored ones; git/worktree.ts worktreeState), measured against
// the start of the try rather than against the branch: whatever guild-fs itself left in the
// worktree before the agent began (worktree_copy files, a node_modules link made by
// worktree_setup) is not this try's work unless the agent changed it. An earlier try's leftovers
// are no question here: the claim commits them on the branch before the try begins.
//
// The interface:
//   emptyAllowed({ task, worker, run })  true when the task (`empty:ok`), the worker's profile
//                                        (`allow_empty: true`) or the run (`--allow-empty`) says
//                                        a try may change nothing: then no look is taken at all
//   startOfTry(dir, { ignore })          the head and the uncommitted files, before the spawn
//                                        (ignore: ownFiles(guild) in a run on the main checkout)
//   lookAfterTry(dir, start)             after exit 0: whether nothing differs from the start, and
//                                        the git status it read (the complete that follows checks
//                                        the work from it instead of asking git again)
import { lstatSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Task } from '../board/types.js';
import { GitError } from '../errors.js';
import { worktreeState, type WorktreeState } from '../git/worktree.js';
import type { Guild } from '../tasks/guild.js';

/** The first line of the failure reason (and the failed try's commit subject, when it has one). */
export const NO_CHANGE = 'the agent made no change';

export interface TryStart {
  head: string | null;
  /** Each uncommitted path (not ignored) with its status letters and what lstat says of it. */
  files: Map<string, string>;
  /** Paths that never count: the board and the log, in a run on the main checkout (guild-fs writes them there itself). */
  ignore: ReadonlySet<string>;
}

export function emptyAllowed(by: { task: Pick<Task, 'empty'> | undefined; worker: boolean | undefined; run: boolean | undefined }): boolean {
  return by.task?.empty === 'ok' || by.worker === true || by.run === true;
}

/** Null when git cannot read the directory now: then no look is taken, and the complete after an exit 0 meets the same error. */
export async function startOfTry(dir: string, options: { ignore: readonly string[] }): Promise<TryStart | null> {
  const ignore = new Set(options.ignore);
  try {
    const state = await worktreeState(dir);
    return { head: state.head, files: fingerprints(dir, state.changes, ignore), ignore };
  } catch (error) {
    if (error instanceof GitError) return null;
    throw error;
  }
}

/** What guild-fs writes in the main checkout itself, relative to it: in a run without worktrees, never the agent's change. */
export function ownFiles(guild: Pick<Guild, 'repo' | 'boardPath' | 'logPath'>): string[] {
  return [guild.boardPath, guild.logPath].map((path) => relative(guild.repo.mainWorktree, path).split(sep).join('/'));
}

/**
 * After an exit 0: `madeNoChange` when the head is where it was and every uncommitted file is as
 * it was; `state`, the status read for it. A directory git can no longer read is not "no change"
 * (state null): the complete that follows says what is wrong with it.
 */
export async function lookAfterTry(dir: string, start: TryStart): Promise<{ madeNoChange: boolean; state: WorktreeState | null }> {
  let state;
  try {
    state = await worktreeState(dir);
  } catch (error) {
    if (error instanceof GitError) return { madeNoChange: false, state: null };
    throw error;
  }
  return { madeNoChange: sameAsAtStart(dir, start, state), state };
}

function sameAsAtStart(dir: string, start: TryStart, state: WorktreeState): boolean {
  if (state.head !== start.head) return false;
  const now = fingerprints(dir, state.changes, start.ignore);
  if (now.size !== start.files.size) return false;
  for (const [path, print] of now) if (start.files.get(path) !== print) return false;
  return true;
}

/** The failure reason: what was looked at, then the agent's last lines (often why it gave up). */
export function noChangeReason(where: { branch: string | null }, tail: readonly string[]): string {
  const looked = where.branch ? `no commit on ${where.branch} since the try began, nothing uncommitted` : 'no commit since the try began, nothing uncommitted';
  const lines = tail.length > 0 ? `\n\nits last lines:\n${tail.join('\n')}` : '';
  return `${NO_CHANGE} (it exited 0; ${looked})\n\nA task that needs no change says so with empty:ok on its line.${lines}`;
}

function fingerprints(dir: string, changes: readonly { code: string; path: string }[], ignore: ReadonlySet<string>): Map<string, string> {
  const files = new Map<string, string>();
  for (const { code, path } of changes) {
    if (ignore.has(path)) continue;
    // lstat: a symlink is judged as the link git sees, not as what it points to.
    const stat = lstatSync(join(dir, path), { throwIfNoEntry: false, bigint: true });
    files.set(path, stat ? `${code} ${stat.mode} ${stat.size} ${stat.mtimeNs} ${stat.ino}` : `${code} gone`);
  }
  return files;
}

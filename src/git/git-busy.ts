// Whether git is in the middle of something in the main worktree. A merge, rebase, cherry-pick
// or revert stops with the board and the log as some commit had them, and a stash or checkout
// rewrites them under index.lock: a reaction then would judge a board and log that git is about
// to replace, and an append would make git refuse to go on ("local changes would be
// overwritten"). The daemon waits while any of these is there.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RepoPaths } from './find-repo.js';

/** What git leaves in a worktree's git dir while an operation is under way. */
const UNDER_WAY = ['index.lock', 'MERGE_HEAD', 'rebase-merge', 'rebase-apply', 'CHERRY_PICK_HEAD', 'REVERT_HEAD'] as const;

/**
 * The first sign of a git operation under way in the main worktree (where the board and log that
 * count live), or null. Its git dir is the common dir, wherever the caller runs.
 */
export function gitOperationUnderWay(repo: RepoPaths, exists: (path: string) => boolean = existsSync): string | null {
  return UNDER_WAY.find((name) => exists(join(repo.commonDir, name))) ?? null;
}

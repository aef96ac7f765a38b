// Finding the repository without spawning git: a claim must cost little more than starting
// node, and `git rev-parse` alone would be a tenth of that. Reads .git (a directory in the main
// worktree, a "gitdir:" file in linked worktrees) and the commondir file, as git itself does.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';

export interface RepoPaths {
  /** The worktree the command runs in. */
  worktree: string;
  /** git rev-parse --git-common-dir: shared by every worktree of the clone. */
  commonDir: string;
  /** The main worktree: where the board and the log that count live. */
  mainWorktree: string;
  /** This worktree's own git dir (its HEAD, its index): the common dir in the main worktree. */
  gitDir: string;
}

export function findRepo(cwd: string): RepoPaths {
  let dir = resolve(cwd);
  for (;;) {
    const dotGit = join(dir, '.git');
    let stat;
    try {
      stat = statSync(dotGit);
    } catch {
      stat = null;
    }
    if (stat?.isDirectory()) return { worktree: dir, commonDir: dotGit, mainWorktree: dir, gitDir: dotGit };
    if (stat?.isFile()) return linkedWorktree(dir, dotGit);
    const parent = dirname(dir);
    if (parent === dir) throw new UsageError(`not inside a git repository: ${resolve(cwd)} (run \`git init\` there first)`, { cwd: resolve(cwd) }, 'ENOREPO');
    dir = parent;
  }
}

function linkedWorktree(worktree: string, dotGit: string): RepoPaths {
  const match = /^gitdir:\s*(.+?)\s*$/m.exec(readFileSync(dotGit, 'utf8'));
  if (!match) throw new UsageError(`${dotGit} is not a gitdir file`, {}, 'ENOREPO');
  const gitDir = resolve(worktree, match[1]!);
  let commonDir = gitDir;
  const commondirFile = join(gitDir, 'commondir');
  if (existsSync(commondirFile)) {
    const relative = readFileSync(commondirFile, 'utf8').trim();
    commonDir = isAbsolute(relative) ? relative : resolve(gitDir, relative);
  }
  // A non-bare clone keeps its common dir at <main worktree>/.git. Every linked worktree, guild's
  // own wherever they are (beside the clone, or inside .git/guild/ before), is found the same way:
  // by its .git file.
  const mainWorktree = basename(commonDir) === '.git' ? dirname(commonDir) : worktree;
  return { worktree, commonDir, mainWorktree, gitDir };
}

/** The branch checked out in this worktree (refs/heads/...), from its HEAD file; null when detached or unreadable. */
export function currentBranch(repo: RepoPaths): string | null {
  try {
    const match = /^ref:\s*(refs\/heads\/\S+)\s*$/.exec(readFileSync(join(repo.gitDir, 'HEAD'), 'utf8'));
    return match ? match[1]! : null;
  } catch {
    return null;
  }
}

/**
 * True when `path` is a worktree git has registered for this clone, read as `git worktree list`
 * reads it: its .git file names an administrative folder <commonDir>/worktrees/<name> whose
 * gitdir file names that .git file back. False on anything else, including paths that are the
 * same only through a symlink: a caller then asks git (the answer is only a shortcut).
 */
export function isLinkedWorktreeOf(path: string, commonDir: string): boolean {
  try {
    const dotGit = join(resolve(path), '.git');
    const match = /^gitdir:\s*(.+?)\s*$/m.exec(readFileSync(dotGit, 'utf8'));
    if (!match) return false;
    const admin = resolve(path, match[1]!);
    if (dirname(admin) !== join(resolve(commonDir), 'worktrees')) return false;
    return resolve(admin, readFileSync(join(admin, 'gitdir'), 'utf8').trim()) === dotGit;
  } catch {
    return false;
  }
}

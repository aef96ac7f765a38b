// git worktree and branch plumbing: each function is one git command and its parsed answer.
// Nothing here decides anything; src/tasks/ does (what to create, what may be removed).
import { git, gitLine } from './git.js';
import { GitError } from '../errors.js';

export interface WorktreeEntry {
  path: string;
  head: string | null;
  /** refs/heads/... or null when detached. */
  branch: string | null;
  bare: boolean;
  locked: string | null;
  prunable: boolean;
}

export async function listWorktrees(cwd: string): Promise<WorktreeEntry[]> {
  const { stdout } = await git(['worktree', 'list', '--porcelain', '-z'], { cwd, readOnly: true });
  const entries: WorktreeEntry[] = [];
  let entry: WorktreeEntry | null = null;
  for (const field of stdout.split('\0')) {
    if (field === '') {
      if (entry) entries.push(entry);
      entry = null;
      continue;
    }
    const space = field.indexOf(' ');
    const key = space < 0 ? field : field.slice(0, space);
    const value = space < 0 ? '' : field.slice(space + 1);
    if (key === 'worktree') entry = { path: value, head: null, branch: null, bare: false, locked: null, prunable: false };
    else if (!entry) continue;
    else if (key === 'HEAD') entry.head = value;
    else if (key === 'branch') entry.branch = value;
    else if (key === 'bare') entry.bare = true;
    else if (key === 'locked') entry.locked = value;
    else if (key === 'prunable') entry.prunable = true;
  }
  if (entry) entries.push(entry);
  return entries;
}

/** The ref the main worktree has checked out (refs/heads/main), or HEAD when it is detached. */
export async function checkedOutRef(cwd: string): Promise<string> {
  const result = await git(['symbolic-ref', '-q', 'HEAD'], { cwd, readOnly: true, ok: [0, 1] });
  return result.code === 0 ? result.stdout.trim() : 'HEAD';
}

/** The commit a ref names, or null (an unborn branch: a repository without a commit yet). */
export async function commitOf(cwd: string, ref: string): Promise<string | null> {
  const result = await git(['rev-parse', '--verify', '-q', `${ref}^{commit}`], { cwd, readOnly: true, ok: [0, 1, 128] });
  return result.code === 0 ? result.stdout.trim() : null;
}

/** Local branches under refs/heads/<prefix>, short names. */
export async function branchesUnder(cwd: string, prefix: string): Promise<string[]> {
  const { stdout } = await git(['for-each-ref', '--format=%(refname:short)', `refs/heads/${prefix}`], { cwd, readOnly: true });
  return stdout.split('\n').filter((line) => line !== '');
}

/** Local branches under refs/heads/<prefix> with the commit each points at: one git call for all. */
export async function branchHeadsUnder(cwd: string, prefix: string): Promise<{ name: string; commit: string }[]> {
  const { stdout } = await git(['for-each-ref', '--format=%(objectname) %(refname:short)', `refs/heads/${prefix}`], { cwd, readOnly: true });
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => ({ commit: line.slice(0, line.indexOf(' ')), name: line.slice(line.indexOf(' ') + 1) }));
}

/** Short names of the local branches under refs/heads/<prefix> whose head `commit` does not contain. */
export async function branchesNotMergedInto(cwd: string, prefix: string, commit: string): Promise<Set<string>> {
  const { stdout } = await git(['for-each-ref', '--format=%(refname:short)', `--no-merged=${commit}`, `refs/heads/${prefix}`], { cwd, readOnly: true });
  return new Set(stdout.split('\n').filter((line) => line !== ''));
}

export async function addWorktree(cwd: string, path: string, branch: string, newFrom: string | null): Promise<void> {
  // `--` is not accepted by worktree add; path and branch are validated by the caller (absolute
  // path, guild/<ID>-<slug> branch), so neither can read as an option.
  const args = newFrom === null ? ['worktree', 'add', '-q', path, branch] : ['worktree', 'add', '-q', '-b', branch, path, newFrom];
  try {
    await git(args, { cwd });
  } catch (error) {
    // The runner retries on lock contention; an attempt that made the branch before it met the
    // lock (8 claims at once on 2 cores) leaves the retry finding its own branch. Made by us from
    // newFrom and checked out nowhere, it is the branch this call meant to make: use it.
    if (newFrom === null || !(error instanceof GitError) || !/a branch named '[^']*' already exists/.test(String(error.data.stderr ?? ''))) throw error;
    if ((await commitOf(cwd, `refs/heads/${branch}`)) !== newFrom) throw error;
    await git(['worktree', 'add', '-q', path, branch], { cwd });
  }
}

/** Removes a worktree only if git agrees it is clean (no --force: modified or untracked files keep it). */
export async function removeWorktree(cwd: string, path: string): Promise<{ removed: boolean; reason: string }> {
  const result = await git(['worktree', 'remove', path], { cwd, ok: [0, 128, 1] });
  return { removed: result.code === 0, reason: result.stderr.trim() };
}

/** Forgets worktrees whose directory is gone. Removes no files: only git's records of them. */
export async function pruneWorktreeRecords(cwd: string): Promise<void> {
  await git(['worktree', 'prune'], { cwd });
}

export interface StatusEntry {
  /** The two porcelain status letters: ' M', '??', 'A ' ... */
  code: string;
  path: string;
}

/** Uncommitted changes, untracked files included; ignored files are not work in progress. */
export async function worktreeStatus(worktree: string): Promise<StatusEntry[]> {
  return (await worktreeState(worktree)).changes;
}

export interface WorktreeState {
  /** Uncommitted changes, untracked files included (ignored files are not work in progress). */
  changes: StatusEntry[];
  /** HEAD's commit; null before the first commit. */
  head: string | null;
  /** The branch checked out, short name; null when detached. */
  branch: string | null;
}

/**
 * The worktree's changes with HEAD's commit and branch, in the one git process (`status --branch`,
 * format v2): for a caller that would otherwise ask `rev-parse HEAD` and `worktree list` too.
 */
export async function worktreeState(worktree: string): Promise<WorktreeState> {
  const { stdout } = await git(['status', '--porcelain=v2', '--branch', '-z', '--untracked-files=all'], { cwd: worktree, readOnly: true });
  const state: WorktreeState = { changes: [], head: null, branch: null };
  const fields = stdout.split('\0');
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    const kind = field[0];
    if (field.startsWith('# branch.oid ')) {
      const oid = field.slice('# branch.oid '.length);
      state.head = oid === '(initial)' ? null : oid;
    } else if (field.startsWith('# branch.head ')) {
      const name = field.slice('# branch.head '.length);
      state.branch = name === '(detached)' ? null : name;
    } else if (kind === '?') state.changes.push({ code: '??', path: field.slice(2) });
    else if (kind === '1' || kind === '2' || kind === 'u') {
      // The path follows a fixed number of space-separated fields (8, 9 for a rename or copy, 10 unmerged).
      const before = kind === '1' ? 8 : kind === '2' ? 9 : 10;
      let at = -1;
      for (let n = 0; n < before; n++) at = field.indexOf(' ', at + 1);
      // v1's letters: v2 writes an unchanged side as '.', v1 as ' '.
      state.changes.push({ code: field.slice(2, 4).replace(/\./g, ' '), path: field.slice(at + 1) });
      if (kind === '2') i++; // a rename's source path follows
    }
  }
  return state;
}

/** Commits ahead of and behind `base`. */
export async function aheadBehind(cwd: string, base: string, branch: string): Promise<{ ahead: number; behind: number }> {
  const line = await gitLine(['rev-list', '--left-right', '--count', `${base}...${branch}`], { cwd, readOnly: true });
  const [behind, ahead] = line.split(/\s+/).map(Number);
  return { ahead: ahead ?? 0, behind: behind ?? 0 };
}

/** Commits in `to` that `from` lacks; null when git cannot tell (a commit gone since). */
export async function countCommits(cwd: string, from: string, to: string): Promise<number | null> {
  const result = await git(['rev-list', '--count', `${from}..${to}`], { cwd, readOnly: true, ok: [0, 128] });
  return result.code === 0 ? Number(result.stdout.trim()) : null;
}

/**
 * The commit a branch was created at: its oldest reflog entry, when that entry is the creation
 * ("branch: Created from ..."). Null when git no longer says (no reflog, or its start expired).
 */
export async function branchCreatedAt(cwd: string, ref: string): Promise<string | null> {
  const { code, stdout } = await git(['reflog', 'show', '--format=%H %gs', ref, '--'], { cwd, readOnly: true, ok: [0, 128] });
  if (code !== 0) return null;
  const oldest = stdout.trimEnd().split('\n').pop() ?? '';
  const match = /^([0-9a-f]{40,64}) branch: Created from /.exec(oldest);
  return match ? match[1]! : null;
}

/** True when `ancestor` is reachable from `descendant`: its work is merged. */
export async function isAncestor(cwd: string, ancestor: string, descendant: string): Promise<boolean> {
  return (await git(['merge-base', '--is-ancestor', ancestor, descendant], { cwd, readOnly: true, ok: [0, 1] })).code === 0;
}

/** `git branch -d`: git itself refuses when the branch is not merged. */
export async function deleteMergedBranch(cwd: string, branch: string): Promise<boolean> {
  return (await git(['branch', '-d', '-q', branch], { cwd, ok: [0, 1] })).code === 0;
}

/** Stages everything (untracked files too) and commits it; the user's hooks run. */
export async function commitEverything(worktree: string, message: string): Promise<string> {
  await git(['add', '-A'], { cwd: worktree });
  await git(['commit', '-q', '-m', message], { cwd: worktree });
  return gitLine(['rev-parse', 'HEAD'], { cwd: worktree, readOnly: true });
}

export async function unlockWorktree(cwd: string, path: string): Promise<void> {
  await git(['worktree', 'unlock', path], { cwd, ok: [0, 128] });
}

/** Restores a worktree's index and files to its HEAD (for a checkout that was cut short only). */
export async function resetToHead(worktree: string): Promise<void> {
  await git(['reset', '-q', '--hard'], { cwd: worktree });
}

// The git commands `sync --remote` runs against the remote, and what their messages mean. git runs
// with LC_ALL=C (git/git.ts), so its messages can be read: "unreachable" (nothing listening, no
// such host, a network down or timed out) is told apart from every other failure, because it is
// exit 7 and means "nothing was done, try again later", while the others are errors to fix.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GitError, NoRemoteError, RemoteUnreachableError } from '../errors.js';
import { git, gitLine } from '../git/git.js';
import { gitReason, remoteTimeoutMs } from '../git/remote-refs.js';

/** What git (or ssh, or curl under it) says when it never reached the remote. */
const UNREACHABLE = new RegExp(
  [
    'Connection refused',
    'Connection timed out',
    'Connection reset',
    'timed out',
    'Could not resolve host',
    'unable to look up',
    'Name or service not known',
    'Temporary failure in name resolution',
    'nodename nor servname',
    'No route to host',
    'Network is unreachable',
    'unable to connect to',
    'Could not read from remote repository',
    'the remote end hung up unexpectedly',
    // A file:// or path remote whose repository is not there (a disk not mounted): as unreachable.
    'does not appear to be a git repository',
  ].join('|'),
  'i',
);

export function isUnreachable(stderr: string): boolean {
  return UNREACHABLE.test(stderr);
}


/** The branch the main worktree has checked out: the one that travels, under the same name. */
export async function currentBranch(cwd: string): Promise<string> {
  const { code, stdout } = await git(['symbolic-ref', '--quiet', '--short', 'HEAD'], { cwd, readOnly: true, ok: [0, 1] });
  if (code !== 0) throw new GitError(`the main worktree (${cwd}) is on a detached HEAD: check out the branch the board lives on, then sync --remote again`, { cwd });
  return stdout.trim();
}

/** Refuses a remote (the board's, or init --remote's) this clone does not have. */
export async function requireRemote(cwd: string, remote: string): Promise<void> {
  const { code } = await git(['remote', 'get-url', remote], { cwd, readOnly: true, ok: [0, 2, 128] });
  if (code !== 0) throw new NoRemoteError(`this clone has no git remote named ${remote}: add it with \`git remote add ${remote} URL\``, { remote });
}

/** The remote-tracking ref `sync --remote` fetches into. */
export const trackingRef = (remote: string, branch: string): string => `refs/remotes/${remote}/${branch}`;

/**
 * Fetches the branch into its remote-tracking ref. False when the remote has no such branch
 * (yet: the first push makes it). An unreachable remote is RemoteUnreachableError; anything else
 * a GitError with git's words.
 */
export async function fetchBranch(cwd: string, remote: string, branch: string): Promise<boolean> {
  const args = ['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', remote, `+refs/heads/${branch}:${trackingRef(remote, branch)}`];
  const result = await git(args, { cwd, ok: [0, 1, 128], timeoutMs: remoteTimeoutMs() });
  if (result.code === 0) return true;
  if (/couldn't find remote ref/i.test(result.stderr)) {
    // Gone from the remote: a stale tracking ref would make the merge bring back what was deleted.
    await git(['update-ref', '-d', trackingRef(remote, branch)], { cwd });
    return false;
  }
  if (isUnreachable(result.stderr)) throw new RemoteUnreachableError(`cannot reach the remote ${remote}: ${gitReason(result.stderr)}; nothing was done`, { remote, branch, stderr: result.stderr.trim() });
  throw new GitError(`git fetch ${remote} ${branch} failed: ${gitReason(result.stderr)}`, { remote, branch, stderr: result.stderr.trim() });
}

export type PushOutcome = 'pushed' | 'behind';

/**
 * Pushes HEAD to the remote's branch. 'behind': the remote moved meanwhile (a non-fast-forward,
 * or the server's ref lock taken by another clone's push): fetch, merge and try again.
 */
export async function pushBranch(cwd: string, remote: string, branch: string): Promise<PushOutcome> {
  const result = await git(['push', '--porcelain', remote, `HEAD:refs/heads/${branch}`], { cwd, ok: [0, 1, 128], timeoutMs: remoteTimeoutMs() });
  if (result.code === 0) return 'pushed';
  const said = `${result.stdout}\n${result.stderr}`;
  if (/\[rejected\]|non-fast-forward|fetch first|\(stale info\)/.test(said)) return 'behind';
  if (/\[remote rejected\][^\n]*(cannot lock ref|failed to update ref|failed to lock|incorrect old value)/i.test(said)) return 'behind';
  if (isUnreachable(result.stderr)) throw new RemoteUnreachableError(`cannot reach the remote ${remote} to push ${branch}: ${gitReason(result.stderr)}; what was merged and committed here stays, and the next sync --remote pushes it`, { remote, branch, stderr: result.stderr.trim() });
  const rejected = /\[remote rejected\][^\n]*/.exec(said)?.[0];
  throw new GitError(`git push ${remote} ${branch} failed: ${rejected ?? gitReason(result.stderr)}`, { remote, branch, stderr: result.stderr.trim() });
}

/** The commit a ref names, or null when there is no such ref. */
export async function resolveRef(cwd: string, ref: string): Promise<string | null> {
  const { code, stdout } = await git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd, readOnly: true, ok: [0, 1] });
  return code === 0 ? stdout.trim() : null;
}

export async function isAncestorOf(cwd: string, ancestor: string, descendant: string): Promise<boolean> {
  return (await git(['merge-base', '--is-ancestor', ancestor, descendant], { cwd, readOnly: true, ok: [0, 1] })).code === 0;
}

export type MergeOutcome = { merged: true; commit: string } | { merged: false; conflicts: string[]; said: string };

/**
 * `git merge --no-edit <ref>` with the clone's merge drivers (the caller registered them). A
 * merge that stops on a conflict the drivers could not settle is aborted at once, so the worktree,
 * the index and the branch are as they were: the files are named and nothing is lost. A merge git
 * refuses to start (local changes in its way) changes nothing and is said as git says it.
 */
export async function mergeRef(cwd: string, commonDir: string, ref: string, config: readonly string[]): Promise<MergeOutcome> {
  const result = await git([...config, 'merge', '--no-edit', '--quiet', ref], { cwd, ok: [0, 1, 2, 128] });
  if (result.code === 0) return { merged: true, commit: await gitLine(['rev-parse', 'HEAD'], { cwd, readOnly: true }) };
  const said = `${result.stdout}\n${result.stderr}`.trim();
  if (!existsSync(join(commonDir, 'MERGE_HEAD'))) return { merged: false, conflicts: [], said };
  const unmerged = await git(['diff', '--name-only', '--diff-filter=U', '-z'], { cwd, readOnly: true });
  const conflicts = unmerged.stdout.split('\0').filter((name) => name !== '');
  await git(['merge', '--abort'], { cwd });
  return { merged: false, conflicts, said };
}

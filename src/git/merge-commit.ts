// A merge commit made without a checkout: `git merge-tree --write-tree` (git >= 2.38) merges two
// commits in memory and writes only objects; `git commit-tree` records its tree with both
// parents. No worktree, index or ref is touched, so nothing is left half-merged when the merge
// conflicts or the process dies: the caller points a branch at the commit, or drops it.
import { git, gitLine } from './git.js';

export type MergeCommitResult = { clean: true; commit: string } | { clean: false; commit: null; files: string[] };

const OBJECT_NAME = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/**
 * Merges commit `theirs` into commit `ours` as `git merge --no-ff` would (the same strategy, the
 * repository's merge drivers and attributes), and returns the merge commit (parents: ours,
 * theirs) or the files that conflict. Both must be object names, never a ref an option could
 * hide in. commit-tree runs no hook (nothing is checked out to run them in); it takes the user's
 * identity from the config as any commit does, but not commit.gpgSign (git 2.39 ignores it
 * there), so that is read here and passed as -S: a clone that signs its commits signs this one
 * too (gpg.format and user.signingKey then apply as for `git commit`).
 */
export async function mergeCommit(cwd: string, ours: string, theirs: string, message: string): Promise<MergeCommitResult> {
  if (!OBJECT_NAME.test(ours) || !OBJECT_NAME.test(theirs)) throw new Error(`mergeCommit takes commit ids, got ${ours} ${theirs}`);
  const { code, stdout } = await git(['merge-tree', '--write-tree', '--name-only', '--no-messages', '-z', ours, theirs], { cwd, ok: [0, 1] });
  // -z: the tree id, then (on a conflict) each conflicted file, NUL-terminated.
  const fields = stdout.split('\0');
  if (code === 1) {
    const files: string[] = [];
    for (const field of fields.slice(1)) {
      if (field === '') break;
      if (!files.includes(field)) files.push(field);
    }
    return { clean: false, commit: null, files };
  }
  const tree = fields[0]!.trim();
  const sign = await git(['config', '--type=bool', '--get', 'commit.gpgSign'], { cwd, readOnly: true, ok: [0, 1] });
  const signing = sign.code === 0 && sign.stdout.trim() === 'true' ? ['-S'] : [];
  const commit = await gitLine(['commit-tree', tree, '-p', ours, '-p', theirs, ...signing, '-m', message], { cwd });
  return { clean: true, commit };
}

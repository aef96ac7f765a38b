// The heads of named branches that a commit does not hold, in one git call: what a claim asks
// about its needs' branches, where one `rev-parse` and one `merge-base` per branch would be two
// processes each.
import { git } from './git.js';

/**
 * Short branch name -> head, for those of `names` that exist and whose head `commit` does not
 * contain. The names must be valid branch names (no glob characters): for-each-ref also matches a
 * pattern as a prefix up to a slash, so only exact names are kept.
 */
export async function headsNotMergedInto(cwd: string, names: readonly string[], commit: string): Promise<Map<string, string>> {
  const heads = new Map<string, string>();
  if (names.length === 0) return heads;
  const refs = names.map((name) => `refs/heads/${name}`);
  const { stdout } = await git(['for-each-ref', '--format=%(objectname) %(refname)', `--no-merged=${commit}`, ...refs], { cwd, readOnly: true });
  for (const line of stdout.split('\n')) {
    const space = line.indexOf(' ');
    if (space < 0) continue;
    const ref = line.slice(space + 1);
    if (refs.includes(ref)) heads.set(ref.slice('refs/heads/'.length), line.slice(0, space));
  }
  return heads;
}

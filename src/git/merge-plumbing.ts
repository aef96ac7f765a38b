// The git plumbing the merge drivers need: git's own three-way text merge (for free text, which
// must merge exactly as git would), the commit on the other side of a merge in progress, files
// as they are in a commit, and the driver registration in the clone's config. All through the
// one git runner (git.ts): argv only, a hook's GIT_DIR stripped, retries on `.lock` contention
// (two `init`s writing the config at once).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git, gitLine } from './git.js';

export interface BytesMerge {
  bytes: Buffer;
  /** How many conflicts git left marked in `bytes`; 0 for a clean merge. */
  conflicts: number;
}

/**
 * `git merge-file` over three files' bytes: the result and its conflicts, labelled
 * ours/base/theirs. Bytes, not text: git merges any encoding, and the caller knows which one its
 * text is in (the board's, board-bytes.ts). `union`: where both sides changed the same lines,
 * keep both sides' lines (ours first) instead of marking a conflict, as `merge-file --union` does.
 */
export async function mergeBytes(base: Uint8Array, ours: Uint8Array, theirs: Uint8Array, options: { union?: boolean } = {}): Promise<BytesMerge> {
  const dir = await mkdtemp(join(tmpdir(), 'guild-merge-'));
  try {
    const files = { ours: join(dir, 'ours'), base: join(dir, 'base'), theirs: join(dir, 'theirs') };
    await Promise.all([writeFile(files.ours, ours), writeFile(files.base, base), writeFile(files.theirs, theirs)]);
    // The exit status is the number of conflicts (capped at 127); anything else is an error.
    const conflicts = Array.from({ length: 127 }, (_, i) => i + 1);
    // Into ours' file rather than -p: the runner decodes stdout as UTF-8, the file keeps the bytes.
    const result = await git(['merge-file', ...(options.union ? ['--union'] : []), '-L', 'ours', '-L', 'base', '-L', 'theirs', files.ours, files.base, files.theirs], { cwd: dir, readOnly: true, ok: [0, ...conflicts] });
    return { bytes: await readFile(files.ours), conflicts: result.code };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const OBJECT_NAME = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

async function verifyCommit(cwd: string, rev: string): Promise<string | null> {
  const found = await git(['rev-parse', '-q', '--verify', `${rev}^{commit}`], { cwd, readOnly: true, ok: [0, 1, 128] });
  const oid = found.stdout.trim();
  return found.code === 0 && OBJECT_NAME.test(oid) ? oid : null;
}

/**
 * The commit being merged into HEAD while a merge driver runs. `git merge` names it in a
 * GITHEAD_<oid> variable; a rebase or cherry-pick names it in refs or in the rebase's todo list.
 * null when none of these tells.
 */
export async function theirsCommit(cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  for (const name of Object.keys(env)) {
    const oid = /^GITHEAD_([0-9a-f]+)$/.exec(name)?.[1];
    if (oid && OBJECT_NAME.test(oid)) return oid;
  }
  for (const ref of ['MERGE_HEAD', 'CHERRY_PICK_HEAD', 'REBASE_HEAD']) {
    const oid = await verifyCommit(cwd, ref);
    if (oid) return oid;
  }
  try {
    const gitDir = await gitLine(['rev-parse', '--absolute-git-dir'], { cwd, readOnly: true });
    const done = (await readFile(join(gitDir, 'rebase-merge', 'done'), 'utf8')).trim().split('\n');
    const oid = /^\S+\s+([0-9a-f]{7,64})\b/.exec(done[done.length - 1] ?? '')?.[1];
    return oid ? await verifyCommit(cwd, oid) : null;
  } catch {
    return null; // not rebasing
  }
}

/** A file's text in a commit (`rev` is HEAD or an object name), or null when it is not there. */
export async function fileAtCommit(cwd: string, rev: string, path: string): Promise<string | null> {
  if (rev !== 'HEAD' && !OBJECT_NAME.test(rev)) throw new Error(`not a commit name: ${rev}`);
  const shown = await git(['cat-file', 'blob', `${rev}:${path}`], { cwd, readOnly: true, ok: [0, 128] });
  return shown.code === 0 ? shown.stdout : null;
}

export interface MergeDriverConfig {
  name: string;
  description: string;
  /** The shell command git runs, with its %O %A %B %P placeholders. */
  command: string;
}

/** merge.<name>.driver as the clone's config has it, or null. */
export async function mergeDriverCommand(cwd: string, name: string): Promise<string | null> {
  const current = await git(['config', '--get', `merge.${name}.driver`], { cwd, readOnly: true, ok: [0, 1] });
  return current.code === 0 ? current.stdout.trim() : null;
}

/** Sets merge.<name>.driver in the clone's config; says whether it was there already. */
export async function registerMergeDriver(cwd: string, driver: MergeDriverConfig): Promise<'added' | 'updated' | 'present'> {
  const current = await mergeDriverCommand(cwd, driver.name);
  if (current === driver.command) return 'present';
  await git(['config', `merge.${driver.name}.name`, driver.description], { cwd });
  await git(['config', `merge.${driver.name}.driver`, driver.command], { cwd });
  return current === null ? 'added' : 'updated';
}

/** Quotes one word for the POSIX shell git runs merge drivers with. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

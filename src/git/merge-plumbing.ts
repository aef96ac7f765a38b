// The git plumbing the merge drivers need: git's own three-way text merge (for free text, which
// must merge exactly as git would), the commits on either side of a merge in progress, files
// as they are in a commit, and the driver registration in the clone's config. Merges are rare
// and slow anyway, so these spawn git synchronously.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TextMerge {
  text: string;
  /** How many conflicts git left marked in `text`; 0 for a clean merge. */
  conflicts: number;
}

/** `git merge-file` over three texts: the result and its conflicts, labelled ours/base/theirs. */
export function mergeTexts(base: string, ours: string, theirs: string, labels = { ours: 'ours', base: 'base', theirs: 'theirs' }): TextMerge {
  const dir = mkdtempSync(join(tmpdir(), 'guild-merge-'));
  try {
    const files = { ours: join(dir, 'ours'), base: join(dir, 'base'), theirs: join(dir, 'theirs') };
    writeFileSync(files.ours, ours);
    writeFileSync(files.base, base);
    writeFileSync(files.theirs, theirs);
    const result = spawnSync('git', ['merge-file', '-p', '-L', labels.ours, '-L', labels.base, '-L', labels.theirs, files.ours, files.base, files.theirs], {
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    });
    // The exit status is the number of conflicts (capped at 127); a negative one, or a signal, is an error.
    if (result.error) throw result.error;
    if (result.status === null || result.status > 127) throw new Error(`git merge-file failed: ${result.stderr.trim() || `exit ${result.status}`}`);
    return { text: result.stdout, conflicts: result.status };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function git(cwd: string, args: string[]): { ok: boolean; stdout: string } {
  const result = spawnSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } });
  return { ok: result.status === 0, stdout: result.stdout ?? '' };
}

const OBJECT_NAME = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/**
 * The commit being merged into HEAD while a merge driver runs. `git merge` names it in a
 * GITHEAD_<oid> variable; a rebase or cherry-pick names it in refs or in the rebase's todo list.
 * null when none of these tells.
 */
export function theirsCommit(cwd: string, env: NodeJS.ProcessEnv = process.env): string | null {
  for (const name of Object.keys(env)) {
    const oid = /^GITHEAD_([0-9a-f]+)$/.exec(name)?.[1];
    if (oid && OBJECT_NAME.test(oid)) return oid;
  }
  for (const ref of ['MERGE_HEAD', 'CHERRY_PICK_HEAD', 'REBASE_HEAD']) {
    const found = git(cwd, ['rev-parse', '-q', '--verify', `${ref}^{commit}`]);
    if (found.ok && OBJECT_NAME.test(found.stdout.trim())) return found.stdout.trim();
  }
  const gitDir = git(cwd, ['rev-parse', '--absolute-git-dir']);
  if (gitDir.ok) {
    try {
      const done = readFileSync(join(gitDir.stdout.trim(), 'rebase-merge', 'done'), 'utf8').trim().split('\n');
      const oid = /^\S+\s+([0-9a-f]{7,64})\b/.exec(done[done.length - 1] ?? '')?.[1];
      if (oid) {
        const full = git(cwd, ['rev-parse', '-q', '--verify', `${oid}^{commit}`]);
        if (full.ok) return full.stdout.trim();
      }
    } catch {
      // Not rebasing.
    }
  }
  return null;
}

/** A file's text in a commit (`rev` is HEAD or an object name), or null when it is not there. */
export function fileAtCommit(cwd: string, rev: string, path: string): string | null {
  if (rev !== 'HEAD' && !OBJECT_NAME.test(rev)) throw new Error(`not a commit name: ${rev}`);
  const shown = git(cwd, ['cat-file', 'blob', `${rev}:${path}`]);
  return shown.ok ? shown.stdout : null;
}

export interface MergeDriverConfig {
  name: string;
  description: string;
  /** The shell command git runs, with its %O %A %B %P placeholders. */
  command: string;
}

/** Sets merge.<name>.driver in the clone's config; says whether it was there already. */
export function registerMergeDriver(cwd: string, driver: MergeDriverConfig): 'added' | 'updated' | 'present' {
  const current = git(cwd, ['config', '--get', `merge.${driver.name}.driver`]);
  if (current.ok && current.stdout.trim() === driver.command) return 'present';
  for (const [key, value] of [['name', driver.description], ['driver', driver.command]]) {
    const set = spawnSync('git', ['config', `merge.${driver.name}.${key}`, value!], { cwd, encoding: 'utf8' });
    if (set.status !== 0) throw new Error(`git config merge.${driver.name}.${key} failed: ${set.stderr.trim()}`);
  }
  return current.ok ? 'updated' : 'added';
}

/** merge.<name>.driver as the clone's config has it, or null. */
export function mergeDriverCommand(cwd: string, name: string): string | null {
  const current = git(cwd, ['config', '--get', `merge.${name}.driver`]);
  return current.ok ? current.stdout.trim() : null;
}

/** Quotes one word for the POSIX shell git runs merge drivers with. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

// worktree_root outside the repository: <root>/<ID> may be anyone's directory. guild-fs moves
// aside only a worktree it began for this repository (a `worktree add` cut short); anything else
// there is refused with exit 2 naming the path, and left exactly as it is (issue 11).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from './helpers/cli.js';
import { boardWith, committedRepo } from './helpers/git-repo.js';
import type { TempRepo } from './helpers/repo.js';

function setup(t: { after(fn: () => void): void }): { repo: TempRepo; root: string } {
  // A root outside the repository, beside nothing of guild-fs's.
  const root = mkdtempSync(join(tmpdir(), 'guild-fs-root-'));
  const repo = committedRepo(boardWith([`worktree_root: ${JSON.stringify(root)}`], ['- [ ] GLD-1 Add the login form']));
  t.after(() => {
    repo.remove();
    rmSync(root, { recursive: true, force: true });
  });
  return { repo, root };
}

test('an unrelated directory at <worktree_root>/<ID> is refused (exit 2, naming it) and left untouched', (t) => {
  const { repo, root } = setup(t);
  const theirs = join(root, 'GLD-1');
  mkdirSync(theirs, { recursive: true });
  writeFileSync(join(theirs, 'notes.txt'), 'mine\n');
  const claimed = cli(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'a' });
  assert.equal(claimed.code, 2, claimed.stdout + claimed.stderr);
  assert.equal(claimed.json!.error!.code, 'EWORKTREEPATH');
  assert.ok(claimed.json!.error!.message.includes(theirs), claimed.json!.error!.message);
  assert.deepEqual(readdirSync(root), ['GLD-1']);
  assert.equal(readFileSync(join(theirs, 'notes.txt'), 'utf8'), 'mine\n');
  // Moved away by its owner, the next claim of the holder makes the worktree.
  rmSync(theirs, { recursive: true });
  const again = cli(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'a' });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.json!.result.worktree.path, theirs);
});

test('guild-fs\'s own half-made worktree there (a .git file into this repository\'s worktrees) is moved aside, as before', (t) => {
  const { repo, root } = setup(t);
  const half = join(root, 'GLD-1');
  mkdirSync(half, { recursive: true });
  // What a `git worktree add` killed mid-checkout leaves once git has pruned its record.
  writeFileSync(join(half, '.git'), `gitdir: ${join(repo.dir, '.git', 'worktrees', 'GLD-1')}\n`);
  writeFileSync(join(half, 'app.txt'), 'half\n');
  const claimed = cli(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'a' });
  assert.equal(claimed.code, 0, claimed.stderr);
  assert.match(claimed.stderr, /moved to .*GLD-1\.orphaned-/);
  const aside = readdirSync(root).find((name) => name.startsWith('GLD-1.orphaned-'));
  assert.ok(aside && existsSync(join(root, aside, 'app.txt')));
});

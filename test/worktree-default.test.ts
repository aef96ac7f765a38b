// Where worktrees go by default (issue 21): beside the clone, `<clone>.worktrees/<ID>`, never
// under `.git` (agent CLIs refuse to write there). Worktrees made under the old default
// (`.git/guild/worktrees/<ID>`) keep working: listed, reused by their holder, completed, pruned.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from './helpers/cli.js';
import { boardWith, committedRepo, git } from './helpers/git-repo.js';
import { readLog, worktreePath } from './helpers/repo.js';

const OLD_ROOT = join('.git', 'guild', 'worktrees');

test('a claim makes its worktree beside the clone, outside .git, and logs its path relative to the clone', (t) => {
  const repo = committedRepo(boardWith([], ['- [ ] GLD-1 Add the login form']));
  t.after(() => repo.remove());
  const claimed = cli(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'a' });
  assert.equal(claimed.code, 0, claimed.stderr);
  const path = claimed.json!.result.worktree.path as string;
  assert.equal(path, worktreePath(repo, 'GLD-1'));
  assert.ok(!path.split('/').includes('.git'), path);
  assert.ok(!path.startsWith(`${repo.dir}/`), 'not inside the clone');
  const created = readLog(repo).find((event) => event.type === 'worktree.created');
  assert.equal((created?.data as { path?: string } | undefined)?.path, `../${basename(repo.dir)}.worktrees/GLD-1`);
  // Nothing of it shows in the clone's status, and doctor has nothing to say of it.
  assert.equal(git(repo.dir, 'status', '--porcelain', '--untracked-files=all').split('\n').filter((line) => line.includes('GLD-1')).length, 0);
  const doctor = cli(['doctor', '--json'], { cwd: repo.dir }).json!;
  assert.deepEqual((doctor.result ?? doctor.error!.data).checks.find((c: any) => c.name === 'worktrees').warnings, []);
});

test('a worktree under the old default keeps working: listed, reused, completed, pruned; new ones go beside the clone', (t) => {
  const repo = committedRepo(boardWith([`worktree_root: ${OLD_ROOT}`], ['- [ ] GLD-1 Made before the move', '- [ ] GLD-2 Made after it']));
  t.after(() => repo.remove());
  const old = join(repo.dir, OLD_ROOT, 'GLD-1');
  assert.equal(cli(['claim', 'GLD-1'], { cwd: repo.dir, agent: 'a' }).code, 0);
  assert.ok(existsSync(join(old, '.git')));
  // While worktree_root points under .git, doctor says what that costs.
  const warned = cli(['doctor', '--json'], { cwd: repo.dir }).json!;
  const section = (warned.result ?? warned.error!.data).checks.find((c: any) => c.name === 'worktrees');
  assert.ok(section.warnings.some((w: string) => /under \.git/.test(w)), JSON.stringify(section));

  // The upgrade: the setting goes (as from a board written before the default moved).
  writeFileSync(repo.board, readFileSync(repo.board, 'utf8').replace(`worktree_root: ${OLD_ROOT}\n`, ''));
  assert.equal(cli(['sync'], { cwd: repo.dir }).code, 0);
  const listed = cli(['worktree', 'list', '--json'], { cwd: repo.dir });
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual(listed.json!.result.worktrees.map((w: any) => [w.task, w.path]), [['GLD-1', old]]);

  // Its holder's claim again finds it where it is.
  const again = cli(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'a' });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.json!.result.worktree.path, old);
  writeFileSync(join(old, 'login.ts'), 'export {};\n');
  const done = cli(['complete', '--commit-all', 'the login form'], { cwd: old, agent: 'a' });
  assert.equal(done.code, 0, done.stderr);

  const fresh = cli(['claim', 'GLD-2', '--json'], { cwd: repo.dir, agent: 'b' });
  assert.equal(fresh.json!.result.worktree.path, worktreePath(repo, 'GLD-2'));

  // Merged into main, the old one is pruned like any other.
  const branch = again.json!.result.worktree.branch as string;
  const merged = cli(['worktree', 'prune', '--json'], { cwd: repo.dir });
  assert.equal(merged.code, 0, merged.stderr);
  assert.ok(merged.json!.result.kept.some((k: any) => k.task === 'GLD-1'), 'not merged yet: kept');
  git(repo.dir, 'merge', '-q', '--no-edit', branch);
  const pruned = cli(['worktree', 'prune', '--json'], { cwd: repo.dir });
  assert.deepEqual(pruned.json!.result.removed.map((r: any) => r.path), [old]);
  assert.equal(existsSync(old), false);
});

test('prune removes the folder beside the clone once its last worktree is gone, and never a worktree_root a person chose', (t) => {
  const repo = committedRepo(boardWith([], ['- [ ] GLD-1 Small']));
  t.after(() => repo.remove());
  assert.equal(cli(['claim', 'GLD-1'], { cwd: repo.dir, agent: 'a' }).code, 0);
  assert.equal(cli(['complete', 'GLD-1'], { cwd: repo.dir, agent: 'a' }).code, 0);
  const pruned = cli(['worktree', 'prune', '--json'], { cwd: repo.dir });
  assert.equal(pruned.json!.result.removed.length, 1, pruned.stdout);
  assert.equal(existsSync(worktreePath(repo, '')), false);

  // A root of the person's own stays, empty or not.
  const mine = mkdtempSync(join(tmpdir(), 'guild-fs-mine-'));
  const chosen = committedRepo(boardWith([`worktree_root: ${JSON.stringify(mine)}`], ['- [ ] GLD-1 Small']));
  t.after(() => {
    chosen.remove();
    rmSync(mine, { recursive: true, force: true });
  });
  assert.equal(cli(['claim', 'GLD-1'], { cwd: chosen.dir, agent: 'a' }).code, 0);
  assert.equal(cli(['complete', 'GLD-1'], { cwd: chosen.dir, agent: 'a' }).code, 0);
  assert.equal(cli(['worktree', 'prune', '--json'], { cwd: chosen.dir }).json!.result.removed.length, 1);
  assert.equal(existsSync(mine), true);
});

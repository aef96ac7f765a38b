// The git runner: another process's index.lock, or a worktree it is still making, is waited out with backoff, not a failure.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { git } from '../src/git/git.js';
import { GitError } from '../src/errors.js';
import { boardWith, committedRepo } from './helpers/git-repo.js';

test('a command that meets index.lock retries with backoff until the lock is gone', async (t) => {
  const repo = committedRepo(boardWith([], []));
  t.after(() => repo.remove());
  const lock = join(repo.dir, '.git', 'index.lock');
  writeFileSync(lock, '');
  writeFileSync(join(repo.dir, 'x.txt'), 'x\n');
  const waits: number[] = [];
  await git(['add', 'x.txt'], {
    cwd: repo.dir,
    random: () => 0.5,
    sleep: async (ms) => {
      waits.push(ms);
      if (waits.length === 3) rmSync(lock);
    },
  });
  assert.deepEqual(waits, [20, 40, 80]);
  assert.equal(existsSync(lock), false);

  writeFileSync(lock, '');
  await assert.rejects(git(['add', 'x.txt'], { cwd: repo.dir, retries: 2, sleep: async () => {} }), (error: unknown) => {
    assert.ok(error instanceof GitError, String(error));
    assert.match(error.message, /index\.lock/);
    return true;
  });
  rmSync(lock);
});

test('a worktree another process is still making (its commondir not yet written) is waited out too', async (t) => {
  // Seen with 8 claims at once: `git worktree list` read a `worktree add` half-way and failed.
  const repo = committedRepo(boardWith([], []));
  t.after(() => repo.remove());
  const admin = join(repo.dir, '.git', 'worktrees', 'half');
  mkdirSync(admin, { recursive: true });
  writeFileSync(join(admin, 'gitdir'), `${join(repo.dir, 'half', '.git')}\n`);
  writeFileSync(join(admin, 'HEAD'), 'ref: refs/heads/main\n');
  writeFileSync(join(admin, 'commondir'), '');
  let waits = 0;
  const listed = await git(['worktree', 'list', '--porcelain'], {
    cwd: repo.dir,
    sleep: async () => {
      waits++;
      writeFileSync(join(admin, 'commondir'), '../..\n');
    },
  });
  assert.equal(waits, 1);
  assert.match(listed.stdout, /worktree .*half/);
});

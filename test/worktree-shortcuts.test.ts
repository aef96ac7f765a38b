// The answers the runner's claim and complete read from fewer git processes (GLD-67) are the ones
// the longer way gives: the main worktree's head from `worktree list`, a worktree's status, head
// and branch from one `status --branch`, and a worktree the runner made taken without a listing
// only while it is still this clone's worktree on the task's branch.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLinkedWorktreeOf } from '../src/git/find-repo.js';
import { listWorktrees, worktreeState, worktreeStatus } from '../src/git/worktree.js';
import { openGuild } from '../src/tasks/guild.js';
import { checkWork } from '../src/workspace/check-work.js';
import { claimWorkspace } from '../src/workspace/claim-workspace.js';
import { mainHead, mainHeadOf } from '../src/workspace/workspace.js';
import { boardWith, committedRepo, git } from './helpers/git-repo.js';
import { tempRepo } from './helpers/repo.js';

test('the main worktree head read from `worktree list` is mainHead: on a branch, detached, before the first commit', async (t) => {
  const repo = committedRepo(boardWith([], []));
  t.after(() => repo.remove());
  const guild = openGuild(repo.dir);
  assert.deepEqual(mainHeadOf(await listWorktrees(repo.dir)), await mainHead(guild));
  git(repo.dir, 'checkout', '-q', '--detach');
  assert.deepEqual(mainHeadOf(await listWorktrees(repo.dir)), await mainHead(guild));
  assert.equal(mainHeadOf(await listWorktrees(repo.dir))!.ref, 'HEAD');

  const unborn = tempRepo(boardWith([], []));
  t.after(() => unborn.remove());
  assert.deepEqual(mainHeadOf(await listWorktrees(unborn.dir)), { ref: 'refs/heads/main', commit: null });
  assert.deepEqual(await mainHead(openGuild(unborn.dir)), { ref: 'refs/heads/main', commit: null });
});

test('worktreeState lists the changes with v1\'s status letters, with the head and branch', async (t) => {
  const repo = committedRepo(boardWith([], []), { 'a.txt': 'a\n', 'b.txt': 'b\n', 'c d.txt': 'c\n' });
  t.after(() => repo.remove());
  writeFileSync(join(repo.dir, 'a.txt'), 'changed\n');
  git(repo.dir, 'mv', 'b.txt', 'b moved.txt');
  writeFileSync(join(repo.dir, 'c d.txt'), 'staged\n');
  git(repo.dir, 'add', 'c d.txt');
  writeFileSync(join(repo.dir, 'c d.txt'), 'staged, then changed\n');
  mkdirSync(join(repo.dir, 'new dir'));
  writeFileSync(join(repo.dir, 'new dir', 'x y.txt'), 'x\n');
  const state = await worktreeState(repo.dir);
  const byPath = (a: { path: string }, b: { path: string }): number => a.path.localeCompare(b.path);
  assert.deepEqual([...state.changes].sort(byPath), [
    { code: ' M', path: 'a.txt' },
    { code: 'R ', path: 'b moved.txt' },
    { code: 'MM', path: 'c d.txt' },
    { code: '??', path: 'new dir/x y.txt' },
  ]);
  assert.deepEqual(await worktreeStatus(repo.dir), state.changes);
  assert.equal(state.changes.length, 4);
  assert.equal(state.head, git(repo.dir, 'rev-parse', 'HEAD'));
  assert.equal(state.branch, 'main');
  git(repo.dir, 'checkout', '-q', '--detach');
  assert.equal((await worktreeState(repo.dir)).branch, null);
});

test('complete in the runner: the worktree it made is taken as the listing would give it, and the listing is asked once it is not the task\'s any more', async (t) => {
  const repo = committedRepo(boardWith([], ['- [ ] GLD-1 One', '- [ ] GLD-2 Two']));
  t.after(() => repo.remove());
  const guild = openGuild(repo.dir);
  const claimed = await claimWorkspace(guild, { agent: 'a' }, []);
  const path = claimed.worktree!.path;
  assert.equal(isLinkedWorktreeOf(path, guild.repo.commonDir), true);
  assert.equal(isLinkedWorktreeOf(repo.dir, guild.repo.commonDir), false);
  writeFileSync(join(path, 'work.txt'), 'work\n');
  git(path, 'add', 'work.txt');
  git(path, 'commit', '-q', '-m', 'work');
  const hinted = await checkWork(guild, 'a', 'GLD-1', { worktree: path });
  assert.deepEqual(hinted, await checkWork(guild, 'a', 'GLD-1', {}));
  assert.equal(hinted!.head, git(path, 'rev-parse', 'HEAD'));

  // The agent left its branch for another: the listing decides, as without the hint.
  git(path, 'checkout', '-q', '-b', 'elsewhere');
  assert.equal(await checkWork(guild, 'a', 'GLD-1', { worktree: path }), null);
  assert.equal(await checkWork(guild, 'a', 'GLD-1', {}), null);
  git(path, 'checkout', '-q', claimed.worktree!.branch);

  // Moved with `git worktree move`: the old path is no worktree, the listing finds the new one.
  const moved = join(repo.dir, 'moved');
  git(repo.dir, 'worktree', 'move', path, moved);
  assert.equal(isLinkedWorktreeOf(path, guild.repo.commonDir), false);
  const found = await checkWork(guild, 'a', 'GLD-1', { worktree: path });
  assert.equal(found!.path, moved);

  // A directory that only looks like one (its .git copied from elsewhere) is not taken either.
  mkdirSync(path, { recursive: true });
  renameSync(join(moved, '.git'), join(path, '.git'));
  assert.equal(isLinkedWorktreeOf(path, guild.repo.commonDir), false);
  renameSync(join(path, '.git'), join(moved, '.git'));
});

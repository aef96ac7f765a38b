// A try that ends leaves nothing unseen for the next one (issue 11, item 6): `fail` commits the
// try's uncommitted work on the task's branch as that try's commit, a heal's leftovers are
// committed at the next claim, and the next claimer is told how far the branch is behind the
// main branch and what each earlier try left.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cli, type CliResult } from './helpers/cli.js';
import { boardWith, committedRepo, git } from './helpers/git-repo.js';
import { readLog, type TempRepo } from './helpers/repo.js';

function ok(result: CliResult, what: string): any {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result.json?.result;
}

const BRANCH = 'guild/GLD-1-add-the-login-form';

function setup(t: { after(fn: () => void): void }): TempRepo {
  // retry_base 1ms: a failed task is claimable again at once.
  const repo = committedRepo(boardWith(['retry_base: 1ms'], ['- [ ] GLD-1 Add the login form']), { 'app.txt': 'one\n', '.gitignore': '*.log\n' });
  t.after(() => repo.remove());
  return repo;
}

/** Two commits on main that the task's branch does not have. */
function moveMain(repo: TempRepo): void {
  for (const n of [1, 2]) {
    writeFileSync(join(repo.dir, `main-${n}.txt`), `${n}\n`);
    git(repo.dir, 'add', `main-${n}.txt`);
    git(repo.dir, 'commit', '-q', '-m', `main ${n}`);
  }
}

describe('a failed try', () => {
  test('fail commits the uncommitted work as the try\'s commit; the next claimer is told what it inherits', (t) => {
    const repo = setup(t);
    const path = ok(cli(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'a' }), 'claim').worktree.path;
    // One commit of its own, then a tracked change, a new file and an ignored file left lying.
    writeFileSync(join(path, 'form.txt'), 'form\n');
    git(path, 'add', 'form.txt');
    git(path, 'commit', '-q', '-m', 'the form');
    writeFileSync(join(path, 'app.txt'), 'one\ntwo\n');
    writeFileSync(join(path, 'new.txt'), 'new\n');
    writeFileSync(join(path, 'scratch.log'), 'noise\n');

    const failed = cli(['fail', '--reason', 'tests broke\nin login.spec', '--json'], { cwd: path, agent: 'a' });
    const result = ok(failed, 'fail');
    assert.equal(result.saved.files, 2);
    const commit = result.saved.committed;
    assert.match(commit, /^[0-9a-f]{40}$/);
    assert.equal(git(repo.dir, 'rev-parse', BRANCH), commit);
    const message = git(repo.dir, 'log', '-1', '--format=%B', BRANCH);
    assert.match(message, /^GLD-1: try 1 failed: tests broke\n/);
    assert.match(message, /in login\.spec/);
    assert.deepEqual(git(repo.dir, 'show', '--name-only', '--format=', commit).split('\n').sort(), ['app.txt', 'new.txt']);
    // Nothing lost: the ignored file is still there, the worktree is otherwise clean.
    assert.equal(existsSync(join(path, 'scratch.log')), true);
    assert.equal(git(path, 'status', '--porcelain'), '');
    const event = readLog(repo).find((e) => e.type === 'task.failed') as any;
    assert.deepEqual(event.data, { reason: 'tests broke\nin login.spec', branch: BRANCH, head: commit, committed: commit, tries: 1, retry: event.data.retry });

    moveMain(repo);
    const claimed = cli(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'b' });
    const history = ok(claimed, 'claim by b').worktree.history;
    assert.deepEqual(history, {
      branch: BRANCH,
      main: 'main',
      behind: 2,
      ahead: 2,
      tries: [{ try: 1, agent: 'a', ended: 'failed', reason: 'tests broke\nin login.spec', at: event.ts, commits: 2, committed: commit }],
    });
    const human = cli(['claim', 'GLD-1'], { cwd: repo.dir, agent: 'b' });
    assert.equal(human.code, 0, human.stderr);
    // A second claim of one's own task hands nothing on, so it says nothing about earlier tries.
    assert.doesNotMatch(human.stderr + human.stdout, /behind/);
    ok(cli(['replay', '--check', '--json'], { cwd: repo.dir }), 'replay --check');
  });

  test('the human output names how far behind the branch is and each try\'s reason', (t) => {
    const repo = setup(t);
    const path = ok(cli(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'a' }), 'claim').worktree.path;
    writeFileSync(join(path, 'new.txt'), 'new\n');
    ok(cli(['fail', 'GLD-1', '--reason', 'no idea', '--json'], { cwd: repo.dir, agent: 'a' }), 'fail');
    ok(cli(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'b' }), 'claim by b');
    ok(cli(['fail', 'GLD-1', '--reason', 'still no idea', '--json'], { cwd: repo.dir, agent: 'b' }), 'fail by b (clean)');
    moveMain(repo);
    const human = cli(['claim', 'GLD-1'], { cwd: repo.dir, agent: 'c' });
    assert.equal(human.code, 0, human.stderr);
    const said = human.stdout + human.stderr;
    assert.match(said, new RegExp(`${BRANCH} is 2 commits behind main \\(1 ahead\\)`));
    assert.match(said, /try 1 by a: failed: no idea \(1 commit, its uncommitted work saved as [0-9a-f]{12}\)/);
    assert.match(said, /try 2 by b: failed: still no idea \(0 commits\)/);
  });

  test('a dead holder\'s leftovers: heal requeues, the next claim commits them as that try\'s commit first', async (t) => {
    const repo = setup(t);
    const holder = spawn('sleep', ['60'], { stdio: 'ignore' });
    const path = ok(cli(['claim', 'GLD-1', '--pid', String(holder.pid), '--json'], { cwd: repo.dir, agent: 'a' }), 'claim').worktree.path;
    writeFileSync(join(path, 'half.txt'), 'half done\n');
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    ok(cli(['heal', '--json'], { cwd: repo.dir }), 'heal');
    // heal leaves the worktree alone: the holder's work is still there, uncommitted.
    assert.equal(git(path, 'status', '--porcelain'), '?? half.txt');

    const claimed = ok(cli(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'b' }), 'claim by b');
    assert.equal(git(path, 'status', '--porcelain'), '');
    const head = git(repo.dir, 'rev-parse', BRANCH);
    assert.match(git(repo.dir, 'log', '-1', '--format=%s', BRANCH), /^GLD-1: try 1 healed: process \d+ is gone$/);
    assert.deepEqual(claimed.worktree.history.tries, [{ try: 1, agent: 'a', ended: 'healed', reason: claimed.worktree.history.tries[0].reason, at: claimed.worktree.history.tries[0].at, commits: 1, committed: head }]);
    assert.equal(claimed.worktree.history.ahead, 1);
    ok(cli(['replay', '--check', '--json'], { cwd: repo.dir }), 'replay --check');
  });

  test('a hook that refuses the commit does not stop the fail: the work stays, is said, and the next claim commits it', (t) => {
    const repo = setup(t);
    const path = ok(cli(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'a' }), 'claim').worktree.path;
    writeFileSync(join(path, 'new.txt'), 'new\n');
    const hook = join(repo.dir, '.git', 'hooks', 'pre-commit');
    writeFileSync(hook, '#!/bin/sh\necho "no commits today" >&2\nexit 1\n');
    chmodSync(hook, 0o755);
    const failed = ok(cli(['fail', 'GLD-1', '--reason', 'stuck', '--json'], { cwd: repo.dir, agent: 'a' }), 'fail');
    assert.equal(failed.saved.committed, null);
    assert.match(failed.saved.notCommitted, /no commits today/);
    assert.equal(existsSync(join(path, 'new.txt')), true);
    const event = readLog(repo).find((e) => e.type === 'task.failed') as any;
    assert.equal(event.data.uncommitted, 1);
    rmSync(hook);
    const claimed = cli(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'b' });
    const history = ok(claimed, 'claim by b').worktree.history;
    assert.match(claimed.stderr, /1 uncommitted path left by try 1 \(a, failed\) committed on guild\/GLD-1-add-the-login-form/);
    assert.equal(git(path, 'status', '--porcelain'), '');
    assert.match(git(repo.dir, 'log', '-1', '--format=%s', BRANCH), /^GLD-1: try 1 failed: stuck$/);
    assert.equal(history.tries[0].committed, git(repo.dir, 'rev-parse', BRANCH));
  });
});

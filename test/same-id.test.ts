// Two branches each `add` a task and both take the same next ID; one of them is claimed. The
// board's merge driver reports the duplicate and prints what to do; doing it must give a right
// board and history (issue 11, item 25): the claimed task keeps the ID with its owner, branch and
// events, and the other becomes a fresh task under a new ID in its own section, logged as created,
// with its own creation in its history and not in the other's.
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from './helpers/cli.js';
import { GIT_ENV, git } from './helpers/git-repo.js';
import { readLog, tempRepo, type TempRepo } from './helpers/repo.js';

function guild(repo: TempRepo, agent: string, ...args: string[]): any {
  const run = cli([...args, '--json'], { cwd: repo.dir, agent });
  assert.equal(run.code, 0, `guild-fs ${args.join(' ')}: ${run.stdout}${run.stderr}`);
  return run.json!.result;
}

function setup(t: { after(fn: () => void): void }): TempRepo {
  const repo = tempRepo();
  t.after(() => repo.remove());
  guild(repo, 'human', 'init');
  git(repo.dir, 'config', 'user.name', 't');
  git(repo.dir, 'config', 'user.email', 't@t');
  guild(repo, 'human', 'add', 'First');
  git(repo.dir, 'add', '-A');
  git(repo.dir, 'commit', '-qm', 'start');
  return repo;
}

function onBranch(repo: TempRepo, branch: string, work: () => void): void {
  git(repo.dir, 'checkout', '-q', '-b', branch, 'main');
  work();
  git(repo.dir, 'commit', '-qam', branch);
}

/** Merges `branch` into the one checked out; returns what git and the driver printed. */
function mergeConflicted(repo: TempRepo, into: string, branch: string): string {
  git(repo.dir, 'checkout', '-q', into);
  const run = spawnSync('git', ['merge', '--no-edit', branch], { cwd: repo.dir, env: GIT_ENV, encoding: 'utf8' });
  assert.notEqual(run.status, 0, 'the same ID on two branches is a conflict for a person to look at');
  return `${run.stdout}${run.stderr}`;
}

/** What the printed advice says: delete the marker lines, run `guild-fs sync`. */
function followAdvice(repo: TempRepo): void {
  repo.write(repo.read().replace(/^(<<<<<<<|=======|>>>>>>>).*\n/gm, ''));
  guild(repo, 'human', 'sync');
}

function showHistory(repo: TempRepo, id: string): { type: string; title?: string }[] {
  return guild(repo, 'human', 'show', id).history.map((event: any) => ({ type: event.type, ...(event.data.title ? { title: event.data.title } : {}) }));
}

function assertRight(repo: TempRepo, claimedBy: string): void {
  const board = repo.read();
  const claimed = new RegExp(`## In Progress\\n- \\[ \\] T-2 Claimed task owner:${claimedBy} branch:guild/T-2-claimed-task\\n`);
  assert.match(board, claimed, board);
  // The other task: a fresh one, a new ID, in Ready where it was, no owner or branch of the other's.
  assert.match(board, /## Ready\n- \[ \] T-1 First\n- \[ \] T-3 Unclaimed task\n\n## In Progress/, board);
  const check = cli(['replay', '--check'], { cwd: repo.dir });
  assert.equal(check.code, 0, check.stdout + check.stderr);
  const t2 = showHistory(repo, 'T-2');
  assert.deepEqual(t2.filter((e) => e.type === 'task.created'), [{ type: 'task.created', title: 'Claimed task' }]);
  assert.ok(t2.some((e) => e.type === 'task.claimed'));
  const t3 = showHistory(repo, 'T-3');
  assert.deepEqual(t3.filter((e) => e.type === 'task.created').map((e) => e.title), ['Unclaimed task', 'Unclaimed task']);
  assert.ok(!t3.some((e) => e.type === 'task.claimed' || e.type === 'worktree.created'));
  const created = readLog(repo).filter((e: any) => e.type === 'task.created' && e.task === 'T-3');
  assert.equal(created.length, 1, 'T-3 logged as created');
  // Nothing left for a second sync.
  assert.deepEqual(guild(repo, 'human', 'sync').recorded, {});
}

describe('the same ID added on two branches', () => {
  test('the claimed task on theirs keeps the ID; the advice gives ours\' a new one', (t) => {
    const repo = setup(t);
    onBranch(repo, 'x', () => guild(repo, 'human', 'add', 'Unclaimed task'));
    onBranch(repo, 'y', () => {
      guild(repo, 'human', 'add', 'Claimed task');
      guild(repo, 'a', 'claim', 'T-2');
    });
    const said = mergeConflicted(repo, 'x', 'y');
    assert.match(said, /T-2 was added on both branches as different tasks; the task from theirs keeps T-2 \(it was claimed[^)]*\), the one from ours is left without its ID between conflict markers in Ready: delete the marker lines and run `guild-fs sync`/);
    followAdvice(repo);
    assertRight(repo, 'a');
  });

  test('the claimed task on ours keeps the ID, even when the other was added after the claim', (t) => {
    const repo = setup(t);
    onBranch(repo, 'y', () => {
      guild(repo, 'human', 'add', 'Claimed task');
      guild(repo, 'b', 'claim', 'T-2');
    });
    // Added later than the claim: the merged log holds its task.created after T-2's claim.
    onBranch(repo, 'x', () => guild(repo, 'human', 'add', 'Unclaimed task'));
    const said = mergeConflicted(repo, 'y', 'x');
    assert.match(said, /the task from ours keeps T-2 \(it was claimed/);
    followAdvice(repo);
    assertRight(repo, 'b');
  });
});

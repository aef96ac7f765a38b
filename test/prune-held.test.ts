// Prune never takes a worktree from a working agent (issue 10): a person ticks `[x]` on a task
// its agent still holds, and neither `worktree prune` nor the daemon's branch reaction removes the
// agent's worktree while the task's lock is held, whatever the board says. Once the lock is gone
// (released, or healed) and the worktree is clean and merged, it goes as before.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, type CliResult } from './helpers/cli.js';
import { killAllDaemons, startDaemon, waitFor, type RunningDaemon } from './helpers/daemon.js';
import { boardWith, committedRepo, git } from './helpers/git-repo.js';
import { killSleepers, makeLock, readOwner, startSleeper, writeOwner } from './helpers/heal-cases.js';
import { readLog, type TempRepo } from './helpers/repo.js';

after(killAllDaemons);
after(killSleepers);

function ok(result: CliResult, what: string): any {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result.json?.result;
}

const lockDir = (repo: TempRepo, id: string): string => join(repo.dir, '.git', 'guild', 'locks', `${id}.lock`);

function setup(t: { after(fn: () => void): void }, ready = ['- [ ] GLD-1 Add the login form']): TempRepo {
  const repo = committedRepo(boardWith([], ready), { 'app.txt': 'one\ntwo\n' });
  t.after(() => repo.remove());
  return repo;
}

function claimWorktree(repo: TempRepo, agent: string, id: string): { path: string; branch: string } {
  const claimed = ok(cli(['claim', id, '--json'], { cwd: repo.dir, agent }), `claim ${id}`);
  return { path: claimed.worktree.path, branch: claimed.worktree.branch };
}

/** What a person does in an editor: `[ ]` -> `[x]` on the task's line, nothing else. */
function tickByHand(repo: TempRepo, id: string): void {
  const before = repo.read();
  const after = before.replace(new RegExp(`^- \\[ \\] ${id} `, 'm'), `- [x] ${id} `);
  assert.notEqual(after, before, `${id} has no unticked line`);
  repo.write(after);
}

function listed(repo: TempRepo, id: string): any {
  return ok(cli(['worktree', 'list', '--json'], { cwd: repo.dir }), 'worktree list').worktrees.find((wt: any) => wt.task === id);
}

function prune(repo: TempRepo): { removed: any[]; kept: any[] } {
  return ok(cli(['worktree', 'prune', '--json'], { cwd: repo.dir }), 'worktree prune');
}

const branchExists = (repo: TempRepo, branch: string): boolean => git(repo.dir, 'branch', '--list', branch) !== '';

/**
 * How long to wait for a daemon reaction: generous, since the machine running the tests may be
 * shared by several suites at once; a reaction usually comes within a second.
 */
const REACTION_MS = 30_000;

function daemonReport(repo: TempRepo): any {
  try {
    return JSON.parse(readFileSync(join(repo.dir, '.git', 'guild', 'daemon.json'), 'utf8'));
  } catch {
    return null; // not written yet, or being rewritten
  }
}

/** The time the daemon's last branch reaction finished (daemon.json's conflicts.at), or 0. */
function lastBranchReaction(repo: TempRepo): number {
  const at = daemonReport(repo)?.conflicts?.at;
  return at ? Date.parse(at) : 0;
}

/** What a timed-out wait shows: the daemon's stderr and its report. */
const explain = (repo: TempRepo, daemon: RunningDaemon) => (): string => `${daemon.stderr()}\ndaemon.json: ${JSON.stringify(daemonReport(repo))}`;

/**
 * Waits until a branch reaction has finished after `since` (a moment before what should trigger
 * it, or while another reaction was running: reactions run one at a time, so one that finishes
 * later started after that one ended).
 */
async function pastABranchReaction(repo: TempRepo, daemon: RunningDaemon, since: number): Promise<void> {
  await waitFor('a branch reaction of the daemon', () => lastBranchReaction(repo) > since, REACTION_MS, explain(repo, daemon));
}

/** Waits for the daemon's board reaction to the person's tick to end; returns the time of its task.completed, written inside it. */
async function tickRecorded(repo: TempRepo, daemon: RunningDaemon, id: string): Promise<number> {
  await waitFor('the daemon to record the tick', () => /board: recorded [^\n]*task\.completed/.test(daemon.stderr()) || undefined, REACTION_MS, explain(repo, daemon));
  const completed = await waitFor('the daemon to record the tick', () => readLog(repo).find((event) => event.type === 'task.completed' && event.task === id), REACTION_MS, explain(repo, daemon));
  return Date.parse(completed.ts as string);
}

/** A commit on main: the branches move, and the daemon reacts to them. */
function commitOnMain(repo: TempRepo, n: number): void {
  writeFileSync(join(repo.dir, `main-${n}.txt`), `${n}\n`);
  git(repo.dir, 'add', `main-${n}.txt`);
  git(repo.dir, 'commit', '-q', '-m', `main moves on (${n})`, '--', `main-${n}.txt`);
}

describe('a hand tick of a task its agent holds', () => {
  test('sync moves it to Done; prune keeps the worktree and branch while the lock is held, naming it; list says no commits', (t) => {
    const repo = setup(t);
    const { path, branch } = claimWorktree(repo, 'agent-a', 'GLD-1');
    const owner = readFileSync(join(lockDir(repo, 'GLD-1'), 'owner.json'), 'utf8');
    tickByHand(repo, 'GLD-1');
    ok(cli(['sync'], { cwd: repo.dir }), 'sync');
    assert.match(repo.read(), /## Done\n- \[x\] GLD-1 /);
    if (!existsSync(lockDir(repo, 'GLD-1'))) {
      // Once a hand tick releases the agent's lock (the lead's half of issue 10), the lock is put
      // back as it was: a lock held while the board says Done is what this test asks about.
      mkdirSync(lockDir(repo, 'GLD-1'));
      writeFileSync(join(lockDir(repo, 'GLD-1'), 'owner.json'), owner);
    }

    const wt = listed(repo, 'GLD-1');
    assert.deepEqual([wt.status, wt.ahead, wt.dirty, wt.noCommits, wt.claimLock], ['done', 0, 0, true, { agent: 'agent-a' }]);
    const human = cli(['worktree', 'list'], { cwd: repo.dir });
    assert.match(human.stdout + human.stderr, /no commits/);

    for (const args of [['worktree', 'prune', '--dry-run', '--json'], ['worktree', 'prune', '--json']]) {
      const result = ok(cli(args, { cwd: repo.dir }), args.join(' '));
      assert.deepEqual(result.removed, [], args.join(' '));
      assert.deepEqual(result.kept.map((k: any) => [k.task, k.reason]), [['GLD-1', "held by agent-a's lock"]]);
    }
    assert.ok(existsSync(path), 'the worktree stays');
    assert.ok(branchExists(repo, branch), 'the branch stays');
    assert.deepEqual(readLog(repo).filter((event) => event.type === 'worktree.removed'), []);

    // Released (heal breaks a lock left on a Done task once its claim's maker is gone; the lead's
    // change releases it at the tick): clean, and merged since it has nothing of its own, it goes.
    ok(cli(['heal'], { cwd: repo.dir }), 'heal');
    assert.equal(existsSync(lockDir(repo, 'GLD-1')), false, 'heal removed the lock left behind');
    const pruned = prune(repo);
    assert.deepEqual(pruned.removed.map((r: any) => [r.task, r.branchDeleted]), [['GLD-1', true]]);
    assert.equal(existsSync(path), false);
    assert.equal(branchExists(repo, branch), false);
    ok(cli(['replay', '--check'], { cwd: repo.dir }), 'replay --check');
  });

  test('any lock counts, even one whose owner cannot be read: it is kept until heal judges it', (t) => {
    const repo = setup(t);
    const { path } = claimWorktree(repo, 'agent-a', 'GLD-1');
    tickByHand(repo, 'GLD-1');
    ok(cli(['sync'], { cwd: repo.dir }), 'sync');
    // A lock dir without owner.json: a claim between its mkdir and its owner write.
    rmSync(lockDir(repo, 'GLD-1'), { recursive: true, force: true });
    mkdirSync(lockDir(repo, 'GLD-1'));
    const pruned = prune(repo);
    assert.deepEqual(pruned.removed, []);
    assert.deepEqual(pruned.kept.map((k: any) => k.task), ['GLD-1']);
    assert.match(pruned.kept[0].reason, /^held by a lock /);
    assert.deepEqual(listed(repo, 'GLD-1').claimLock, { agent: null });
    assert.ok(existsSync(path));
  });

  test('a Done, released task whose worktree has uncommitted work keeps it', (t) => {
    const repo = setup(t);
    const { path, branch } = claimWorktree(repo, 'agent-a', 'GLD-1');
    writeFileSync(join(path, 'half-done.txt'), 'not committed yet\n');
    tickByHand(repo, 'GLD-1');
    ok(cli(['sync'], { cwd: repo.dir }), 'sync');
    ok(cli(['heal'], { cwd: repo.dir }), 'heal');
    assert.equal(existsSync(lockDir(repo, 'GLD-1')), false, 'released');
    const wt = listed(repo, 'GLD-1');
    assert.deepEqual([wt.status, wt.dirty, wt.claimLock], ['done', 1, null]);
    const pruned = prune(repo);
    assert.deepEqual(pruned.removed, []);
    assert.deepEqual(pruned.kept.map((k: any) => [k.task, k.reason]), [['GLD-1', '1 uncommitted file(s)']]);
    assert.equal(readFileSync(join(path, 'half-done.txt'), 'utf8'), 'not committed yet\n');
    assert.ok(branchExists(repo, branch));
  });

  test('a branch committed on and merged is merged work, not "no commits"', (t) => {
    const repo = setup(t);
    const { path, branch } = claimWorktree(repo, 'agent-a', 'GLD-1');
    writeFileSync(join(path, 'work.txt'), 'work\n');
    git(path, 'add', 'work.txt');
    git(path, 'commit', '-q', '-m', 'work');
    git(repo.dir, 'merge', '-q', '--ff-only', branch);
    const wt = listed(repo, 'GLD-1');
    assert.deepEqual([wt.ahead, wt.merged, wt.noCommits], [0, true, false]);
  });
});

describe('the daemon and a held worktree', () => {
  test('a hand tick under a running daemon releases the claim; the clean worktree with no commits then goes', async (t) => {
    const repo = setup(t);
    const { path, branch } = claimWorktree(repo, 'agent-a', 'GLD-1');
    // Heal breaks a lock left on a Done task (its claim's maker is gone) at its next tick; kept
    // out of the way here, where the question is what the branch reaction does while it is held.
    const started = Date.now();
    const daemon = await startDaemon(repo, ['--heal-every', '1h']);
    await pastABranchReaction(repo, daemon, started);
    tickByHand(repo, 'GLD-1');
    const ticked = await tickRecorded(repo, daemon, 'GLD-1');
    // A hand tick is the person's completion: the agent's lock goes right after the board write
    // (the event is logged before it, so the test waits for the release itself).
    await waitFor('the tick to release the lock', () => !existsSync(lockDir(repo, 'GLD-1')), REACTION_MS, explain(repo, daemon));
    await pastABranchReaction(repo, daemon, ticked);
    await waitFor('the daemon to remove the released worktree', () => /worktrees: removed the merged worktree of GLD-1/.test(daemon.stderr()) || undefined, REACTION_MS, explain(repo, daemon));
    assert.equal(existsSync(path), false);
    assert.equal(branchExists(repo, branch), false);
    await daemon.kill('SIGTERM');
  });

  test('Done on the board, merged and clean, but its lock held: kept through several branch reactions', async (t) => {
    const repo = setup(t);
    const { path, branch } = claimWorktree(repo, 'agent-a', 'GLD-1');
    // The agent's lock, made by a process still alive: heal (every second here, and only heal
    // removes locks) takes it for a claim under way when the board stops showing it, and leaves
    // it, so the lock stays held whatever the board says.
    const maker = startSleeper();
    // (Not `recorded`: a claim still being made, which heal must leave to its maker.)
    const { recorded: _recorded, ...made } = readOwner(repo, 'GLD-1');
    const owner = { ...made, claimPid: maker.pid, claimPidStart: maker.pidStart };
    writeOwner(repo, 'GLD-1', owner);
    const daemon = await startDaemon(repo);
    writeFileSync(join(path, 'work.txt'), 'work\n');
    git(path, 'add', 'work.txt');
    git(path, 'commit', '-q', '-m', 'work');
    tickByHand(repo, 'GLD-1');
    await tickRecorded(repo, daemon, 'GLD-1');
    // A hand tick releases the agent's lock (right after the board write); it is put back: a lock
    // held while the board says Done is what this test asks about. The work is not merged yet,
    // so nothing could have been removed in between.
    await waitFor('the tick to release the lock', () => !existsSync(lockDir(repo, 'GLD-1')), REACTION_MS, explain(repo, daemon));
    makeLock(repo, owner);
    const merging = Date.now();
    git(repo.dir, 'merge', '-q', '--ff-only', branch);
    await pastABranchReaction(repo, daemon, merging);
    for (let n = 1; n <= 3; n++) {
      const moving = Date.now();
      commitOnMain(repo, n);
      await pastABranchReaction(repo, daemon, moving);
      assert.ok(existsSync(path), `the worktree stays (branch reaction ${n})`);
      assert.ok(branchExists(repo, branch), `the branch stays (branch reaction ${n})`);
    }
    const wt = listed(repo, 'GLD-1');
    assert.deepEqual([wt.status, wt.merged, wt.dirty, wt.noCommits, wt.claimLock], ['done', true, 0, false, { agent: 'agent-a' }]);
    assert.doesNotMatch(daemon.stderr(), /removed the merged worktree/);
    assert.deepEqual(readLog(repo).filter((event) => event.type === 'worktree.removed'), []);
    await daemon.kill('SIGTERM');
  });
});

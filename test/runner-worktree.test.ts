// Issue 20, items 2-3: an agent runs only in its task's worktree. Each refusal path of
// claim-workspace.ts and the runner's last look before the spawn, with the built CLI as real
// processes: the try does not start, no agent runs, and the claim is given back with the reason
// (task.released) while it is still the runner's; a claim lost meanwhile is said and left alone.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from './helpers/cli.js';
import { agentPlaces, runnerFixture, type RunnerFixture } from './helpers/fake-agent.js';
import { git } from './helpers/git-repo.js';
import { readLog, type TempRepo, worktreePath } from './helpers/repo.js';

type Fixture = RunnerFixture;
const fixture = runnerFixture;

function runJson(f: Fixture, args: string[] = []) {
  const run = cli(['run', '--json', '--agent', 'w', ...args, '--', process.execPath, f.agent], { cwd: f.repo.dir, env: { FAKE_STATE: f.state } });
  const events = run.stdout.trim() === '' ? [] : run.stdout.trim().split('\n').map((line) => JSON.parse(line));
  return { ...run, events };
}

const eventsOf = (repo: TempRepo, type: string, task: string) => readLog(repo).filter((event) => event.type === type && event.task === task);

test('a worktree that cannot be made: no agent starts, the claim is released with the reason, no try is counted', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'guild-fs-root-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const f = fixture(t, [`worktree_root: ${JSON.stringify(root)}`], ['- [ ] GLD-1 ok blocked by a stranger']);
  // Someone else's directory where the worktree would go: guild-fs never moves it.
  mkdirSync(join(root, 'GLD-1'));
  writeFileSync(join(root, 'GLD-1', 'theirs.txt'), 'mine\n');
  const run = runJson(f);
  assert.deepEqual(agentPlaces(f.state), [], 'no agent may start');
  const released = eventsOf(f.repo, 'task.released', 'GLD-1');
  // Refused three times in the run, then the worker stops (exit 1) rather than loop on it.
  assert.equal(released.length, 3, JSON.stringify(readLog(f.repo)));
  for (const event of released) {
    assert.match(String((event.data as any).reason), /worktree could not be made: .*exists and is not a worktree of this repository/);
    assert.equal((event.data as any).started, false);
  }
  assert.equal(eventsOf(f.repo, 'task.failed', 'GLD-1').length, 0);
  assert.equal(eventsOf(f.repo, 'task.completed', 'GLD-1').length, 0);
  assert.equal(run.code, 1, run.stderr);
  const said = run.events.filter((event) => event.event === 'task.released' && event.task === 'GLD-1');
  assert.equal(said.length, 3);
  assert.ok(run.events.some((event) => event.event === 'worker.error' && /refused 3 times/.test(event.message)), run.stdout);
  assert.match(f.repo.read(), /^## Ready\n- \[ \] GLD-1 ok blocked by a stranger$/m);
  assert.equal(cli(['replay', '--check'], { cwd: f.repo.dir }).code, 0);
});

test('a worktree whose branch is not the task\'s: no agent starts, released with the reason', (t) => {
  // worktree_setup switches the new worktree to another branch: what the claim hands out must
  // have the task's branch checked out.
  const f = fixture(t, ['worktree_setup: git checkout -q -b not-the-task'], ['- [ ] GLD-1 ok on the wrong branch']);
  assert.equal(cli(['trust'], { cwd: f.repo.dir }).code, 0);
  const run = runJson(f);
  assert.deepEqual(agentPlaces(f.state), []);
  const released = eventsOf(f.repo, 'task.released', 'GLD-1');
  assert.ok(released.length >= 1, JSON.stringify(readLog(f.repo)));
  assert.match(String((released[0]!.data as any).reason), /has not-the-task checked out, not guild\/GLD-1-/);
  assert.equal(eventsOf(f.repo, 'task.failed', 'GLD-1').length, 0);
  assert.notEqual(run.code, 0);
});

test('a claim lost before the agent starts (its lock broken meanwhile): no agent, nothing recorded for it, said', (t) => {
  // worktree_setup removes the claim's lock, as a heal that judged it stale would: the lock is
  // no longer the claim's, so nothing may be released or started in its name.
  const f = fixture(t, ['worktree_setup: [sh, -c, \'rm -rf "$(git rev-parse --git-common-dir)/guild/locks/GLD-1.lock"\']'], ['- [ ] GLD-1 ok lost meanwhile']);
  assert.equal(cli(['trust'], { cwd: f.repo.dir }).code, 0);
  const run = runJson(f);
  assert.deepEqual(agentPlaces(f.state), []);
  assert.equal(eventsOf(f.repo, 'task.released', 'GLD-1').length, 0, JSON.stringify(readLog(f.repo)));
  assert.equal(eventsOf(f.repo, 'task.completed', 'GLD-1').length, 0);
  assert.equal(eventsOf(f.repo, 'task.failed', 'GLD-1').length, 0);
  assert.ok(run.events.some((event) => event.event === 'run.note' && event.task === 'GLD-1' && /no agent started: .*claim .*lost/.test(event.message)), run.stdout);
});

test('with worktrees on, every agent runs in its own worktree on its branch; the work is committed there, never on main', (t) => {
  const f = fixture(t, [], ['- [ ] GLD-1 ok leaves its file uncommitted', '- [ ] GLD-2 commits its file', '- [ ] GLD-3 ok again']);
  const mainBefore = git(f.repo.dir, 'rev-parse', 'main');
  const run = runJson(f, ['-j', '2']);
  assert.equal(run.code, 0, run.stderr);
  const places = agentPlaces(f.state);
  assert.equal(places.length, 3);
  for (const place of places) {
    assert.equal(place.toplevel, worktreePath(f.repo, place.task));
    assert.match(place.branch ?? '', new RegExp(`^guild/${place.task}-`));
  }
  assert.equal(git(f.repo.dir, 'rev-parse', 'main'), mainBefore, 'nothing committed on main');
  for (const id of ['GLD-1', 'GLD-2', 'GLD-3']) {
    assert.equal(eventsOf(f.repo, 'task.completed', id).length, 1);
    const branch = git(f.repo.dir, 'for-each-ref', '--format=%(refname:short)', `refs/heads/guild/${id}-*`);
    assert.match(git(f.repo.dir, 'show', `${branch}:${id}.txt`), new RegExp(`work of ${id}`));
  }
});

test('a complete by hand after the runner\'s claim: the runner records no second completion', (t) => {
  // `complete` by the worker's name from outside (a person finishing the task for it) while the
  // agent holds: the runner's complete then finds the task Done and records nothing more.
  const f = fixture(t, [], ['- [ ] GLD-1 hold until told']);
  const runner = cli(['claim', 'GLD-1', '--json'], { cwd: f.repo.dir, agent: 'w-1' });
  assert.equal(runner.code, 0, runner.stderr);
  const path = runner.json!.result.worktree.path as string;
  writeFileSync(join(path, 'GLD-1.txt'), 'by hand\n');
  assert.equal(cli(['complete', 'GLD-1', '--commit-all', 'by hand'], { cwd: f.repo.dir, agent: 'w-1' }).code, 0);
  const again = cli(['complete', 'GLD-1'], { cwd: f.repo.dir, agent: 'w-1' });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(eventsOf(f.repo, 'task.completed', 'GLD-1').length, 1);
});

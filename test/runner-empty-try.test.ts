// A try that changed nothing is not a completion, and a silent agent is stopped (issue 21, items 3
// and 5; SPEC section 8). The built CLI runs the fake agent (helpers/fake-agent.ts) in temp repos:
// `nothing` exits 0 having changed nothing, `commits` commits, `ok` leaves a file uncommitted,
// `hang` prints once and goes silent, `chatty` prints every 50 ms until it is done.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from './helpers/cli.js';
import { runnerFixture, type RunnerFixture } from './helpers/fake-agent.js';
import { git } from './helpers/git-repo.js';
import { readLog } from './helpers/repo.js';

function runJson(f: RunnerFixture, args: string[], command: string[] = ['--', process.execPath, f.agent]) {
  const run = cli(['run', '--json', '--agent', 'w', ...args, ...command], { cwd: f.repo.dir, env: { FAKE_STATE: f.state } });
  const events = run.stdout.trim() === '' ? [] : run.stdout.trim().split('\n').map((line) => JSON.parse(line));
  return { ...run, events };
}

const tasks = (f: RunnerFixture): Map<string, any> => new Map(JSON.parse(cli(['list', '--json'], { cwd: f.repo.dir }).stdout).result.tasks.map((task: any) => [task.id, task]));
const ended = (events: any[], id: string): any[] => events.filter((e) => (e.event === 'task.done' || e.event === 'task.failed') && e.task === id);

describe('run: a try that changed nothing fails', () => {
  test('exit 0 with no change: the try fails with the reason, counts as a try, and the reason shows in show and the log', (t) => {
    const f = runnerFixture(t, [], ['- [ ] nothing to see here']);
    const head = git(f.repo.dir, 'rev-parse', 'HEAD');
    const run = runJson(f, ['--max-tasks', '1']);
    assert.equal(run.code, 6, run.stderr);
    const [failed] = ended(run.events, 'GLD-1');
    assert.equal(failed.event, 'task.failed');
    assert.match(failed.reason, /^the agent made no change \(it exited 0; no commit on guild\/GLD-1-\S+ since the try began, nothing uncommitted\)/);
    assert.match(failed.reason, /empty:ok/);
    assert.match(failed.reason, /its last lines:\nI could not find anything to change/);
    const task = tasks(f).get('GLD-1');
    assert.equal(task.status, 'ready');
    assert.equal(task.tries, 1);
    assert.notEqual(task.retry, null);
    assert.equal(git(f.repo.dir, 'rev-parse', 'HEAD'), head, 'nothing was committed for it');
    const logged = readLog(f.repo).filter((e: any) => e.type === 'task.failed') as any[];
    assert.equal(logged.length, 1);
    assert.match(logged[0].data.reason, /^the agent made no change/);
    const show = cli(['show', 'GLD-1'], { cwd: f.repo.dir });
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /the agent made no change/);
  });

  test('after max_tries empty tries the task is Failed, as after any failed try', (t) => {
    const f = runnerFixture(t, ['max_tries: 1'], ['- [ ] nothing at all']);
    const run = runJson(f, []);
    assert.equal(run.code, 6, run.stderr);
    assert.equal(ended(run.events, 'GLD-1')[0].poisoned, true);
    const task = tasks(f).get('GLD-1');
    assert.equal(task.status, 'failed');
    assert.equal(task.tries, 1);
  });

  test('a commit counts, and so does work left uncommitted (committed for it)', (t) => {
    const f = runnerFixture(t, [], ['- [ ] commits its work', '- [ ] ok leaves it uncommitted']);
    const run = runJson(f, []);
    assert.equal(run.code, 0, run.stderr);
    for (const id of ['GLD-1', 'GLD-2']) assert.equal(ended(run.events, id)[0].event, 'task.done', id);
    const branch = tasks(f).get('GLD-2').branch;
    assert.equal(git(f.repo.dir, 'show', '--format=', '--name-only', branch), 'GLD-2.txt');
  });

  test('what guild-fs put in the worktree itself (worktree_copy of a file git does not ignore) is not a change', (t) => {
    const f = runnerFixture(t, ['worktree_copy: [local.env]'], ['- [ ] nothing but the copy']);
    writeFileSync(join(f.repo.dir, 'local.env'), 'TOKEN=x\n');
    const run = runJson(f, ['--max-tasks', '1']);
    assert.equal(run.code, 6, run.stderr);
    assert.match(ended(run.events, 'GLD-1')[0].reason, /^the agent made no change/);
  });

  test('an earlier try\'s leftovers are committed at the claim, before the try begins: a try that adds nothing to them fails', (t) => {
    const f = runnerFixture(t, ['max_tries: 1'], ['- [ ] nothing more to do']);
    const claimed = cli(['claim', 'GLD-1', '--agent', 'someone', '--json'], { cwd: f.repo.dir });
    assert.equal(claimed.code, 0, claimed.stderr);
    const worktree = claimed.json!.result.worktree.path as string;
    writeFileSync(join(worktree, 'half.txt'), 'left by a try that was stopped\n');
    assert.equal(cli(['release', 'GLD-1', '--agent', 'someone'], { cwd: f.repo.dir }).code, 0);
    const run = runJson(f, []);
    assert.equal(run.code, 6, run.stdout + run.stderr);
    assert.ok(run.events.some((e) => e.event === 'run.note' && /1 uncommitted path left by try 1 \(someone, released\) committed/.test(e.message)), run.stdout);
    assert.match(ended(run.events, 'GLD-1')[0].reason, /^the agent made no change/);
    assert.equal(git(worktree, 'show', '--format=', '--name-only', 'HEAD'), 'half.txt', 'the leftover is on the branch, for whoever takes it next');
  });

  test('empty:ok on the task, allow_empty: true on a profile, and run --allow-empty let it complete', (t) => {
    const f = runnerFixture(t, [], ['- [ ] nothing needed empty:ok', '- [ ] nothing either']);
    const byTask = runJson(f, ['--max-tasks', '1']);
    assert.equal(ended(byTask.events, 'GLD-1')[0].event, 'task.done', byTask.stdout);
    const byRun = runJson(f, ['--allow-empty']);
    assert.equal(byRun.code, 0, byRun.stderr);
    assert.equal(ended(byRun.events, 'GLD-2')[0].event, 'task.done');

    const g = runnerFixture(t, ['agents:', '  checker:', `    command: ${JSON.stringify([process.execPath, 'AGENT'])}`, '    allow_empty: true'], ['- [ ] nothing to fix']);
    const board = join(g.repo.dir, 'ACTIVE_TASKS.md');
    // The profile runs the fake agent of this fixture's state folder.
    writeFileSync(board, readFileSync(board, 'utf8').replace('AGENT', g.agent));
    assert.equal(cli(['trust'], { cwd: g.repo.dir }).code, 0);
    const byProfile = runJson(g, [], []);
    assert.equal(byProfile.code, 0, byProfile.stderr + byProfile.stdout);
    assert.equal(ended(byProfile.events, 'GLD-1')[0].event, 'task.done');
    assert.equal(ended(byProfile.events, 'GLD-1')[0].worker, 'checker-1');
  });

  test('without worktrees (worktrees: false): the main checkout is judged, the board and log guild-fs writes there not counting', (t) => {
    const f = runnerFixture(t, ['worktrees: false', 'max_tries: 1'], ['- [ ] nothing here', '- [ ] ok here']);
    const run = runJson(f, []);
    assert.match(ended(run.events, 'GLD-1')[0].reason, /^the agent made no change \(it exited 0; no commit since the try began/);
    assert.equal(ended(run.events, 'GLD-2')[0].event, 'task.done', run.stdout);
  });

  test('add --empty-ok writes empty:ok; show says it; a title ending in empty:ok is refused as a field', (t) => {
    const f = runnerFixture(t, [], []);
    const added = cli(['add', '--empty-ok', 'Check the links'], { cwd: f.repo.dir });
    assert.equal(added.code, 0, added.stderr);
    assert.match(f.repo.read('ACTIVE_TASKS.md'), /^- \[ \] GLD-1 Check the links empty:ok$/m);
    assert.equal(tasks(f).get('GLD-1').empty, 'ok');
    assert.match(cli(['show', 'GLD-1'], { cwd: f.repo.dir }).stdout, /empty:ok/);
    const typed = cli(['add', 'Check the links empty:ok'], { cwd: f.repo.dir });
    assert.equal(typed.code, 2);
    assert.match(typed.stderr, /--empty-ok/);
  });

  test('a bad empty: value is refused with file:line (a bad allow_empty: runner-profiles.test.ts)', (t) => {
    const f = runnerFixture(t, [], []);
    writeFileSync(join(f.repo.dir, 'ACTIVE_TASKS.md'), readFileSync(join(f.repo.dir, 'ACTIVE_TASKS.md'), 'utf8').replace('## Ready\n', '## Ready\n- [ ] nothing empty:yes\n'));
    const list = cli(['list'], { cwd: f.repo.dir });
    assert.equal(list.code, 2);
    assert.match(list.stderr, /ACTIVE_TASKS\.md:\d+: empty:yes: empty takes one value, ok/);
    const run = cli(['run', '--', process.execPath, f.agent], { cwd: f.repo.dir });
    assert.equal(run.code, 2, 'the runner refuses the board too, and claims nothing');
  });
});

describe('run --idle-timeout: a silent agent is stopped as on --timeout', () => {
  test('one that printed, then went silent, is stopped after the idle time; one that keeps printing (lines on stdout, then a redrawn line on stderr) is not', (t) => {
    const f = runnerFixture(t, ['max_tries: 1'], ['- [ ] hang after one line', '- [ ] chatty all along']);
    const run = runJson(f, ['-j', '2', '--idle-timeout', '1s', '--kill-after', '300ms'], ['--', process.execPath, f.agent]);
    assert.equal(run.code, 6, run.stderr);
    const hang = ended(run.events, 'GLD-1')[0];
    assert.equal(hang.event, 'task.failed');
    assert.match(hang.reason, /^the agent printed nothing for 1s and was stopped \(--idle-timeout; signal SIGTERM\)/);
    assert.doesNotMatch(hang.reason, /timed out/);
    assert.match(hang.reason, /its last lines:\nhanging/);
    assert.equal(ended(run.events, 'GLD-2')[0].event, 'task.done', JSON.stringify(run.events));
    const log = cli(['output', 'GLD-2'], { cwd: f.repo.dir }).stdout;
    assert.match(log, /^step 1$/m);
    assert.match(log, /(\r?step \d+){10,}/, 'the stderr half came too, as one line redrawn');
  });

  test('--idle-timeout takes a duration', (t) => {
    const f = runnerFixture(t, [], ['- [ ] ok']);
    const run = cli(['run', '--idle-timeout', 'soon', '--', process.execPath, f.agent], { cwd: f.repo.dir });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--idle-timeout: not a duration: "soon"/);
  });
});

// `guild-fs run` as a whole (issue 12, items 1 and 8): when it ends and with what exit code, what
// it refuses, Ctrl-C once and twice, a runner killed with SIGKILL (heal requeues its tasks, and no
// agent it started survives it), and 4 workers draining a 40-task board with needs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BIN, cli } from './helpers/cli.js';
import { alive, runnerFixture, type RunnerFixture } from './helpers/fake-agent.js';
import { readLog, type TempRepo } from './helpers/repo.js';

type Fixture = RunnerFixture;
const fixture = runnerFixture;

function runJson(f: Fixture, args: string[]) {
  const run = cli(['run', '--json', '--agent', 'w', ...args, '--', process.execPath, f.agent], { cwd: f.repo.dir, env: { FAKE_STATE: f.state } });
  const events = run.stdout.trim() === '' ? [] : run.stdout.trim().split('\n').map((line) => JSON.parse(line));
  return { ...run, events };
}

/** A runner in the background, its NDJSON events collected as they come. */
function background(f: Fixture, args: string[]): { child: ChildProcess; events: any[]; until(pred: (events: any[]) => boolean): Promise<void>; exit: Promise<number | null> } {
  const env: NodeJS.ProcessEnv = { ...process.env, FAKE_STATE: f.state };
  delete env.GUILD_AGENT;
  const child = spawn(process.execPath, [BIN, 'run', '--json', '--agent', 'w', ...args, '--', process.execPath, f.agent], { cwd: f.repo.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: any[] = [];
  let waiters: (() => void)[] = [];
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let at;
    while ((at = buffered.indexOf('\n')) >= 0) {
      events.push(JSON.parse(buffered.slice(0, at)));
      buffered = buffered.slice(at + 1);
    }
    for (const wake of waiters) wake();
  });
  child.stderr!.resume();
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const until = async (pred: (events: any[]) => boolean): Promise<void> => {
    while (!pred(events)) {
      if (child.exitCode !== null) throw new Error(`the runner ended first: ${JSON.stringify(events)}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        child.once('close', resolve);
      });
      waiters = [];
    }
  };
  return { child, events, until, exit };
}

const count = (events: any[], type: string): number => events.filter((e) => e.event === type).length;
const statuses = (f: Fixture): Record<string, string> =>
  Object.fromEntries(JSON.parse(cli(['list', '--json'], { cwd: f.repo.dir }).stdout).result.tasks.map((t: any) => [t.id, t.status]));
const pidOf = (f: Fixture, id: string): number => Number(readFileSync(join(f.state, `${id}.pid`), 'utf8'));

/** Waits (without a clock in the assertion) until `pred` holds, looking every 50 ms, failing after many looks. */
async function eventually(pred: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (pred()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`never: ${what}`);
}

describe('run: when it ends, and what it refuses', () => {
  test('nothing to do: exit 5, the summary says so', (t) => {
    const f = fixture(t, [], []);
    const run = runJson(f, []);
    assert.equal(run.code, 5, run.stderr);
    assert.deepEqual(run.events.map((e) => e.event), ['run.started', 'run.summary']);
    const plain = cli(['run', '--agent', 'w', '--', process.execPath, f.agent], { cwd: f.repo.dir });
    assert.equal(plain.code, 5);
    assert.match(plain.stdout, /nothing to do/);
  });

  test('bad input exits 2 with a message, no stack trace, nothing claimed', (t) => {
    const f = fixture(t, [], ['- [ ] ok one']);
    for (const args of [['run'], ['run', '--'], ['run', '-j', '0', '--', 'x'], ['run', '-j', '1.5', '--', 'x'], ['run', '--timeout', 'soon', '--', 'x'], ['run', '--max-tasks', '0', '--', 'x'], ['run', '--agent', 'a/b', '--', 'true'], ['run', '--', 'no-such-agent-command'], ['run', '--', './no-such-script']]) {
      const run = cli(args, { cwd: f.repo.dir });
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, /^guild-fs: /);
      assert.doesNotMatch(run.stderr, /\n\s+at /);
    }
    const json = cli(['run', '--json', '--'], { cwd: f.repo.dir });
    assert.equal(json.code, 2);
    assert.equal(JSON.parse(json.stdout).ok, false);
    assert.equal(statuses(f)['GLD-1'], 'ready');
  });

  test('an untrusted verify refuses the run up front (exit 2); trusted, a failing verify fails the try', (t) => {
    const f = fixture(t, ["verify: 'node -e process.exit(1)'", 'max_tries: 1'], ['- [ ] ok one']);
    const refused = runJson(f, []);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /not trusted/);
    assert.equal(statuses(f)['GLD-1'], 'ready');
    assert.equal(cli(['trust'], { cwd: f.repo.dir }).code, 0);
    const run = runJson(f, []);
    assert.equal(run.code, 6, run.stderr);
    const failed = run.events.find((e) => e.event === 'task.failed');
    assert.match(failed.reason, /verify .* failed/);
    assert.equal(statuses(f)['GLD-1'], 'failed');
  });

  test('--max-tasks K claims at most K; --no-commit fails a try that left work uncommitted', (t) => {
    const f = fixture(t, ['max_tries: 1'], ['- [ ] ok one', '- [ ] ok two', '- [ ] ok three']);
    const run = runJson(f, ['--max-tasks', '1']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(count(run.events, 'task.claimed'), 1);
    const strict = runJson(f, ['--max-tasks', '1', '--no-commit']);
    assert.equal(strict.code, 6, strict.stderr);
    assert.match(strict.events.find((e) => e.event === 'task.failed').reason, /uncommitted changes/);
  });
});

describe('run: the prompt', () => {
  test('a second try is told why the first failed, with its own try number and log', (t) => {
    const f = fixture(t, ['retry_base: 1ms', 'max_tries: 3'], ['- [ ] fail one']);
    assert.equal(runJson(f, ['--max-tasks', '1']).code, 6);
    const second = runJson(f, ['--max-tasks', '1']);
    assert.equal(second.code, 6, second.stderr);
    const seen = JSON.parse(readFileSync(join(f.state, 'GLD-1.seen'), 'utf8'));
    assert.equal(seen.env.GUILD_TRY, '2');
    assert.match(seen.prompt, /try 1 by w-1 failed:\n\s+the agent exited with status 3/);
    assert.match(seen.prompt, /boom: could not do GLD-1/);
    assert.equal(second.events.find((e) => e.event === 'task.claimed').try, 2);
    assert.match(second.events.find((e) => e.event === 'task.claimed').log, /GLD-1\/2\.log$/);
  });

  test('the repository\'s .guild/prompt.md replaces the shipped template', (t) => {
    const f = fixture(t, [], ['- [ ] ok one\n  the body']);
    writeFileSync(join(f.repo.dir, '.guild', 'prompt.md'), 'Custom: {{id}} / {{title}} / {{body}} / {{unknown}}\n');
    const run = runJson(f, []);
    assert.equal(run.code, 0, run.stderr);
    const seen = JSON.parse(readFileSync(join(f.state, 'GLD-1.seen'), 'utf8'));
    assert.equal(seen.prompt, 'Custom: GLD-1 / ok one / the body / {{unknown}}\n');
  });
});

describe('run: stopping', () => {
  test('first SIGINT: no new claims, running agents finish and complete (exit 0)', async (t) => {
    const f = fixture(t, [], ['- [ ] hold one', '- [ ] hold two', '- [ ] hold three', '- [ ] hold four']);
    const run = background(f, ['-j', '2']);
    await run.until((events) => count(events, 'task.claimed') === 2);
    run.child.kill('SIGINT');
    await run.until((events) => count(events, 'run.stopping') === 1);
    writeFileSync(join(f.state, 'go'), '');
    assert.equal(await run.exit, 0);
    assert.equal(count(run.events, 'task.claimed'), 2);
    assert.equal(count(run.events, 'task.done'), 2);
    assert.equal(run.events[run.events.length - 1].event, 'run.summary');
    assert.deepEqual(Object.values(statuses(f)).sort(), ['done', 'done', 'ready', 'ready']);
  });

  test('second SIGINT: the agents are stopped and their claims released (task.released, exit 6)', async (t) => {
    const f = fixture(t, [], ['- [ ] hang one', '- [ ] stubborn two', '- [ ] hang three']);
    const run = background(f, ['-j', '2', '--kill-after', '300ms']);
    await run.until((events) => count(events, 'task.claimed') === 2);
    const claimed = run.events.filter((e) => e.event === 'task.claimed').map((e) => e.task);
    await eventually(() => claimed.every((id) => existsSync(join(f.state, `${id}.pid`))), 'both agents started');
    run.child.kill('SIGINT');
    await run.until((events) => count(events, 'run.stopping') === 1);
    run.child.kill('SIGINT');
    assert.equal(await run.exit, 6);
    assert.equal(count(run.events, 'task.released'), 2);
    for (const id of claimed) assert.equal(alive(pidOf(f, id)), false, `${id}'s agent`);
    assert.deepEqual(Object.values(statuses(f)), ['ready', 'ready', 'ready']);
    const released = readLog(f.repo).filter((e) => e.type === 'task.released').map((e) => e.task);
    assert.deepEqual(released.sort(), [...claimed].sort());
  });

  test('second SIGINT while a verify runs: the verify and what it started are stopped, and the task released', async (t) => {
    const scripts = mkdtempSync(join(tmpdir(), 'guild-fs-verify-'));
    t.after(() => rmSync(scripts, { recursive: true, force: true }));
    const pids = join(scripts, 'pids');
    const verify = join(scripts, 'slow-verify.js');
    // A verify like `npm test`: a process that starts another, both running long.
    writeFileSync(verify, `const child = require('child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });\nrequire('fs').writeFileSync(${JSON.stringify(pids)}, process.pid + ' ' + child.pid);\nsetTimeout(() => {}, 60000);\n`);
    const f = fixture(t, [`verify: '${process.execPath} ${verify}'`], ['- [ ] ok one']);
    assert.equal(cli(['trust'], { cwd: f.repo.dir }).code, 0);
    const run = background(f, []);
    await eventually(() => existsSync(pids) && readFileSync(pids, 'utf8').includes(' '), 'verify started');
    run.child.kill('SIGINT');
    await run.until((events) => count(events, 'run.stopping') === 1);
    run.child.kill('SIGINT');
    assert.equal(await run.exit, 6);
    assert.equal(count(run.events, 'task.released'), 1);
    assert.equal(count(run.events, 'task.failed'), 0, 'a stopped verify is no failure of the try');
    for (const pid of readFileSync(pids, 'utf8').split(' ').map(Number)) await eventually(() => !alive(pid), `verify process ${pid} stopped`);
    assert.deepEqual(Object.values(statuses(f)), ['ready']);
  });

  test('a runner killed with SIGKILL: its agents die with it, and heal requeues its tasks', async (t) => {
    const f = fixture(t, [], ['- [ ] stubborn one', '- [ ] hang two']);
    const run = background(f, ['-j', '2', '--kill-after', '300ms']);
    await run.until((events) => count(events, 'task.claimed') === 2);
    await eventually(() => ['GLD-1', 'GLD-2'].every((id) => existsSync(join(f.state, `${id}.pid`))), 'both agents started');
    run.child.kill('SIGKILL');
    await run.exit;
    await eventually(() => !alive(pidOf(f, 'GLD-1')) && !alive(pidOf(f, 'GLD-2')), 'the agents of a SIGKILLed runner are gone');
    const heal = cli(['heal'], { cwd: f.repo.dir });
    assert.equal(heal.code, 0, heal.stderr);
    assert.deepEqual(statuses(f), { 'GLD-1': 'ready', 'GLD-2': 'ready' });
    const replay = cli(['replay', '--check'], { cwd: f.repo.dir });
    assert.equal(replay.code, 0, replay.stdout + replay.stderr);
  });
});

describe('run: heartbeats', () => {
  test('a running agent\'s claim is bound to the runner and its heartbeat refreshed, well inside lock_ttl', async (t) => {
    // lock_ttl 4s: a heartbeat every second.
    const f = fixture(t, ['lock_ttl: 4s'], ['- [ ] hold one']);
    const run = background(f, []);
    await run.until((events) => count(events, 'task.claimed') === 1);
    const lock = (): any => JSON.parse(cli(['locks', '--json'], { cwd: f.repo.dir }).stdout).result.locks[0];
    const first = lock();
    assert.equal(first.pid, run.child.pid);
    assert.equal(first.agent, 'w-1');
    await eventually(() => lock().heartbeat !== first.heartbeat, 'the heartbeat moved');
    assert.equal(lock().stale, false);
    writeFileSync(join(f.state, 'go'), '');
    assert.equal(await run.exit, 0);
  });
});

describe('run --watch', () => {
  test('waits for new work, wakes when a task is added, and a Ctrl-C while idle ends it', async (t) => {
    const f = fixture(t, [], []);
    const run = background(f, ['--watch']);
    await run.until((events) => count(events, 'run.started') === 1);
    const added = cli(['add', 'ok', 'added later'], { cwd: f.repo.dir });
    assert.equal(added.code, 0, added.stderr);
    await run.until((events) => count(events, 'task.done') === 1);
    assert.equal(count(run.events, 'run.summary'), 0, 'still watching');
    run.child.kill('SIGINT');
    assert.equal(await run.exit, 0);
    assert.equal(run.events[run.events.length - 1].event, 'run.summary');
    assert.deepEqual(statuses(f), { 'GLD-1': 'done' });
  });
});

describe('run: 4 workers on a 40-task board with needs', () => {
  test('every task is done exactly once, needs before the tasks that need them, and the log replays to the board', (t) => {
    // Ten chains of four: GLD-(i+10) needs GLD-i.
    const tasks = Array.from({ length: 40 }, (_, i) => `- [ ] GLD-${i + 1} ok task ${i + 1}${i >= 10 ? ` needs:GLD-${i - 9}` : ''}`);
    const f = fixture(t, [], tasks);
    const run = runJson(f, ['-j', '4']);
    assert.equal(run.code, 0, run.stderr);
    const done = run.events.filter((e) => e.event === 'task.done').map((e) => e.task);
    assert.equal(done.length, 40);
    assert.equal(new Set(done).size, 40);
    assert.equal(count(run.events, 'task.claimed'), 40);
    assert.equal(new Set(run.events.filter((e) => e.event === 'task.done').map((e) => e.worker)).size > 1, true, 'the work was shared');
    for (let i = 11; i <= 40; i++) {
      const need = run.events.findIndex((e) => e.event === 'task.done' && e.task === `GLD-${i - 10}`);
      const claim = run.events.findIndex((e) => e.event === 'task.claimed' && e.task === `GLD-${i}`);
      assert.ok(need >= 0 && need < claim, `GLD-${i} was claimed before GLD-${i - 10} was done`);
    }
    const log = readLog(f.repo);
    for (const type of ['task.claimed', 'task.completed']) {
      const ids = log.filter((e) => e.type === type).map((e) => e.task);
      assert.equal(ids.length, 40, type);
      assert.equal(new Set(ids).size, 40, type);
    }
    const replay = cli(['replay', '--check'], { cwd: f.repo.dir });
    assert.equal(replay.code, 0, replay.stdout + replay.stderr);
    // Work that builds on work: each dependent task's branch holds the work of the whole chain
    // before it (its need's branch was merged in when its worktree was made).
    const branches = new Map<string, string>(JSON.parse(cli(['list', '--json'], { cwd: f.repo.dir }).stdout).result.tasks.map((task: any) => [task.id, task.branch]));
    for (let i = 11; i <= 40; i++) {
      const files = spawnSync('git', ['ls-tree', '-r', '--name-only', branches.get(`GLD-${i}`)!], { cwd: f.repo.dir, encoding: 'utf8' }).stdout.split('\n');
      for (let need = i - 10; need > 0; need -= 10) assert.ok(files.includes(`GLD-${need}.txt`), `GLD-${i}'s branch lacks the work of GLD-${need}`);
    }
  });
});

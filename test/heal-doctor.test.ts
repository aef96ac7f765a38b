// heal and doctor, one crash at a time. Each case builds by hand, in a temp repo, what a process
// that died at one particular step leaves behind (a lock dir, an owner.json, an intent.json, a
// log line, a board line, a mutex dir, a breaker), then checks that doctor names it (exit 6),
// that heal repairs exactly that (board, log, lock), and that doctor is then content (exit 0).
// The five crash cases are the ones listed at the top of src/tasks/heal.ts; then the board
// mutex, breakers left by a killed remover, a task claimed on another host, and the --json
// shapes. Dead processes are real ones, killed and reaped; their pid start times are recorded,
// so a pid reused meanwhile still reads as gone.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { withBoardMutex } from '../src/lock/board-mutex.js';
import { systemProbe } from '../src/lock/liveness.js';
import type { LockOwner } from '../src/lock/lock-owner.js';
import { newUlid } from '../src/log/event.js';
import { cli, type CliResult } from './helpers/cli.js';
import type { ListedTask as TaskView } from './helpers/cli.js';
import { readLog, tempRepo, type TempRepo } from './helpers/repo.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

// --- processes -------------------------------------------------------------------------------

const live = new Set<ChildProcess>();
after(() => {
  for (const child of live) child.kill('SIGKILL');
});

interface Sleeper {
  pid: number;
  pidStart: string | null;
  /** SIGKILL, and wait until it is reaped: a zombie still answers kill(pid, 0). */
  kill(): Promise<void>;
}

/** A process that does nothing until killed: what `claim --pid` binds a claim to. */
function startSleeper(): Sleeper {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  live.add(child);
  const exited = once(child, 'exit');
  const pid = child.pid!;
  return {
    pid,
    pidStart: systemProbe.startTime(pid),
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      live.delete(child);
    },
  };
}

/** The pid and start time of a process that has come and gone. */
async function deadProcess(): Promise<{ pid: number; pidStart: string | null }> {
  const sleeper = startSleeper();
  await sleeper.kill();
  return { pid: sleeper.pid, pidStart: sleeper.pidStart };
}

// --- repos, boards, locks, log ---------------------------------------------------------------

function board(options: { ttl?: string; maxTries?: number; ready?: string[]; inProgress?: string[]; done?: string[] }): string {
  return [
    '---',
    'guild: 1',
    'prefix: GLD',
    `lock_ttl: ${options.ttl ?? '1h'}`,
    `max_tries: ${options.maxTries ?? 3}`,
    'retry_base: 5m',
    '---',
    '# Active Tasks',
    '',
    '## Ready',
    ...(options.ready ?? []),
    '',
    '## In Progress',
    ...(options.inProgress ?? []),
    '',
    '## Done',
    ...(options.done ?? []),
    '',
    '## Failed',
    '',
  ].join('\n');
}

/** A temp repo removed after the test: `init --example`, or `init` around a board of our own. */
function repoFor(t: TestContext, text?: string): TempRepo {
  const repo = tempRepo(text);
  t.after(() => repo.remove());
  const init = cli(text === undefined ? ['init', '--example'] : ['init'], { cwd: repo.dir });
  assert.equal(init.code, 0, init.stderr);
  return repo;
}

const locksDir = (repo: TempRepo): string => join(repo.dir, '.git', 'guild', 'locks');
const lockDir = (repo: TempRepo, id: string): string => join(locksDir(repo), `${id}.lock`);
const mutexDir = (repo: TempRepo): string => join(repo.dir, '.git', 'guild', 'board.lock');
const readOwner = (repo: TempRepo, id: string): LockOwner => JSON.parse(readFileSync(join(lockDir(repo, id), 'owner.json'), 'utf8')) as LockOwner;
const writeOwner = (repo: TempRepo, id: string, owner: LockOwner): void => writeFileSync(join(lockDir(repo, id), 'owner.json'), JSON.stringify(owner));

/** An owner.json as a `guild-fs claim` writes it, with the claim's maker and event id given. */
function ownerRecord(task: string, agent: string, maker: { pid: number; pidStart: string | null }, claimEvent: string): LockOwner {
  const now = new Date().toISOString();
  return {
    task,
    agent,
    host: systemProbe.host,
    bootId: systemProbe.bootId,
    pid: null,
    pidStart: null,
    claimPid: maker.pid,
    claimPidStart: maker.pidStart,
    claimEvent,
    acquired: now,
    heartbeat: now,
    token: 'feedfacefeedfacefeedface',
  };
}

/** A lock directory made by hand, as a claim that got no further than its lock leaves it. */
function makeLock(repo: TempRepo, owner: LockOwner): void {
  mkdirSync(lockDir(repo, owner.task), { recursive: true });
  writeOwner(repo, owner.task, owner);
}

type Event = { v: 1; id: string; ts: string; type: string; task: string; agent: string; host: string; data: Record<string, unknown> };

function event(type: string, task: string, agent: string, data: Record<string, unknown> = {}, id = newUlid()): Event {
  return { v: 1, id, ts: new Date().toISOString(), type, task, agent, host: systemProbe.host, data };
}

function appendLog(repo: TempRepo, ...events: Event[]): void {
  appendFileSync(repo.log, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
}

/** Where finish-task.ts records a finish's intent: beside the locks, tied to the lock by its token. */
function intentPath(repo: TempRepo, task: string): string {
  return join(repo.dir, '.git', 'guild', 'locks', '.intents', `${task}.json`);
}

/** What finish-task.ts writes just before it appends its events. */
function writeIntent(repo: TempRepo, task: string, writer: { pid: number; pidStart: string | null }, payload: { op: string; task: string; agent: string; change: unknown; events: Event[] }): void {
  const token = readOwner(repo, task).token;
  const intent = { task, token, writer: { host: systemProbe.host, bootId: systemProbe.bootId, pid: writer.pid, pidStart: writer.pidStart }, ts: new Date().toISOString(), payload };
  mkdirSync(dirname(intentPath(repo, task)), { recursive: true });
  writeFileSync(intentPath(repo, task), JSON.stringify(intent));
}

/** Sets a path's mtime `seconds` into the past. */
function age(path: string, seconds: number): void {
  const then = new Date(Date.now() - seconds * 1000);
  utimesSync(path, then, then);
}

// --- the CLI ---------------------------------------------------------------------------------

function tasks(repo: TempRepo): Map<string, TaskView> {
  const list = cli(['list', '--json'], { cwd: repo.dir });
  assert.equal(list.code, 0, `list: ${list.stderr}`);
  return new Map((list.json!.result.tasks as TaskView[]).map((task) => [task.id, task]));
}

const task = (repo: TempRepo, id: string): TaskView => tasks(repo).get(id)!;

interface DoctorCheck {
  name: string;
  ok: boolean;
  problems: { task?: string; message: string }[];
  warnings: string[];
}

/** `doctor --json`: the exit code and every check, whether it passed or not. */
function doctor(repo: TempRepo): { code: number; checks: DoctorCheck[]; problems: string[]; result: CliResult } {
  const result = cli(['doctor', '--json'], { cwd: repo.dir });
  const json = result.json!;
  const checks = (json.ok ? json.result.checks : json.error!.data.checks) as DoctorCheck[];
  return { code: result.code, checks, problems: checks.flatMap((check) => check.problems.map((problem) => `${check.name}: ${problem.message}`)), result };
}

interface HealResult {
  actions: { task: string; action: string; reason: string; agent: string | null }[];
  busy: string[];
  swept: string[];
  locks: number;
}

function heal(repo: TempRepo): HealResult {
  const result = cli(['heal', '--json'], { cwd: repo.dir });
  assert.equal(result.code, 0, `heal: ${result.stdout} ${result.stderr}`);
  return result.json!.result as HealResult;
}

function claim(repo: TempRepo, id: string, agent: string, pid?: number): LockOwner {
  const result = cli(['claim', id, '--json', ...(pid === undefined ? [] : ['--pid', String(pid)])], { cwd: repo.dir, agent });
  assert.equal(result.code, 0, `claim ${id}: ${result.stdout} ${result.stderr}`);
  return readOwner(repo, id);
}

function assertDoctorOk(repo: TempRepo, why: string): void {
  const report = doctor(repo);
  assert.deepEqual(report.problems, [], `doctor after ${why}`);
  assert.equal(report.code, 0);
}

// --- the cases -------------------------------------------------------------------------------

describe('a lock whose holder is gone (heal case 4)', () => {
  test('claim --pid P, P killed: doctor names the stale lock, heal requeues with a backoff, doctor is then content', async (t) => {
    const repo = repoFor(t);
    const holder = startSleeper();
    const owner = claim(repo, 'GLD-3', 'agent-a', holder.pid);
    assert.equal(owner.pid, holder.pid);
    assertDoctorOk(repo, 'a claim whose process is alive');
    assert.deepEqual(heal(repo).actions, [], 'a live holder is not healed');

    await holder.kill();
    const report = doctor(repo);
    assert.equal(report.code, 6);
    assert.deepEqual(report.problems, [`locks: GLD-3: stale lock of agent-a: process ${holder.pid} is gone`]);
    assert.equal(report.checks.find((check) => check.name === 'locks')!.problems[0]!.task, 'GLD-3');
    const human = cli(['doctor'], { cwd: repo.dir });
    assert.equal(human.code, 6);
    assert.match(human.stdout, /^FAIL {2}locks$/m);
    assert.match(human.stdout, /GLD-3: stale lock of agent-a/);
    assert.match(human.stderr, /doctor found 1 problem/);

    const logBefore = readLog(repo).length;
    const healed = heal(repo);
    assert.deepEqual(healed, { actions: [{ task: 'GLD-3', action: 'requeued', reason: `process ${holder.pid} is gone`, agent: 'agent-a' }], busy: [], swept: [], locks: 1, mutexBroken: false });

    const after = task(repo, 'GLD-3');
    assert.equal(after.status, 'ready');
    assert.equal(after.owner, null);
    assert.equal(after.tries, 1);
    const added = readLog(repo).slice(logBefore);
    assert.equal(added.length, 1, JSON.stringify(added));
    const healedEvent = added[0]!;
    assert.equal(healedEvent.type, 'lock.healed');
    assert.equal(healedEvent.task, 'GLD-3');
    assert.deepEqual(healedEvent.data, { reason: `process ${holder.pid} is gone`, holder: 'agent-a', tries: 1, retry: after.retry });
    // retry_base x 2^(tries-1), counted from the heal's own clock (the event's ts).
    assert.equal(Date.parse(after.retry!) - Date.parse(healedEvent.ts as string), 5 * 60_000);
    assert.ok(Date.parse(after.retry!) > Date.now(), 'the retry is in the future');
    assert.equal(existsSync(lockDir(repo, 'GLD-3')), false, 'the lock is gone');
    assert.doesNotMatch(repo.read(), /owner:agent-a/);

    assertDoctorOk(repo, 'heal');
    const again = cli(['heal'], { cwd: repo.dir });
    assert.equal(again.code, 0);
    assert.equal(again.stdout, 'nothing to heal (0 locks checked)\n');
    // Waiting for its retry: not offered, not claimable.
    assert.equal(cli(['claim', 'GLD-3'], { cwd: repo.dir, agent: 'agent-b' }).code, 5);
  });

  test('the backoff doubles, and at max_tries the task goes to Failed with task.poisoned', async (t) => {
    const repo = repoFor(t, board({ maxTries: 3, ready: ['- [ ] GLD-1 Third try tries:2', '- [ ] GLD-2 Second try tries:1'] }));
    const first = startSleeper();
    const second = startSleeper();
    claim(repo, 'GLD-1', 'agent-a', first.pid);
    claim(repo, 'GLD-2', 'agent-b', second.pid);
    await first.kill();
    await second.kill();
    const logBefore = readLog(repo).length;

    assert.deepEqual(heal(repo).actions, [
      { task: 'GLD-1', action: 'poisoned', reason: `process ${first.pid} is gone`, agent: 'agent-a' },
      { task: 'GLD-2', action: 'requeued', reason: `process ${second.pid} is gone`, agent: 'agent-b' },
    ]);
    const poisoned = task(repo, 'GLD-1');
    assert.deepEqual([poisoned.status, poisoned.owner, poisoned.tries, poisoned.retry], ['failed', null, 3, null]);
    assert.match(repo.read(), /## Failed\n- \[ \] GLD-1 Third try tries:3\n/);
    const requeued = task(repo, 'GLD-2');
    assert.deepEqual([requeued.status, requeued.owner, requeued.tries], ['ready', null, 2]);

    const added = readLog(repo).slice(logBefore);
    assert.deepEqual(
      added.map((e) => [e.type, e.task, e.data]),
      [
        ['lock.healed', 'GLD-1', { reason: `process ${first.pid} is gone`, holder: 'agent-a', tries: 3 }],
        ['task.poisoned', 'GLD-1', { tries: 3, maxTries: 3 }],
        ['lock.healed', 'GLD-2', { reason: `process ${second.pid} is gone`, holder: 'agent-b', tries: 2, retry: requeued.retry }],
      ],
    );
    assert.equal(Date.parse(requeued.retry!) - Date.parse(added[2]!.ts as string), 2 * 5 * 60_000, 'second try: twice retry_base');
    assert.deepEqual(readdirSync(locksDir(repo)), []);
    assertDoctorOk(repo, 'heal');
  });

  test('a heartbeat older than lock_ttl: stale after waiting out a 1s lock_ttl', async (t) => {
    const repo = repoFor(t, board({ ttl: '1s', ready: ['- [ ] GLD-1 Slow agent'] }));
    claim(repo, 'GLD-1', 'agent-a'); // no --pid: it lives by its heartbeat alone
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const report = doctor(repo);
    assert.equal(report.code, 6);
    assert.equal(report.problems.length, 1, report.problems.join('\n'));
    assert.match(report.problems[0]!, /^locks: GLD-1: stale lock of agent-a: no heartbeat for \d+s \(lock_ttl 1s\)$/);
    const healed = heal(repo);
    assert.equal(healed.actions.length, 1);
    assert.deepEqual({ ...healed.actions[0]!, reason: '' }, { task: 'GLD-1', action: 'requeued', reason: '', agent: 'agent-a' });
    assert.match(healed.actions[0]!.reason, /^no heartbeat for \d+s \(lock_ttl 1s\)$/);
    assert.deepEqual([task(repo, 'GLD-1').status, task(repo, 'GLD-1').tries], ['ready', 1]);
    assert.equal(existsSync(lockDir(repo, 'GLD-1')), false);
    assertDoctorOk(repo, 'heal');
  });

  test('an old heartbeat is healed; one refreshed by `guild-fs heartbeat` is not', (t) => {
    const repo = repoFor(t, board({ ttl: '1m', ready: ['- [ ] GLD-1 Silent agent', '- [ ] GLD-2 Chatty agent'] }));
    const old = new Date(Date.now() - 2 * 3600_000).toISOString();
    for (const [id, agent] of [['GLD-1', 'agent-a'], ['GLD-2', 'agent-b']] as const) {
      const owner = claim(repo, id, agent);
      writeOwner(repo, id, { ...owner, heartbeat: old });
    }
    const beat = cli(['heartbeat', 'GLD-2', '--json'], { cwd: repo.dir, agent: 'agent-b' });
    assert.equal(beat.code, 0, beat.stderr);
    const refreshed = readOwner(repo, 'GLD-2');
    assert.equal(refreshed.heartbeat, beat.json!.result.heartbeat);
    assert.ok(Date.parse(refreshed.heartbeat) > Date.parse(old));

    const report = doctor(repo);
    assert.equal(report.code, 6);
    assert.equal(report.problems.length, 1, report.problems.join('\n'));
    assert.match(report.problems[0]!, /^locks: GLD-1: stale lock of agent-a: no heartbeat for 720\ds \(lock_ttl 60s\)$/);
    assert.deepEqual(heal(repo).actions.map((a) => [a.task, a.action, a.agent]), [['GLD-1', 'requeued', 'agent-a']]);
    assert.equal(task(repo, 'GLD-1').status, 'ready');
    assert.deepEqual([task(repo, 'GLD-2').status, task(repo, 'GLD-2').owner], ['in-progress', 'agent-b']);
    assert.equal(readOwner(repo, 'GLD-2').token, refreshed.token, 'the fresh lock was left alone');
    assertDoctorOk(repo, 'heal');
  });
});

describe('a half-made claim: the lock exists, the board does not show it (heal case 3)', () => {
  test('its task.claimed never reached the log: heal undoes it, the board stays byte for byte', async (t) => {
    const repo = repoFor(t);
    const maker = await deadProcess();
    makeLock(repo, ownerRecord('GLD-5', 'agent-z', maker, newUlid()));
    const boardBefore = repo.read();
    const logBefore = readLog(repo).length;

    const report = doctor(repo);
    assert.equal(report.code, 6);
    assert.deepEqual(report.problems, ['locks: GLD-5: locked by agent-z, but the board has no such owner (task is ready)']);

    assert.deepEqual(heal(repo).actions, [{ task: 'GLD-5', action: 'undid-claim', reason: 'its process died before logging the claim', agent: 'agent-z' }]);
    assert.equal(existsSync(lockDir(repo, 'GLD-5')), false, 'the lock is gone');
    assert.equal(repo.read(), boardBefore, 'the board is unchanged');
    const added = readLog(repo).slice(logBefore);
    assert.deepEqual(
      added.map((e) => [e.type, e.task, e.data]),
      [['lock.healed', 'GLD-5', { reason: 'half-made claim: its process died before logging it', holder: 'agent-z' }]],
    );
    assertDoctorOk(repo, 'heal');
    assert.equal(cli(['claim', 'GLD-5'], { cwd: repo.dir, agent: 'agent-b' }).code, 0, 'the task can be claimed again');
  });

  test('its task.claimed reached the log: heal finishes it on the board and keeps the lock', async (t) => {
    const repo = repoFor(t);
    const maker = await deadProcess();
    const claimEvent = newUlid();
    const owner = ownerRecord('GLD-5', 'agent-z', maker, claimEvent);
    makeLock(repo, owner);
    appendLog(repo, event('task.claimed', 'GLD-5', 'agent-z', {}, claimEvent));
    const logBefore = readLog(repo).length;

    assert.equal(doctor(repo).code, 6);
    assert.deepEqual(heal(repo).actions, [{ task: 'GLD-5', action: 'finished-claim', reason: 'the claim was logged, but its process died before the board', agent: 'agent-z' }]);
    const after = task(repo, 'GLD-5');
    assert.deepEqual([after.status, after.owner, after.tries], ['in-progress', 'agent-z', 0]);
    assert.deepEqual(readOwner(repo, 'GLD-5'), owner, 'the lock is kept as it was');
    assert.equal(readLog(repo).length, logBefore, 'the log already said so: nothing appended');
    assertDoctorOk(repo, 'heal');
    assert.deepEqual(heal(repo).actions, []);
    // The claim is whole: its agent can finish it like any other.
    const done = cli(['complete', 'GLD-5'], { cwd: repo.dir, agent: 'agent-z' });
    assert.equal(done.code, 0, done.stderr);
    assert.equal(task(repo, 'GLD-5').status, 'done');
  });

  test('its task.claimed reached the log but the task has moved on since: heal removes the leftover lock', async (t) => {
    const repo = repoFor(t);
    const maker = await deadProcess();
    const claimEvent = newUlid();
    makeLock(repo, ownerRecord('GLD-1', 'agent-z', maker, claimEvent)); // GLD-1 is Done
    appendLog(repo, event('task.claimed', 'GLD-1', 'agent-z', {}, claimEvent));
    const boardBefore = repo.read();
    assert.deepEqual(heal(repo).actions, [{ task: 'GLD-1', action: 'removed-leftover', reason: 'the task has moved on; a lock was left behind', agent: 'agent-z' }]);
    assert.equal(existsSync(lockDir(repo, 'GLD-1')), false);
    assert.equal(repo.read(), boardBefore);
    assertDoctorOk(repo, 'heal');
  });

  test('a claim whose maker is still alive is being made: neither doctor nor heal touches it', async (t) => {
    const repo = repoFor(t);
    const maker = startSleeper();
    t.after(() => maker.kill());
    const owner = ownerRecord('GLD-5', 'agent-z', maker, newUlid());
    makeLock(repo, owner);
    assertDoctorOk(repo, 'nothing');
    assert.deepEqual(heal(repo).actions, []);
    assert.deepEqual(readOwner(repo, 'GLD-5'), owner);
  });
});

describe('a finish cut short: an intent left beside the lock (heal case 2)', () => {
  test('complete died after logging task.completed, before the board: heal moves the task to Done and removes the lock', async (t) => {
    const repo = repoFor(t);
    claim(repo, 'GLD-3', 'agent-a');
    const writer = await deadProcess();
    const completed = event('task.completed', 'GLD-3', 'agent-a', { to: 'done' });
    writeIntent(repo, 'GLD-3', writer, { op: 'complete', task: 'GLD-3', agent: 'agent-a', change: { status: 'done', checked: true }, events: [completed] });
    appendLog(repo, completed);
    const logBefore = readLog(repo).length;

    const report = doctor(repo);
    assert.equal(report.code, 6);
    assert.deepEqual(report.problems, ['locks: GLD-3: a complete by agent-a died half way (intent left in the lock)']);

    assert.deepEqual(heal(repo).actions, [{ task: 'GLD-3', action: 'finished-intent', reason: 'complete by agent-a died between the log and the board; finished', agent: 'agent-a' }]);
    const after = task(repo, 'GLD-3');
    assert.deepEqual([after.status, after.owner], ['done', 'agent-a']);
    assert.match(repo.read(), /^- \[x\] GLD-3 Create the users table caps:db owner:agent-a$/m);
    assert.equal(existsSync(lockDir(repo, 'GLD-3')), false, 'the lock goes last');
    assert.equal(readLog(repo).length, logBefore, 'the event was there already: not appended twice');
    assertDoctorOk(repo, 'heal');
  });

  test('fail at max_tries died with only task.failed logged: heal appends the missing task.poisoned and moves the task to Failed', async (t) => {
    const repo = repoFor(t, board({ maxTries: 3, ready: ['- [ ] GLD-1 Last chance tries:2'] }));
    claim(repo, 'GLD-1', 'agent-a');
    const writer = await deadProcess();
    const failed = event('task.failed', 'GLD-1', 'agent-a', { reason: 'x', tries: 3 });
    const poisoned = event('task.poisoned', 'GLD-1', 'agent-a', { tries: 3, maxTries: 3 });
    const change = { status: 'failed', fields: { owner: null, tries: '3', retry: null } };
    writeIntent(repo, 'GLD-1', writer, { op: 'fail', task: 'GLD-1', agent: 'agent-a', change, events: [failed, poisoned] });
    appendLog(repo, failed);

    assert.deepEqual(heal(repo).actions.map((a) => [a.task, a.action]), [['GLD-1', 'finished-intent']]);
    const after = task(repo, 'GLD-1');
    assert.deepEqual([after.status, after.owner, after.tries], ['failed', null, 3]);
    const log = readLog(repo);
    assert.deepEqual(log.filter((e) => e.task === 'GLD-1').map((e) => e.type), ['task.claimed', 'task.failed', 'task.poisoned']);
    assert.deepEqual(log.at(-1), poisoned, 'appended as it was meant to be, id and time included');
    assert.equal(existsSync(lockDir(repo, 'GLD-1')), false);
    assertDoctorOk(repo, 'heal');
  });

  test('complete died before logging anything: heal drops the intent, the claim stands', async (t) => {
    const repo = repoFor(t);
    const owner = claim(repo, 'GLD-3', 'agent-a');
    const writer = await deadProcess();
    const completed = event('task.completed', 'GLD-3', 'agent-a', { to: 'done' });
    writeIntent(repo, 'GLD-3', writer, { op: 'complete', task: 'GLD-3', agent: 'agent-a', change: { status: 'done', checked: true }, events: [completed] });
    const boardBefore = repo.read();
    const logBefore = readLog(repo).length;

    assert.equal(doctor(repo).code, 6);
    assert.deepEqual(heal(repo).actions, [{ task: 'GLD-3', action: 'dropped-intent', reason: 'complete died before logging anything', agent: 'agent-a' }]);
    assert.equal(existsSync(intentPath(repo, 'GLD-3')), false, 'the intent is gone');
    assert.deepEqual(readOwner(repo, 'GLD-3'), owner, 'the lock stays, as it was');
    assert.deepEqual([task(repo, 'GLD-3').status, task(repo, 'GLD-3').owner], ['in-progress', 'agent-a']);
    assert.equal(repo.read(), boardBefore);
    assert.equal(readLog(repo).length, logBefore);
    assertDoctorOk(repo, 'heal');
    // The agent retries its complete, and it works.
    assert.equal(cli(['complete', 'GLD-3'], { cwd: repo.dir, agent: 'agent-a' }).code, 0);
    assert.equal(task(repo, 'GLD-3').status, 'done');
  });

  test('an intent whose writer is still alive is a finish in progress: left alone', async (t) => {
    const repo = repoFor(t);
    claim(repo, 'GLD-3', 'agent-a');
    const writer = startSleeper();
    t.after(() => writer.kill());
    writeIntent(repo, 'GLD-3', writer, { op: 'complete', task: 'GLD-3', agent: 'agent-a', change: { status: 'done', checked: true }, events: [event('task.completed', 'GLD-3', 'agent-a', { to: 'done' })] });
    assertDoctorOk(repo, 'nothing');
    assert.deepEqual(heal(repo).actions, []);
    assert.equal(existsSync(intentPath(repo, 'GLD-3')), true);
  });

  test('a finish in progress past its board write (Done on the board, lock not yet removed): doctor and heal agree it is fine', async (t) => {
    // heal and doctor judge locks through one classifier; they once disagreed on exactly this.
    const repo = repoFor(t);
    claim(repo, 'GLD-3', 'agent-a');
    const writer = startSleeper();
    t.after(() => writer.kill());
    writeIntent(repo, 'GLD-3', writer, { op: 'complete', task: 'GLD-3', agent: 'agent-a', change: { status: 'done', checked: true }, events: [event('task.completed', 'GLD-3', 'agent-a', { to: 'done' })] });
    const line = /^- \[ \] (GLD-3 .*)$/m.exec(repo.read())!;
    repo.write(repo.read().replace(`${line[0]}\n`, '').replace('## Done\n', `## Done\n- [x] ${line[1]}\n`));
    assertDoctorOk(repo, 'nothing');
    assert.deepEqual(heal(repo).actions, []);
    assert.equal(existsSync(intentPath(repo, 'GLD-3')), true, 'the finish is left to finish');
  });
});

// The log is not in time order: `merge=union` appends a branch's older lines at the end, and heal
// re-appends a dead process's events with their original times. heal's search for a dead
// process's events must not stop at such a line.
describe('a log whose last lines are older than the crash', () => {
  const OLD = (): string => new Date(Date.now() - 3600_000).toISOString();

  test(
    'complete died between log and board, then an older line was appended: heal still finds the event and finishes',
    async (t) => {
      const repo = repoFor(t);
      claim(repo, 'GLD-3', 'agent-a');
      const writer = await deadProcess();
      const completed = event('task.completed', 'GLD-3', 'agent-a', { to: 'done' });
      writeIntent(repo, 'GLD-3', writer, { op: 'complete', task: 'GLD-3', agent: 'agent-a', change: { status: 'done', checked: true }, events: [completed] });
      appendLog(repo, completed, { ...event('task.edited', 'GLD-2', 'agent-b', { title: 'from another branch' }), ts: OLD() });
      assert.deepEqual(heal(repo).actions.map((a) => [a.task, a.action]), [['GLD-3', 'finished-intent']]);
      assert.equal(task(repo, 'GLD-3').status, 'done');
    },
  );

  test(
    'a claim died between log and board, then an older line was appended: heal still finds task.claimed and finishes the claim',
    async (t) => {
      const repo = repoFor(t);
      const maker = await deadProcess();
      const claimEvent = newUlid();
      makeLock(repo, ownerRecord('GLD-5', 'agent-z', maker, claimEvent));
      appendLog(repo, event('task.claimed', 'GLD-5', 'agent-z', {}, claimEvent), { ...event('task.edited', 'GLD-2', 'agent-b', { title: 'from another branch' }), ts: OLD() });
      assert.deepEqual(heal(repo).actions.map((a) => [a.task, a.action]), [['GLD-5', 'finished-claim']]);
      assert.deepEqual([task(repo, 'GLD-5').status, task(repo, 'GLD-5').owner], ['in-progress', 'agent-z']);
    },
  );
});

describe('leftovers', () => {
  test('In Progress on the board with no lock at all (heal case 5): requeued', (t) => {
    const repo = repoFor(t, board({ ready: ['- [ ] GLD-1 Bystander'], inProgress: ['- [ ] GLD-2 Orphaned owner:agent-q'] }));
    const report = doctor(repo);
    assert.equal(report.code, 6);
    assert.deepEqual(report.problems, ['locks: GLD-2: In Progress (owner agent-q) but no lock']);
    assert.deepEqual(heal(repo).actions, [{ task: 'GLD-2', action: 'requeued', reason: 'In Progress with no lock', agent: 'agent-q' }]);
    const after = task(repo, 'GLD-2');
    assert.deepEqual([after.status, after.owner, after.tries], ['ready', null, 1]);
    assert.ok(Date.parse(after.retry!) > Date.now());
    assert.deepEqual(readLog(repo).map((e) => [e.type, e.task, (e.data as { holder?: string }).holder]), [['lock.healed', 'GLD-2', 'agent-q']]);
    assertDoctorOk(repo, 'heal');
  });

  // Regression: removeLockDir judged the age after taking the breaker, whose symlink creation
  // sets the dir's mtime to now, so an ownerless lock was never old enough to remove (and each
  // heal reset the age doctor saw).
  test('a lock dir with no owner.json (heal case 1): removed once older than 30s, kept while young', (t) => {
    const repo = repoFor(t);
    mkdirSync(lockDir(repo, 'GLD-3'), { recursive: true });
    mkdirSync(lockDir(repo, 'GLD-5'), { recursive: true });
    age(lockDir(repo, 'GLD-3'), 40);
    const boardBefore = repo.read();

    const report = doctor(repo);
    assert.equal(report.code, 6);
    assert.equal(report.problems.length, 1, report.problems.join('\n'));
    assert.match(report.problems[0]!, /^locks: GLD-3: lock without an owner for 4\ds \(no owner\.json/);

    assert.deepEqual(heal(repo), {
      actions: [{ task: 'GLD-3', action: 'removed-unfinished', reason: 'no owner.json (being taken, or its taker crashed)', agent: null }],
      busy: [],
      swept: [],
      locks: 2,
      mutexBroken: false,
    });
    assert.equal(existsSync(lockDir(repo, 'GLD-3')), false, 'the old one is gone');
    assert.equal(existsSync(lockDir(repo, 'GLD-5')), true, 'the young one may still be being taken');
    assert.equal(repo.read(), boardBefore);
    assert.deepEqual(readLog(repo).filter((e) => e.type === 'lock.healed'), [], 'nothing happened to log');
    assertDoctorOk(repo, 'heal (a young ownerless lock is not a problem yet)');
    assert.equal(cli(['claim', 'GLD-5'], { cwd: repo.dir, agent: 'agent-a' }).code, 3, 'the young one still counts as held');
    assert.equal(cli(['claim', 'GLD-3'], { cwd: repo.dir, agent: 'agent-a' }).code, 0, 'the old one no longer does');
  });

  test('.tomb-* left by a remover that died: swept once older than a minute, kept while young', (t) => {
    const repo = repoFor(t);
    const oldTomb = '.tomb-GLD-3.lock-0123456789ab';
    const youngTomb = '.tomb-GLD-5.lock-ba9876543210';
    for (const name of [oldTomb, youngTomb]) {
      mkdirSync(join(locksDir(repo), name), { recursive: true });
      writeFileSync(join(locksDir(repo), name, 'owner.json'), '{}');
    }
    age(join(locksDir(repo), oldTomb), 120);
    assertDoctorOk(repo, 'tombstones (they hold no lock)');
    assert.deepEqual(heal(repo), { actions: [], busy: [], swept: [oldTomb], locks: 0, mutexBroken: false });
    assert.deepEqual(readdirSync(locksDir(repo)), [youngTomb]);
    age(join(locksDir(repo), youngTomb), 120);
    const human = cli(['heal'], { cwd: repo.dir });
    assert.equal(human.stdout, 'nothing to heal (0 locks checked)\nswept 1 leftover tombstone\n');
    assert.deepEqual(readdirSync(locksDir(repo)), []);
  });

  test('a board mutex left by a dead process: doctor reports it, the next claim breaks it and succeeds quickly', async (t) => {
    const repo = repoFor(t);
    const dead = await deadProcess();
    mkdirSync(mutexDir(repo));
    const mutexOwner = { host: systemProbe.host, bootId: systemProbe.bootId, pid: dead.pid, pidStart: dead.pidStart, since: new Date().toISOString(), token: '0011223344556677', purpose: 'claim GLD-3 for ghost' };
    writeFileSync(join(mutexDir(repo), 'owner.json'), JSON.stringify(mutexOwner));

    const report = doctor(repo);
    assert.equal(report.code, 6);
    assert.deepEqual(report.problems, [`mutex: the board mutex is held by pid ${dead.pid}, which is gone (heal or the next write breaks it)`]);

    const started = Date.now();
    const claimed = cli(['claim', 'GLD-3', '--json'], { cwd: repo.dir, agent: 'agent-a' });
    const took = Date.now() - started;
    assert.equal(claimed.code, 0, claimed.stderr);
    // The mutex's own timeout is 30s; breaking a dead holder's takes a few tries of a few ms.
    assert.ok(took < 15_000, `the claim took ${took}ms`);
    assert.equal(existsSync(mutexDir(repo)), false);
    assert.deepEqual([task(repo, 'GLD-3').status, task(repo, 'GLD-3').owner], ['in-progress', 'agent-a']);
    assertDoctorOk(repo, 'the claim');
  });

  // Regression, the same mtime bug through breakIfDead: every write then waited out the 30s
  // timeout and failed with BusyError, for ever.
  test('a board mutex dir with no owner.json, older than its 10s grace, is broken by the next write', async (t) => {
    const repo = repoFor(t);
    mkdirSync(mutexDir(repo));
    age(mutexDir(repo), 60);
    // In process, with a short timeout, rather than a CLI claim that would wait out the 30s one.
    const ran = await withBoardMutex(mutexDir(repo), 'test', async () => 'ran', { timeoutMs: 5000 });
    assert.equal(ran, 'ran');
    assert.equal(existsSync(mutexDir(repo)), false);
  });

  test(
    'doctor reports a board mutex dir with no owner.json left by a dead writer',
    (t) => {
      const repo = repoFor(t);
      mkdirSync(mutexDir(repo));
      age(mutexDir(repo), 60);
      const report = doctor(repo);
      assert.equal(report.code, 6);
      assert.equal(report.checks.find((check) => check.name === 'mutex')!.ok, false);
    },
  );

  test(
    'heal clears a board mutex whose holder is gone (doctor: "`guild-fs heal` repairs lock problems")',
    async (t) => {
      const repo = repoFor(t);
      const dead = await deadProcess();
      mkdirSync(mutexDir(repo));
      writeFileSync(join(mutexDir(repo), 'owner.json'), JSON.stringify({ host: systemProbe.host, bootId: systemProbe.bootId, pid: dead.pid, pidStart: dead.pidStart, since: new Date().toISOString(), token: '00', purpose: 'x' }));
      assert.equal(doctor(repo).code, 6);
      heal(repo);
      assertDoctorOk(repo, 'heal');
    },
  );
});

describe('a remover killed while holding a lock\'s breaker', () => {
  /** A breaker is a symlink to a target that is no path: existsSync would follow it. */
  const hasBreaker = (lock: string): boolean => lstatSync(join(lock, '.break'), { throwIfNoEntry: false }) !== undefined;

  /** A process that takes `lock`'s breaker (as a heartbeat or release does) and is killed holding it. */
  async function dieHoldingBreaker(t: TestContext, lock: string): Promise<number> {
    const script = join(lock, '..', '..', 'hold-breaker.mts');
    writeFileSync(
      script,
      [
        `import { withBreaker } from ${JSON.stringify(pathToFileURL(join(ROOT, 'src', 'lock', 'lock-removal.ts')).href)};`,
        `withBreaker(process.argv[2], () => {`,
        `  process.stdout.write('HOLDING\\n');`,
        `  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);`,
        `});`,
      ].join('\n'),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script, lock], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    live.add(child);
    t.after(() => void child.kill('SIGKILL'));
    const exited = once(child, 'exit');
    let out = '';
    child.stdout!.setEncoding('utf8');
    for await (const chunk of child.stdout!) {
      out += chunk;
      if (out.includes('HOLDING')) break;
    }
    assert.ok(hasBreaker(lock), 'the breaker is held');
    child.kill('SIGKILL');
    await exited;
    live.delete(child);
    return child.pid!;
  }

  test('doctor warns of the dead breaker; the holder\'s next heartbeat takes it over, and complete still works', async (t) => {
    const repo = repoFor(t);
    claim(repo, 'GLD-3', 'agent-a');
    const pid = await dieHoldingBreaker(t, lockDir(repo, 'GLD-3'));
    const report = doctor(repo);
    // Not a problem: any later remover (heartbeat, release, heal) takes a dead breaker over.
    assert.equal(report.code, 0);
    assert.deepEqual(report.checks.find((check) => check.name === 'locks')!.warnings, [`GLD-3: .break left by pid ${pid}, which is gone (the next remover takes it over)`]);

    const beat = cli(['heartbeat', 'GLD-3'], { cwd: repo.dir, agent: 'agent-a' });
    assert.equal(beat.code, 0, beat.stderr);
    assert.equal(hasBreaker(lockDir(repo, 'GLD-3')), false);
    assertDoctorOk(repo, 'the heartbeat');
    assert.equal(cli(['complete', 'GLD-3'], { cwd: repo.dir, agent: 'agent-a' }).code, 0);
    assert.equal(existsSync(lockDir(repo, 'GLD-3')), false);
  });

  test('a dead breaker in a stale lock: heal takes it over and breaks the lock', async (t) => {
    const repo = repoFor(t);
    const holder = startSleeper();
    claim(repo, 'GLD-3', 'agent-a', holder.pid);
    await dieHoldingBreaker(t, lockDir(repo, 'GLD-3'));
    await holder.kill();
    assert.deepEqual(heal(repo).actions.map((a) => [a.task, a.action]), [['GLD-3', 'requeued']]);
    assert.equal(existsSync(lockDir(repo, 'GLD-3')), false);
    assertDoctorOk(repo, 'heal');
  });

  test('a dead breaker in a healthy lock is left to the next remover: heal does not break the lock', async (t) => {
    const repo = repoFor(t);
    claim(repo, 'GLD-3', 'agent-a');
    await dieHoldingBreaker(t, lockDir(repo, 'GLD-3'));
    assert.deepEqual(heal(repo).actions, []);
    assert.equal(existsSync(lockDir(repo, 'GLD-3')), true);
    assert.equal(cli(['release', 'GLD-3'], { cwd: repo.dir, agent: 'agent-a' }).code, 0);
    assert.equal(existsSync(lockDir(repo, 'GLD-3')), false);
  });
});

describe('a task claimed on another host', () => {
  test('In Progress with no lock here, its task.claimed from another host: doctor warns, heal leaves it alone', (t) => {
    const repo = repoFor(t, board({ inProgress: ['- [ ] GLD-2 Held elsewhere owner:agent-far'] }));
    appendLog(repo, { ...event('task.claimed', 'GLD-2', 'agent-far'), host: 'another-machine' });
    const boardBefore = repo.read();
    const report = doctor(repo);
    assert.equal(report.code, 0, report.problems.join('\n'));
    const warnings = report.checks.find((check) => check.name === 'locks')!.warnings;
    assert.deepEqual(warnings, ['GLD-2: In Progress (owner agent-far) but no lock in this clone (claimed on another-machine)']);
    assert.deepEqual(heal(repo).actions, []);
    assert.equal(repo.read(), boardBefore);
  });

  test('the same task claimed last on this host is requeued', (t) => {
    const repo = repoFor(t, board({ inProgress: ['- [ ] GLD-2 Held here owner:agent-near'] }));
    appendLog(repo, { ...event('task.claimed', 'GLD-2', 'agent-far'), host: 'another-machine' }, event('task.claimed', 'GLD-2', 'agent-near'));
    assert.equal(doctor(repo).code, 6);
    assert.deepEqual(heal(repo).actions.map((a) => [a.task, a.action, a.agent]), [['GLD-2', 'requeued', 'agent-near']]);
  });
});

describe('--json shapes and exit codes', () => {
  test('doctor --json: {ok, checks[board, log, locks, mutex, worktrees, merge]}, exit 0; the ECHECK envelope and exit 6 when anything is wrong', (t) => {
    const repo = repoFor(t);
    const good = cli(['doctor', '--json'], { cwd: repo.dir });
    assert.equal(good.code, 0);
    assert.deepEqual(Object.keys(good.json!), ['ok', 'result']);
    assert.equal(good.json!.ok, true);
    assert.deepEqual(good.json!.result, {
      ok: true,
      checks: ['board', 'log', 'locks', 'mutex', 'worktrees', 'merge'].map((name) => ({ name, ok: true, problems: [], warnings: [] })),
    });
    assert.equal(good.stdout.trim().split('\n').length, 1, 'one JSON document');

    repo.write(repo.read().replace('## In Progress\n', '## In Progress\n- [ ] GLD-7 Nobody holds this owner:agent-x\n'));
    const bad = cli(['doctor', '--json'], { cwd: repo.dir });
    assert.equal(bad.code, 6);
    assert.deepEqual(Object.keys(bad.json!).sort(), ['error', 'ok']);
    assert.equal(bad.json!.ok, false);
    assert.equal(bad.json!.error!.code, 'ECHECK');
    assert.equal(bad.json!.error!.message, 'doctor found 1 problem; `guild-fs heal` repairs lock problems');
    const checks = bad.json!.error!.data.checks as DoctorCheck[];
    assert.deepEqual(checks.map((check) => [check.name, check.ok]), [['board', true], ['log', true], ['locks', false], ['mutex', true], ['worktrees', true], ['merge', true]]);
    assert.deepEqual(checks[2]!.problems, [{ task: 'GLD-7', message: 'GLD-7: In Progress (owner agent-x) but no lock' }]);
    assert.equal(bad.stdout.trim().split('\n').length, 1);

    // A log damaged in the middle is a problem of the log check; a torn last line only a warning.
    repo.write(`${repo.read('.guild/audit.jsonl')}{"v":1,"id":"01ABC`, '.guild/audit.jsonl');
    const torn = doctor(repo);
    const log = torn.checks.find((check) => check.name === 'log')!;
    assert.equal(log.ok, true);
    assert.equal(log.warnings.length, 1);
    assert.match(log.warnings[0]!, /torn last line/);
    repo.write(`${repo.read('.guild/audit.jsonl')}\nnot json\n{"v":1,"id":"01ABD","ts":"2026-01-01T00:00:00.000Z","type":"task.edited"}\n`, '.guild/audit.jsonl');
    const damaged = doctor(repo);
    assert.equal(damaged.code, 6);
    assert.equal(damaged.checks.find((check) => check.name === 'log')!.ok, false);
  });

  test('heal --json: {actions[{task, action, reason, agent}], busy, swept, locks}, exit 0 whether or not it did anything', async (t) => {
    const repo = repoFor(t);
    const idle = cli(['heal', '--json'], { cwd: repo.dir });
    assert.equal(idle.code, 0);
    assert.deepEqual(idle.json, { ok: true, result: { actions: [], busy: [], swept: [], locks: 0, mutexBroken: false } });

    const holder = startSleeper();
    claim(repo, 'GLD-2', 'agent-a', holder.pid);
    claim(repo, 'GLD-3', 'agent-b');
    await holder.kill();
    const busy = cli(['heal', '--json'], { cwd: repo.dir });
    assert.equal(busy.code, 0);
    assert.deepEqual(Object.keys(busy.json!.result), ['actions', 'busy', 'swept', 'locks', 'mutexBroken']);
    assert.equal(busy.json!.result.locks, 2);
    for (const action of busy.json!.result.actions) assert.deepEqual(Object.keys(action), ['task', 'action', 'reason', 'agent']);
    assert.deepEqual(busy.json!.result.actions, [{ task: 'GLD-2', action: 'requeued', reason: `process ${holder.pid} is gone`, agent: 'agent-a' }]);

    // The human table names the same things.
    const holder2 = startSleeper();
    claim(repo, 'GLD-5', 'agent-c', holder2.pid);
    await holder2.kill();
    const human = cli(['heal'], { cwd: repo.dir });
    assert.equal(human.code, 0);
    assert.equal(human.stdout, `GLD-5  requeued  agent-c  process ${holder2.pid} is gone\n`);
  });
});

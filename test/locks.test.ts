// src/lock/: the mkdir claim locks and the board mutex. The exclusivity tests race real
// processes, because a lock that only excludes callers in one process excludes nothing.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BoardBusyError } from '../src/errors.js';
import { breakIfDead, UNFINISHED_GRACE_MS, withBoardMutex } from '../src/lock/board-mutex.js';
import { systemProbe } from '../src/lock/liveness.js';
import type { LockOwner } from '../src/lock/lock-owner.js';
import { OWNER_FILE, readLockOwner, tryMkdirLock } from '../src/lock/mkdir-lock.js';
import { judgeLock, MkdirTaskLocks } from '../src/lock/task-locks.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = (path: string): string => pathToFileURL(join(ROOT, 'src', path)).href;

const scratch = mkdtempSync(join(tmpdir(), 'guild-fs-locks-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;
const freshDir = (): string => join(scratch, `case-${++counter}`);

function readOwner(dir: string): LockOwner {
  return JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as LockOwner;
}

/**
 * Starts `count` node processes running `script` (TypeScript, through tsx), waits until every
 * one has loaded and printed READY, then releases them all at once by writing GO to their stdin,
 * so that the race starts after the slow part (start-up) is over. Resolves to each one's stdout.
 */
async function raceProcesses(script: string, count: number, args: (i: number) => string[]): Promise<string[]> {
  const file = join(scratch, `script-${++counter}.mts`);
  writeFileSync(file, script);
  const runs = Array.from({ length: count }, (_, i) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...args(i)], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    let markReady: () => void = () => {};
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    const done = new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        if (stdout.includes('READY\n')) markReady();
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (code) => {
        markReady(); // a process that died early must not hang the barrier
        if (code !== 0) reject(new Error(`race process exited ${code}:\n${stderr}`));
        else resolve(stdout.slice(stdout.indexOf('READY\n') + 'READY\n'.length));
      });
    });
    return { child, ready, done };
  });
  await Promise.all(runs.map(({ ready }) => ready));
  for (const { child } of runs) child.stdin.end('GO\n');
  return Promise.all(runs.map(({ done }) => done));
}

/** Script prelude: print READY, then wait for GO on stdin. */
const BARRIER = `
import { once } from 'node:events';
process.stdout.write('READY\\n');
let input = '';
process.stdin.setEncoding('utf8');
while (!input.includes('GO')) {
  const [chunk] = await once(process.stdin, 'data');
  input += chunk;
}
`;

describe('MkdirTaskLocks', () => {
  test('acquire writes a complete owner.json; a second acquire loses and sees the holder', () => {
    const locks = new MkdirTaskLocks(freshDir());
    const now = Date.parse('2026-01-02T03:04:05.678Z');
    const first = locks.acquire('GLD-1', { agent: 'agent-a', pid: process.pid, now });
    assert.equal(first.ok, true);
    assert.ok(first.ok);
    const onDisk = readOwner(locks.where('GLD-1'));
    assert.deepEqual(onDisk, first.owner);
    assert.equal(onDisk.task, 'GLD-1');
    assert.equal(onDisk.agent, 'agent-a');
    assert.equal(typeof onDisk.host, 'string');
    assert.ok(onDisk.host.length > 0);
    assert.equal(onDisk.pid, process.pid);
    assert.equal(onDisk.acquired, '2026-01-02T03:04:05.678Z');
    assert.equal(onDisk.heartbeat, '2026-01-02T03:04:05.678Z');
    assert.match(onDisk.token, /^[0-9a-f]{24}$/);
    if (process.platform === 'linux') {
      assert.equal(typeof onDisk.pidStart, 'string', 'the pid start time is recorded on Linux');
      assert.equal(typeof onDisk.bootId, 'string', 'the boot id is recorded on Linux');
    }

    const second = locks.acquire('GLD-1', { agent: 'agent-b' });
    assert.equal(second.ok, false);
    assert.ok(!second.ok);
    assert.equal(second.holder.state, 'held');
    assert.ok(second.holder.state === 'held');
    assert.equal(second.holder.owner.agent, 'agent-a');
    assert.deepEqual(readOwner(locks.where('GLD-1')), first.owner, 'the loser changed nothing');
  });

  test('a claim without --pid records pid null and still a token', () => {
    const locks = new MkdirTaskLocks(freshDir());
    const got = locks.acquire('T-9', { agent: 'a' });
    assert.ok(got.ok);
    assert.equal(got.owner.pid, null);
    assert.equal(got.owner.pidStart, null);
    const other = locks.acquire('T-10', { agent: 'a' });
    assert.ok(other.ok);
    assert.notEqual(got.owner.token, other.owner.token, 'tokens are random');
  });

  test('release with the wrong token is refused and leaves the lock; the right token removes the dir', () => {
    const locks = new MkdirTaskLocks(freshDir());
    const got = locks.acquire('GLD-2', { agent: 'a' });
    assert.ok(got.ok);
    const path = locks.where('GLD-2');
    assert.equal(locks.release('GLD-2', 'not-the-token'), 'not-yours');
    assert.equal(locks.release('GLD-2', ''), 'not-yours');
    assert.ok(existsSync(path));
    assert.deepEqual(readOwner(path), got.owner);

    assert.equal(locks.release('GLD-2', got.owner.token), 'released');
    assert.equal(existsSync(path), false);
    assert.deepEqual(locks.read('GLD-2'), { state: 'free' });
    assert.equal(locks.release('GLD-2', got.owner.token), 'free', 'releasing twice is harmless');
  });

  test('a lock dir without owner.json is unreadable, counts as held, and is not released by anyone', () => {
    const locks = new MkdirTaskLocks(freshDir());
    mkdirSync(locks.where('GLD-3'), { recursive: true });
    assert.equal(locks.read('GLD-3').state, 'unreadable');
    const got = locks.acquire('GLD-3', { agent: 'a' });
    assert.equal(got.ok, false);
    assert.equal(locks.release('GLD-3', 'anything'), 'not-yours');
    assert.ok(existsSync(locks.where('GLD-3')));
  });

  test('heartbeat with the right token refreshes owner.json; a wrong token changes nothing', () => {
    const locks = new MkdirTaskLocks(freshDir());
    const t0 = Date.parse('2026-03-01T00:00:00.000Z');
    const got = locks.acquire('GLD-4', { agent: 'a', now: t0 });
    assert.ok(got.ok);
    const path = locks.where('GLD-4');

    assert.equal(locks.heartbeat('GLD-4', 'wrong', t0 + 60_000), null);
    assert.deepEqual(readOwner(path), got.owner);

    const beat = locks.heartbeat('GLD-4', got.owner.token, t0 + 60_000);
    assert.ok(beat);
    assert.equal(beat.heartbeat, '2026-03-01T00:01:00.000Z');
    assert.deepEqual(readOwner(path), { ...got.owner, heartbeat: '2026-03-01T00:01:00.000Z' }, 'only the heartbeat changes');
    assert.deepEqual(readdirSync(path), [OWNER_FILE], 'no temp file left behind');

    assert.equal(locks.heartbeat('GLD-5', got.owner.token, t0), null, 'no lock, no heartbeat');
  });

  test('list() returns the lock dirs that are task locks and ignores anything else', () => {
    const dir = freshDir();
    const locks = new MkdirTaskLocks(dir);
    assert.deepEqual(locks.list(), [], 'no locks dir yet: empty, not an error');
    const b = locks.acquire('GLD-10', { agent: 'b' });
    const a = locks.acquire('GLD-2', { agent: 'a' });
    assert.ok(a.ok && b.ok);
    mkdirSync(join(dir, 'GLD-7.lock'));
    mkdirSync(join(dir, 'junk.lock'));
    mkdirSync(join(dir, 'GLD-8'));
    writeFileSync(join(dir, 'notes.txt'), 'x');
    const listed = locks.list();
    assert.deepEqual(listed.map(({ task }) => task).sort(), ['GLD-10', 'GLD-2', 'GLD-7']);
    const byTask = new Map(listed.map(({ task, read }) => [task, read]));
    assert.deepEqual(byTask.get('GLD-2'), { state: 'held', owner: a.owner, written: statSync(join(dir, 'GLD-2.lock', OWNER_FILE)).mtimeMs });
    assert.deepEqual(byTask.get('GLD-10'), { state: 'held', owner: b.owner, written: statSync(join(dir, 'GLD-10.lock', OWNER_FILE)).mtimeMs });
    assert.equal(byTask.get('GLD-7')?.state, 'unreadable');
  });

  test('lock paths refuse anything that is not a task ID', () => {
    const dir = freshDir();
    const locks = new MkdirTaskLocks(join(dir, 'locks'));
    for (const bad of ['../x', '../GLD-1', 'GLD-1/../../x', 'GLD-1/x', '', '.', '..', 'gld-1', 'GLD-01', '/etc/passwd', 'GLD-1\n']) {
      assert.throws(() => locks.pathOf(bad), /refusing a lock path/, JSON.stringify(bad));
      assert.throws(() => locks.where(bad), /refusing a lock path/);
      assert.throws(() => locks.acquire(bad, { agent: 'a' }), /refusing a lock path/);
      assert.throws(() => locks.release(bad, 't'), /refusing a lock path/);
      assert.throws(() => locks.read(bad), /refusing a lock path/);
      assert.throws(() => locks.heartbeat(bad, 't'), /refusing a lock path/);
    }
    assert.equal(existsSync(dir), false, 'nothing was created anywhere');
  });

  test('of 8 processes racing for each of 40 locks, exactly one wins each', async () => {
    const dir = freshDir();
    const tasks = Array.from({ length: 40 }, (_, i) => `GLD-${i + 1}`);
    const script = `
import { MkdirTaskLocks } from '${src('lock/task-locks.ts')}';
const [dir, agent] = process.argv.slice(2);
const locks = new MkdirTaskLocks(dir);
${BARRIER}
const won = [];
for (const task of ${JSON.stringify(tasks)}) {
  const got = locks.acquire(task, { agent });
  if (got.ok) won.push(task);
}
process.stdout.write(JSON.stringify(won));
`;
    const outputs = await raceProcesses(script, 8, (i) => [dir, `p${i}`]);
    const winners = new Map<string, string[]>();
    outputs.forEach((out, i) => {
      for (const task of JSON.parse(out) as string[]) winners.set(task, [...(winners.get(task) ?? []), `p${i}`]);
    });
    const locks = new MkdirTaskLocks(dir);
    for (const task of tasks) {
      const who = winners.get(task) ?? [];
      assert.equal(who.length, 1, `${task} was won by ${JSON.stringify(who)}`);
      const read = locks.read(task);
      assert.ok(read.state === 'held', `${task}: ${read.state}`);
      assert.equal(read.owner.agent, who[0], `${task}: owner.json names the winner`);
      for (const key of ['agent', 'host', 'acquired', 'heartbeat', 'token'] as const) assert.equal(typeof read.owner[key], 'string', `${task}.${key}`);
      assert.ok('pid' in read.owner);
    }
    assert.equal(readdirSync(dir).length, tasks.length);
  });
});

describe('judgeLock', () => {
  const owner = (heartbeat: string): LockOwner => ({
    task: 'GLD-1',
    agent: 'a',
    host: 'h',
    pid: null,
    pidStart: null,
    bootId: null,
    claimPid: 1,
    claimPidStart: null,
    claimEvent: null,
    acquired: '2026-01-01T00:00:00.000Z',
    heartbeat,
    token: 't',
  });
  const beat = Date.parse('2026-01-01T10:00:00.000Z');
  const ttlMs = 3_600_000;

  test('fresh until the heartbeat is older than lock_ttl', () => {
    const lock = owner('2026-01-01T10:00:00.000Z');
    assert.deepEqual(judgeLock(lock, { now: beat, ttlMs }), { stale: false });
    assert.deepEqual(judgeLock(lock, { now: beat + ttlMs, ttlMs }), { stale: false });
    const stale = judgeLock(lock, { now: beat + ttlMs + 1_000, ttlMs });
    assert.equal(stale.stale, true);
    assert.ok(stale.stale);
    assert.match(stale.reason, /no heartbeat for 3601s/);
    assert.match(stale.reason, /lock_ttl 3600s/);
  });

  test('a heartbeat in the future (clock skew) is not stale', () => {
    assert.deepEqual(judgeLock(owner('2026-01-01T11:00:00.000Z'), { now: beat, ttlMs }), { stale: false });
  });

  test('a heartbeat that is not a time is stale', () => {
    const judged = judgeLock(owner('yesterday-ish'), { now: beat, ttlMs });
    assert.ok(judged.stale);
    assert.match(judged.reason, /not a time/);
  });
});

describe('withBoardMutex', () => {
  test('a mutex left without an owner by a killed writer ages while others poll it, and is broken after the grace period', async () => {
    // Found by a crash test: a writer waiting for the mutex polls breakIfDead, and each poll took
    // and gave back the breaker inside the mutex dir, touching the mtime its age is read from.
    // The dead writer's mutex stayed young for ever and every later write timed out.
    const path = join(freshDir(), 'board.lock');
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, OWNER_FILE), ''); // opened, never written: the writer died there
    const nineSecondsAgo = new Date(Date.now() - (UNFINISHED_GRACE_MS - 1_000));
    utimesSync(path, nineSecondsAgo, nineSecondsAgo);
    for (let i = 0; i < 5; i++) assert.equal(breakIfDead(path, systemProbe, Date.now()), false, 'too young to break');
    assert.equal(breakIfDead(path, systemProbe, Date.now() + 2_000), true, 'past the grace period by the clock, whatever the polls did');
    assert.equal(existsSync(path), false);
  });

  test('returns the work\'s value and removes the mutex dir, also when the work throws', async () => {
    const path = join(freshDir(), 'guild', 'board.lock');
    let inside = false;
    const value = await withBoardMutex(path, 'test', async () => {
      inside = existsSync(path);
      return 42;
    });
    assert.equal(value, 42);
    assert.ok(inside, 'the mutex dir exists while the work runs');
    assert.equal(existsSync(path), false);

    await assert.rejects(
      withBoardMutex(path, 'test', async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(existsSync(path), false, 'released after a throw');
  });

  test('records who holds it', async () => {
    const path = join(freshDir(), 'board.lock');
    const holder = await withBoardMutex(path, 'claim GLD-1 for a', async () => readLockOwner<Record<string, unknown>>(path));
    assert.ok(holder.state === 'held');
    assert.equal(holder.owner.pid, process.pid);
    assert.equal(holder.owner.purpose, 'claim GLD-1 for a');
    assert.equal(typeof holder.owner.host, 'string');
    assert.equal(typeof holder.owner.token, 'string');
    assert.ok(!Number.isNaN(Date.parse(String(holder.owner.since))));
  });

  test('times out with a BoardBusyError (exit 3: a busy board is never exit 1) naming the holder, using the injected clock and sleep', async () => {
    const path = join(freshDir(), 'board.lock');
    mkdirSync(dirname(path), { recursive: true });
    assert.ok(tryMkdirLock(path, { pid: 4242, host: 'build-7', since: '2026-01-01T00:00:00.000Z', token: 'x', purpose: 'claim GLD-9 for w3' }));
    let clock = 1_000_000;
    const sleeps: number[] = [];
    let ran = false;
    const started = Date.now();
    const error = await withBoardMutex(
      path,
      'test',
      async () => {
        ran = true;
      },
      {
        timeoutMs: 5_000,
        now: () => clock,
        sleep: (ms) => {
          sleeps.push(ms);
          clock += ms * 100;
        },
      },
    ).then(
      () => assert.fail('expected a BoardBusyError'),
      (thrown: unknown) => thrown,
    );
    assert.ok(Date.now() - started < 2_000, 'the injected sleep was used, not a real one');
    assert.ok(error instanceof BoardBusyError, String(error));
    assert.equal(error.code, 'EBUSY');
    assert.equal(error.exitCode, 3);
    assert.match(error.message, /pid 4242 on build-7 \(claim GLD-9 for w3\) since 2026-01-01T00:00:00\.000Z/);
    assert.match(error.message, /within 5s/);
    assert.equal(error.data.path, path);
    assert.equal(ran, false);
    assert.ok(sleeps.length > 1, 'it retried before giving up');
    for (const ms of sleeps) assert.ok(ms >= 1 && ms <= 50, `backoff step ${ms}ms`);
    assert.ok(existsSync(path), 'the holder\'s mutex is left alone');
    assert.equal(readLockOwner<{ pid: number }>(path).state, 'held');
  });

  test('excludes across processes: 8 processes x 50 read-increment-write of one counter lose no update', async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    const counterFile = join(dir, 'counter');
    writeFileSync(counterFile, '0');
    const script = `
import { readFileSync, writeFileSync } from 'node:fs';
import { withBoardMutex } from '${src('lock/board-mutex.ts')}';
import { sleepSync } from '${src('lock/sleep.ts')}';
const [mutex, counter] = process.argv.slice(2);
${BARRIER}
for (let i = 0; i < 50; i++) {
  await withBoardMutex(mutex, 'count', async () => {
    const value = Number(readFileSync(counter, 'utf8'));
    if (i % 10 === 0) sleepSync(1); // widen the window a lost update would need
    writeFileSync(counter, String(value + 1));
  });
}
process.stdout.write('done');
`;
    const outputs = await raceProcesses(script, 8, () => [join(dir, 'board.lock'), counterFile]);
    assert.deepEqual(outputs, Array(8).fill('done'));
    assert.equal(readFileSync(counterFile, 'utf8'), '400');
    assert.equal(existsSync(join(dir, 'board.lock')), false);
  });
});

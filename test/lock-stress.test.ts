// Claim locks under fire: real processes taking, releasing and dying while holding, real healers
// breaking what the dead left, and races between healers for the very same stale lock. The
// participants are the roles of test/helpers/lock-worker.ts. A marker file per task, created
// exclusively by whoever holds the task's lock, is the witness of mutual exclusion.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { withBoardMutex } from '../src/lock/board-mutex.js';
import { judgeProcess, systemProbe, type ProcessProbe } from '../src/lock/liveness.js';
import type { LockOwner } from '../src/lock/lock-owner.js';
import { OWNER_FILE, readLockOwner, tryMkdirLock } from '../src/lock/mkdir-lock.js';
import { MkdirTaskLocks } from '../src/lock/task-locks.js';
import { healOnce, noCounts, removedThenThrew, type HealCounts, type StressConfig } from './helpers/lock-worker.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const WORKER_SCRIPT = join(ROOT, 'test', 'helpers', 'lock-worker.ts');

const scratch = mkdtempSync(join(tmpdir(), 'guild-fs-lock-stress-'));
const running = new Set<ChildProcess>();
after(() => {
  for (const child of running) child.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});
/**
 * Signs, across this file's races, of a remover's `.break` landing inside a tombstone (see the
 * todo tests at the end): removals that threw ENOTEMPTY after removing the lock, and healers told
 * 'refused' for a lock nobody took again.
 */
const strayBreakers: string[] = [];
let counter = 0;
const freshDir = (): string => {
  const dir = join(scratch, `case-${++counter}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};

/** A process of one lock-worker role, with its stdout as lines and its end as a promise. */
class Role {
  readonly child: ChildProcess & { pid: number };
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout = '';
  stderr = '';
  private lines: string[] = [];
  private waiting: ((line: string) => void)[] = [];

  constructor(role: string, config: object, onData?: (chunk: string) => void) {
    this.child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT, role, JSON.stringify(config)], { cwd: ROOT }) as ChildProcess & { pid: number };
    running.add(this.child);
    let partial = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      onData?.(chunk);
      partial += chunk;
      for (let end = partial.indexOf('\n'); end >= 0; end = partial.indexOf('\n')) {
        const line = partial.slice(0, end);
        partial = partial.slice(end + 1);
        const waiter = this.waiting.shift();
        if (waiter) waiter(line);
        else this.lines.push(line);
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        running.delete(this.child);
        for (const waiter of this.waiting.splice(0)) waiter(`EXITED ${code ?? signal}: ${this.stderr}`);
        resolve({ code, signal });
      }),
    );
  }

  get pid(): number {
    return this.child.pid;
  }

  nextLine(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve(`EXITED: ${this.stderr}`);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** Ends a role that exits by itself (stop file, or `exit` on stdin) and checks it did so cleanly. */
  async finished(): Promise<string> {
    this.child.stdin!.end();
    const { code, signal } = await this.exited;
    assert.equal(code, 0, `${signal ?? ''} ${this.stderr}`);
    return this.stdout;
  }
}

/** A pid that was in use a moment ago and is now free (its process ran, exited and was reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  assert.equal(systemProbe.isAlive(child.pid!), false);
  return child.pid!;
}

function ownerRecord(task: string, pid: number, pidStart: string | null): LockOwner {
  const now = new Date().toISOString();
  const self = { host: systemProbe.host, bootId: systemProbe.bootId };
  return { task, agent: 'planted', ...self, pid, pidStart, claimPid: pid, claimPidStart: pidStart, claimEvent: null, acquired: now, heartbeat: now, token: randomBytes(12).toString('hex') };
}

/** Writes a lock held by `pid` as if it had taken it; returns its token. */
function plantLock(locks: MkdirTaskLocks, task: string, pid: number, pidStart: string | null): string {
  const owner = ownerRecord(task, pid, pidStart);
  assert.ok(tryMkdirLock(locks.where(task), owner), `${task} was free`);
  return owner.token;
}

/** Another process takes `lockDir`'s breaker, as a release or heartbeat under way does, and keeps it. */
async function holdBreaker(lockDir: string): Promise<Role> {
  const holder = new Role('breaker-holder', { lockDir });
  assert.equal(await holder.nextLine(), 'HELD');
  return holder;
}

async function kill(role: Role): Promise<void> {
  role.child.kill('SIGKILL');
  await role.exited;
}

/**
 * The symlink target of a breaker whose remover was SIGKILLed holding it. A copy planted in a
 * lock is a dead remover's breaker, in whatever form lock-removal.ts writes breakers.
 */
async function deadBreakerTarget(): Promise<string> {
  const dir = join(freshDir(), 'X-1.lock');
  mkdirSync(dir);
  const holder = await holdBreaker(dir);
  const target = readlinkSync(join(dir, '.break'));
  await kill(holder);
  return target;
}

const plantBreaker = (lockDir: string, name: string, target: string): void => symlinkSync(target, join(lockDir, name));

/** systemProbe, but `reusedPid` has another start time now, or this host has another name. */
function probeWith(change: { reusedPid?: number; host?: string }): ProcessProbe {
  return {
    host: change.host ?? systemProbe.host,
    bootId: systemProbe.bootId,
    isAlive: (pid) => systemProbe.isAlive(pid),
    startTime: (pid) => (pid === change.reusedPid ? 'another-start' : systemProbe.startTime(pid)),
  };
}

const tally = (outcomes: string[]): Record<string, number> => outcomes.reduce<Record<string, number>>((sum, outcome) => ({ ...sum, [outcome]: (sum[outcome] ?? 0) + 1 }), {});

describe('claim locks under SIGKILL, with healers', () => {
  test('10 workers on 3 locks, killed while holding and respawned, 3 healers: never two holders at once', async (t) => {
    const dir = freshDir();
    const config: StressConfig = {
      locksDir: join(dir, 'locks'),
      markersDir: join(dir, 'markers'),
      violations: join(dir, 'violations.log'),
      removedThenThrew: join(dir, 'removed-then-threw.log'),
      stopFile: join(dir, 'stop'),
      tasks: ['GLD-1', 'GLD-2', 'GLD-3'],
      holdMs: [1, 4],
    };
    mkdirSync(config.markersDir);
    const WORKERS = 10;
    const BUDGET_MS = 25_000;
    const TARGET_ACQUISITIONS = 6_000;
    const locks = new MkdirTaskLocks(config.locksDir);

    let acquisitions = 0;
    const unexpectedExits: string[] = [];
    const workers = new Map<number, Role>();
    const spawnWorker = (): void => {
      const worker = new Role('worker', config, (chunk) => (acquisitions += chunk.length));
      workers.set(worker.pid, worker);
      void worker.exited.then(({ code, signal }) => {
        workers.delete(worker.pid);
        if (signal !== 'SIGKILL' && code !== 0) unexpectedExits.push(`worker ${worker.pid} exited ${code ?? signal}: ${worker.stderr}`);
      });
    };
    const healers = Array.from({ length: 3 }, () => new Role('healer', config));
    for (let i = 0; i < WORKERS; i++) spawnWorker();

    /** Pids holding a lock right now, by their owner.json. */
    const holders = (): number[] =>
      locks
        .list()
        .flatMap(({ read }) => (read.state === 'held' && read.owner.pid !== null && workers.has(read.owner.pid) ? [read.owner.pid] : []));

    let kills = 0;
    let aimedAtHolder = 0;
    let heldAtDeath = 0;
    const started = Date.now();
    while (Date.now() - started < BUDGET_MS && acquisitions < TARGET_ACQUISITIONS) {
      // Each respawn costs a node start-up (~0.35 CPU-s): kill often, but leave the workers the CPU.
      await delay(250 + Math.random() * 400);
      const holding = holders();
      const aim = holding.length > 0 && Math.random() < 0.7;
      const pids = aim ? holding : [...workers.keys()];
      const victim = workers.get(pids[Math.floor(Math.random() * pids.length)]!);
      if (!victim) continue;
      victim.child.kill('SIGKILL');
      kills++;
      if (aim) aimedAtHolder++;
      spawnWorker();
      await victim.exited;
      // The lock is still the dead worker's unless a healer was quicker than this look.
      if (locks.list().some(({ read }) => read.state === 'held' && read.owner.pid === victim.pid)) heldAtDeath++;
    }
    const elapsed = Date.now() - started;

    writeFileSync(config.stopFile, '');
    const stopping = [...workers.values()];
    await Promise.all(stopping.map((worker) => worker.exited));
    const healed = noCounts();
    for (const healer of healers) {
      const counts = JSON.parse(await healer.finished()) as HealCounts;
      for (const key of Object.keys(healed) as (keyof HealCounts)[]) healed[key] += counts[key];
    }
    // What the last kills left, after the healers stopped.
    const finalPass = noCounts();
    healOnce({ ...config, removedThenThrew: join(dir, 'final-pass-threw.log') }, finalPass, new Map());
    // Everyone has stopped: a lock still without owner.json was left by a taker killed right
    // after its mkdir. Break it as abandoned, from a clock moved past the age bug (todo tests).
    const abandoned: string[] = [];
    for (const task of config.tasks) {
      const read = locks.read(task);
      if (read.state !== 'unreadable') continue;
      abandoned.push(`${task}: ${read.reason}, holding ${JSON.stringify(readdirSync(locks.where(task)))}`);
      assert.equal(locks.breakStale(task, { unreadableForMs: 1_000 }, Date.now() + 60_000), 'removed');
    }
    const threw = existsSync(config.removedThenThrew) ? readFileSync(config.removedThenThrew, 'utf8').split('\n').filter(Boolean) : [];
    strayBreakers.push(...threw);
    t.diagnostic(
      `${(elapsed / 1000).toFixed(1)}s: ${acquisitions} acquisitions, ${kills} kills (${aimedAtHolder} aimed at a holder, ${heldAtDeath} seen holding at death); ` +
        `healers: ${JSON.stringify(healed)}; final pass: ${JSON.stringify(finalPass)}; abandoned half-taken locks at the end: ${JSON.stringify(abandoned)}; ` +
        `removals that threw ENOTEMPTY after removing: ${threw.length}`,
    );
    assert.deepEqual(unexpectedExits, []);
    const violations = existsSync(config.violations) ? readFileSync(config.violations, 'utf8') : '';
    assert.equal(violations, '', 'mutual exclusion held');
    // Thousands on an idle machine; a floor here, because the CPU is shared with other suites.
    assert.ok(acquisitions >= 500, `${acquisitions} acquisitions`);
    assert.ok(kills >= 20, `${kills} kills`);
    assert.ok(healed.removed > 0, 'some kills landed while holding, and healers freed those locks');

    for (const task of config.tasks) {
      const read = locks.read(task);
      const live = read.state === 'held' && judgeProcess(read.owner, systemProbe).alive;
      assert.ok(read.state === 'free' || live, `${task} is ${read.state === 'unreadable' ? `unreadable (${read.reason})` : read.state} after the final heal`);
    }
    assert.deepEqual(readdirSync(config.markersDir).filter((name) => !name.startsWith('.')), [], 'every dead holder\'s marker was cleared by the healer that broke its lock');
    locks.sweep(Date.now() + 2 * 60_000);
    assert.deepEqual(readdirSync(config.locksDir), [], 'no lock, tombstone or breaker left');
  });
});

describe('healers racing for one stale lock', () => {
  /** Starts `count` race-healers and waits until each has loaded. */
  async function raceHealers(count: number, locksDir: string): Promise<Role[]> {
    const healers = Array.from({ length: count }, () => new Role('race-healer', { locksDir }));
    for (const healer of healers) assert.equal(await healer.nextLine(), 'READY');
    return healers;
  }
  const ask = async (healers: Role[], line: string): Promise<string[]> => {
    for (const healer of healers) healer.send(line);
    return Promise.all(healers.map((healer) => healer.nextLine()));
  };

  test('4 healers, 200 stale locks (dead pid, reused pid, dead breaker, dead taker-over): exactly one breaks each', async (t) => {
    const locksDir = join(freshDir(), 'locks');
    const locks = new MkdirTaskLocks(locksDir);
    const healers = await raceHealers(4, locksDir);
    const dead = await deadPid();
    const deadBreakers = [await deadBreakerTarget(), await deadBreakerTarget()] as const;
    const myStart = systemProbe.startTime(process.pid);
    const outcomes: string[] = [];
    for (let round = 0; round < 200; round++) {
      const kind = round % 4;
      // kind 1: a live pid with another start time, as when the dead holder's pid was reused.
      plantLock(locks, 'GLD-7', kind === 1 ? process.pid : dead, kind === 1 ? `${myStart}0` : '1');
      if (kind >= 2) plantBreaker(locks.where('GLD-7'), '.break', deadBreakers[0]);
      if (kind === 3) plantBreaker(locks.where('GLD-7'), '.break.1', deadBreakers[1]);
      assert.deepEqual(await ask(healers, 'judge GLD-7'), Array(4).fill('judged stale'));
      const round_ = (await ask(healers, 'go')).map((line) => line.replace(/^outcome /, ''));
      outcomes.push(...round_);
      // Nobody takes the lock again in this race, so a loser should only ever see the winner's
      // breaker (busy) or no lock (gone). 'refused' means its .break landed in the winner's
      // tombstone; 'removed-then-threw' that the winner's clearTombstone tripped over one.
      strayBreakers.push(...round_.filter((outcome) => outcome === 'removed-then-threw' || outcome === 'refused').map((outcome) => `race round ${round}: ${outcome}`));
      assert.equal(round_.filter((outcome) => outcome.startsWith('removed')).length, 1, `round ${round} (kind ${kind}): ${round_.join(', ')}`);
      for (const outcome of round_) assert.ok(['removed', 'removed-then-threw', 'gone', 'busy', 'refused'].includes(outcome), `round ${round}: ${outcome}`);
      // A tombstone is left only by a winner that threw (counted above); sweep it as doctor would.
      locks.sweep(Date.now() + 2 * 60_000);
      assert.deepEqual(readdirSync(locksDir), [], `round ${round}: the lock is gone`);
    }
    await Promise.all(healers.map((healer) => (healer.send('exit'), healer.finished())));
    t.diagnostic(`outcomes over 200 rounds x 4 healers: ${JSON.stringify(tally(outcomes))}`);
  });

  test('ABA: the judged lock was released and taken again before the healers act: all refuse, the new lock survives', async () => {
    const locksDir = join(freshDir(), 'locks');
    const locks = new MkdirTaskLocks(locksDir);
    const healers = await raceHealers(4, locksDir);
    const dead = await deadPid();
    for (let round = 0; round < 50; round++) {
      const old = plantLock(locks, 'GLD-8', dead, '1');
      assert.deepEqual(await ask(healers, 'judge GLD-8'), Array(4).fill('judged stale'));
      assert.equal(locks.release('GLD-8', old), 'released');
      const again = locks.acquire('GLD-8', { agent: 'new-holder', pid: process.pid });
      assert.ok(again.ok);
      const outcomes = await ask(healers, 'go');
      for (const outcome of outcomes) assert.ok(['outcome refused', 'outcome busy'].includes(outcome), `round ${round}: ${outcome}`);
      const read = locks.read('GLD-8');
      assert.ok(read.state === 'held' && read.owner.token === again.owner.token, `round ${round}: the new lock survived`);
      assert.deepEqual(readdirSync(locks.where('GLD-8')), [OWNER_FILE], 'no breaker left inside it');
      assert.equal(locks.release('GLD-8', again.owner.token), 'released');
    }
    await Promise.all(healers.map((healer) => (healer.send('exit'), healer.finished())));
  });

  test('ABA race: healers break while the old holder\'s token releases and a new holder takes it: the new lock always survives', async (t) => {
    const locksDir = join(freshDir(), 'locks');
    const locks = new MkdirTaskLocks(locksDir);
    const healers = await raceHealers(3, locksDir);
    const dead = await deadPid();
    const releases: string[] = [];
    const outcomes: string[] = [];
    for (let round = 0; round < 150; round++) {
      const old = plantLock(locks, 'GLD-9', dead, '1');
      assert.deepEqual(await ask(healers, 'judge GLD-9'), Array(3).fill('judged stale'));
      for (const healer of healers) healer.send('go');
      const released = removedThenThrew(() => locks.release('GLD-9', old), 'released', () => strayBreakers.push(`ABA race round ${round}`));
      const again = locks.acquire('GLD-9', { agent: 'new-holder', pid: process.pid });
      const round_ = (await Promise.all(healers.map((healer) => healer.nextLine()))).map((line) => line.replace(/^outcome /, ''));
      releases.push(released);
      outcomes.push(...round_);
      assert.ok(again.ok, `round ${round}: the name was free again after the release (${released}) or the break`);
      strayBreakers.push(...round_.filter((outcome) => outcome === 'removed-then-threw').map(() => `ABA race round ${round}`));
      const removed = round_.filter((outcome) => outcome.startsWith('removed')).length;
      // 'free': a healer broke the old lock first; 'released': we did, and no healer may have.
      assert.ok(released === 'free' || released === 'released', `round ${round}: release said ${released}`);
      assert.equal(removed, released === 'free' ? 1 : 0, `round ${round}: release ${released}, healers ${round_.join(', ')}`);
      const read = locks.read('GLD-9');
      assert.ok(read.state === 'held' && read.owner.token === again.owner.token, `round ${round}: the new lock survived (${round_.join(', ')})`);
      assert.equal(locks.release('GLD-9', again.owner.token), 'released');
    }
    await Promise.all(healers.map((healer) => (healer.send('exit'), healer.finished())));
    t.diagnostic(`releases: ${JSON.stringify(tally(releases))}; healer outcomes: ${JSON.stringify(tally(outcomes))}`);
  });
});

describe('a remover that died holding the breaker', () => {
  test('a dead remover\'s .break does not block release, heartbeat or heal: it is taken over', async () => {
    const locks = new MkdirTaskLocks(join(freshDir(), 'locks'));
    const dead = await deadPid();
    const [deadBreaker, deadTakerOver] = [await deadBreakerTarget(), await deadBreakerTarget()];

    const mine = locks.acquire('GLD-1', { agent: 'a', pid: process.pid });
    assert.ok(mine.ok);
    plantBreaker(locks.where('GLD-1'), '.break', deadBreaker);
    const beat = locks.heartbeat('GLD-1', mine.owner.token, Date.now() + 1_000);
    assert.ok(beat, 'the heartbeat got through');
    assert.deepEqual(readdirSync(locks.where('GLD-1')), [OWNER_FILE], 'the dead breaker went with the heartbeat\'s release of it');
    plantBreaker(locks.where('GLD-1'), '.break', deadBreaker);
    const started = Date.now();
    assert.equal(locks.release('GLD-1', mine.owner.token), 'released');
    assert.ok(Date.now() - started < 300, 'at once, not after the busy retries');
    assert.equal(existsSync(locks.where('GLD-1')), false);

    const stale = plantLock(locks, 'GLD-2', dead, '1');
    plantBreaker(locks.where('GLD-2'), '.break', deadBreaker);
    plantBreaker(locks.where('GLD-2'), '.break.1', deadTakerOver);
    assert.equal(locks.breakStale('GLD-2', { token: stale }), 'removed', 'a dead taker-over is taken over in turn');
    assert.deepEqual(readdirSync(locks.dir), []);
  });

  test('a breaker held by a live process makes breakStale busy, and the lock is left alone until it is gone', async () => {
    const locks = new MkdirTaskLocks(join(freshDir(), 'locks'));
    const token = plantLock(locks, 'GLD-4', await deadPid(), '1');
    const remover = await holdBreaker(locks.where('GLD-4'));

    assert.equal(locks.breakStale('GLD-4', { token }), 'busy');
    assert.equal(locks.release('GLD-4', token), 'busy', 'a release waits its retries out, then says busy');
    assert.deepEqual(readdirSync(locks.where('GLD-4')).sort(), ['.break', OWNER_FILE], 'nothing taken over, nothing removed');

    await kill(remover);
    assert.equal(locks.breakStale('GLD-4', { token }), 'removed', 'once the breaker\'s process is gone, it no longer blocks');
  });

  test('a breaker whose pid now belongs to another process is dead too', async () => {
    const locks = new MkdirTaskLocks(join(freshDir(), 'locks'));
    const token = plantLock(locks, 'GLD-3', await deadPid(), '1');
    const remover = await holdBreaker(locks.where('GLD-3'));
    assert.equal(locks.breakStale('GLD-3', { token }), 'busy');
    const reused = new MkdirTaskLocks(locks.dir, probeWith({ reusedPid: remover.pid }));
    assert.equal(reused.breakStale('GLD-3', { token }), 'removed');
    await kill(remover);
  });

  test('a breaker from another host is judged by its age alone', async () => {
    const dir = join(freshDir(), 'locks');
    const token = plantLock(new MkdirTaskLocks(dir), 'GLD-5', await deadPid(), '1');
    const remover = await holdBreaker(join(dir, 'GLD-5.lock'));
    await kill(remover);
    // Seen from another machine, the dead remover's pid proves nothing: only its breaker's age does.
    const elsewhere = new MkdirTaskLocks(dir, probeWith({ host: 'elsewhere' }));
    const now = Date.now();
    assert.equal(elsewhere.breakStale('GLD-5', { token }, now), 'busy', 'moments old: maybe still at work over there');
    assert.equal(elsewhere.breakStale('GLD-5', { token }, now + 10 * 60_000), 'removed', 'ten minutes old: dead');
  });
});

describe('the board mutex of a killed writer', () => {
  const holdMutex = async (path: string): Promise<Role> => {
    const holder = new Role('mutex-holder', { path });
    assert.equal(await holder.nextLine(), 'HELD');
    assert.equal(readLockOwner<{ pid: number }>(path).state, 'held');
    return holder;
  };

  test('a writer SIGKILLed while holding the mutex does not block the next one', async () => {
    const path = join(freshDir(), 'guild', 'board.lock');
    const holder = await holdMutex(path);
    holder.child.kill('SIGKILL');
    await holder.exited;
    const started = Date.now();
    const value = await withBoardMutex(path, 'after the crash', async () => 'written', { timeoutMs: 15_000 });
    assert.equal(value, 'written');
    assert.ok(Date.now() - started < 2_000, `broke the dead writer's mutex in ${Date.now() - started}ms`);
    assert.equal(existsSync(path), false);
  });

  test('a writer already waiting gets the mutex soon after its holder is killed, not before', async () => {
    const path = join(freshDir(), 'guild', 'board.lock');
    const holder = await holdMutex(path);
    const waiter = new Role('mutex-waiter', { path, timeoutMs: 20_000 });
    assert.equal(await waiter.nextLine(), 'WAITING');
    await delay(500);
    const killedAt = Date.now();
    holder.child.kill('SIGKILL');
    const got = await waiter.nextLine();
    assert.match(got, /^GOT \d+$/);
    const waited = Number(got.slice(4)) - killedAt;
    assert.ok(waited >= 0 && waited < 3_000, `got it ${waited}ms after the kill`);
    await waiter.finished();
    assert.equal(existsSync(path), false);
  });

  test('a live holder\'s mutex is not broken: the waiter times out', async () => {
    const path = join(freshDir(), 'guild', 'board.lock');
    const holder = await holdMutex(path);
    const waiter = new Role('mutex-waiter', { path, timeoutMs: 700 });
    assert.equal(await waiter.nextLine(), 'WAITING');
    assert.match(await waiter.nextLine(), /^FAILED the board is being written by pid \d+ .*held until killed/);
    await waiter.finished();
    assert.equal(readLockOwner<{ pid: number }>(path).state, 'held');
    holder.child.kill('SIGKILL');
    await holder.exited;
  });
});

describe('locks whose owner.json was never written', () => {
  test(
    'breakStale({ unreadableForMs }) breaks a lock dir left without owner.json long ago',
    () => {
      const locks = new MkdirTaskLocks(join(freshDir(), 'locks'));
      mkdirSync(locks.where('GLD-6'), { recursive: true });
      const hourAgo = new Date(Date.now() - 3_600_000);
      utimesSync(locks.where('GLD-6'), hourAgo, hourAgo);
      assert.equal(locks.breakStale('GLD-6', { unreadableForMs: 10_000 }), 'removed');
    },
  );

  test(
    'withBoardMutex breaks a mutex dir left without owner.json long ago',
    async () => {
      const path = join(freshDir(), 'board.lock');
      mkdirSync(path);
      const hourAgo = new Date(Date.now() - 3_600_000);
      utimesSync(path, hourAgo, hourAgo);
      await withBoardMutex(path, 'after a crash right after mkdir', async () => {}, { timeoutMs: 1_500 });
    },
  );
});

describe('a breaker made through the lock\'s name while the lock is renamed away', () => {
  // A remover creates `<name>/.break` by path: the kernel resolves <name> to a directory, then
  // makes the link in it. If another remover renames that directory to a tombstone in between,
  // the link lands inside the tombstone, yet everything after (the owner read, the rename, the
  // final unlink of `.break`) goes by name again, to whatever holds the name by then.

  test(
    'no remover\'s breaker lands in a tombstone: no removal throws after removing, no healer is refused a lock nobody took again (the races above)',
    () => {
      assert.deepEqual(strayBreakers, []);
    },
  );

  test(
    'a remover whose .break landed in a tombstone does not unlink the breaker of the new lock at that name',
    async () => {
      const locks = new MkdirTaskLocks(join(freshDir(), 'locks'));
      const path = locks.where('GLD-11');
      const judged = plantLock(locks, 'GLD-11', await deadPid(), '1');
      const elsewhere = join(freshDir(), 'X-1.lock');
      mkdirSync(elsewhere);
      const remover = await holdBreaker(elsewhere);
      const liveBreaker = readlinkSync(join(elsewhere, '.break'));
      const fs = createRequire(import.meta.url)('node:fs') as { symlinkSync: (target: string, path: string) => void };
      const symlink = fs.symlinkSync;
      const tomb = join(locks.dir, '.tomb-GLD-11.lock-winner');
      fs.symlinkSync = (target, at) => {
        fs.symlinkSync = symlink;
        syncBuiltinESMExports();
        // This healer's path walk has resolved GLD-11.lock. Meanwhile: another healer renames it
        // to a tombstone and empties it, a new holder takes the name, and the new holder's
        // release holds the new lock's breaker.
        renameSync(path, tomb);
        rmSync(join(tomb, OWNER_FILE));
        assert.ok(locks.acquire('GLD-11', { agent: 'new-holder', pid: process.pid }).ok);
        plantBreaker(path, '.break', liveBreaker);
        // Then the link is made where the walk led: in the tombstone.
        symlink(target, at.replace(path, tomb));
      };
      syncBuiltinESMExports();
      try {
        const outcome = locks.breakStale('GLD-11', { token: judged });
        assert.notEqual(outcome, 'removed');
      } finally {
        fs.symlinkSync = symlink;
        syncBuiltinESMExports();
        await kill(remover);
      }
      assert.ok(readdirSync(path).includes('.break'), 'the new lock\'s breaker, held by a live remover, is still there');
    },
  );
});

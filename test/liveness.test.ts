// src/lock/liveness.ts and judgeLock: staleness on proof. The rules are checked with a fake
// ProcessProbe and an injected clock (no sleeping); then the real systemProbe is checked
// against real processes: one alive, one SIGKILLed, and a live pid recorded with another
// start time (what pid reuse looks like).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { holderOf, judgeProcess, systemProbe, type Holder, type ProcessProbe } from '../src/lock/liveness.js';
import type { LockOwner } from '../src/lock/lock-owner.js';
import { judgeLock } from '../src/lock/task-locks.js';

const HOST = 'build-3';
const BOOT = 'boot-aaaa';
const T0 = Date.parse('2026-05-01T12:00:00.000Z');
const TTL = 15 * 60_000;

/** A machine where `processes` maps each live pid to its start time; every other pid is gone. */
function fakeProbe(processes: Record<number, string | null>, machine: { host?: string; bootId?: string | null } = {}): ProcessProbe & { asked: number[] } {
  const asked: number[] = [];
  return {
    host: machine.host ?? HOST,
    bootId: machine.bootId === undefined ? BOOT : machine.bootId,
    asked,
    isAlive(pid) {
      asked.push(pid);
      return pid in processes;
    },
    startTime(pid) {
      asked.push(pid);
      return processes[pid] ?? null;
    },
  };
}

function lockOwner(fields: Partial<LockOwner> = {}): LockOwner {
  const at = new Date(T0).toISOString();
  return {
    task: 'GLD-1',
    agent: 'agent-a',
    host: HOST,
    bootId: BOOT,
    pid: 4242,
    pidStart: '9001',
    claimPid: 4240,
    claimPidStart: '8999',
    claimEvent: null,
    acquired: at,
    heartbeat: at,
    token: 'feedface',
    ...fields,
  };
}

describe('judgeProcess', () => {
  const holder = (fields: Partial<Holder> = {}): Holder => ({ host: HOST, bootId: BOOT, pid: 4242, pidStart: '9001', ...fields });

  test('same host, pid alive with the recorded start time: alive', () => {
    assert.deepEqual(judgeProcess(holder(), fakeProbe({ 4242: '9001' })), { alive: true });
  });

  test('same host, pid gone: dead', () => {
    const verdict = judgeProcess(holder(), fakeProbe({ 7: '1' }));
    assert.ok(!verdict.alive);
    assert.match(verdict.reason, /process 4242 is gone/);
  });

  test('pid alive but started at another time (pid reuse): dead', () => {
    const verdict = judgeProcess(holder(), fakeProbe({ 4242: '12345' }));
    assert.ok(!verdict.alive);
    assert.match(verdict.reason, /pid 4242 now belongs to another process/);
  });

  test('a start time the OS cannot give is no proof: alive', () => {
    assert.deepEqual(judgeProcess(holder(), fakeProbe({ 4242: null })), { alive: true });
    assert.deepEqual(judgeProcess(holder({ pidStart: null }), fakeProbe({ 4242: '12345' })), { alive: true }, 'nothing recorded to compare');
  });

  test('another boot id on the same host: dead, whatever the pid says', () => {
    const verdict = judgeProcess(holder(), fakeProbe({ 4242: '9001' }, { bootId: 'boot-bbbb' }));
    assert.ok(!verdict.alive);
    assert.match(verdict.reason, /restarted/);
    assert.deepEqual(judgeProcess(holder({ bootId: null }), fakeProbe({ 4242: '9001' }, { bootId: 'boot-bbbb' })), { alive: true }, 'no boot id recorded: no proof');
    assert.deepEqual(judgeProcess(holder(), fakeProbe({ 4242: '9001' }, { bootId: null })), { alive: true }, 'no boot id on this OS: no proof');
  });

  test('another host: alive, and its pid is never looked up here', () => {
    const probe = fakeProbe({}, { host: 'laptop-9', bootId: 'boot-zzzz' });
    assert.deepEqual(judgeProcess(holder(), probe), { alive: true });
    assert.deepEqual(probe.asked, [], 'a pid from another machine means nothing on this one');
  });

  test('pid null: alive, nothing asked', () => {
    const probe = fakeProbe({});
    assert.deepEqual(judgeProcess(holder({ pid: null, pidStart: null }), probe), { alive: true });
    assert.deepEqual(probe.asked, []);
  });

  test('holderOf records this host, boot and the pid\'s start time', () => {
    assert.deepEqual(holderOf(fakeProbe({ 77: '555' }), 77), { host: HOST, bootId: BOOT, pid: 77, pidStart: '555' });
    assert.deepEqual(holderOf(fakeProbe({}), null), { host: HOST, bootId: BOOT, pid: null, pidStart: null });
  });
});

describe('judgeLock', () => {
  const fresh = { now: T0 + 60_000, ttlMs: TTL };

  test('same host, pid gone: stale, even with a fresh heartbeat', () => {
    const judged = judgeLock(lockOwner(), { ...fresh, probe: fakeProbe({}) });
    assert.ok(judged.stale);
    assert.match(judged.reason, /process 4242 is gone/);
  });

  test('pid reused by another process: stale', () => {
    const judged = judgeLock(lockOwner(), { ...fresh, probe: fakeProbe({ 4242: '77777' }) });
    assert.ok(judged.stale);
    assert.match(judged.reason, /another process/);
  });

  test('pid alive with the same start time and a fresh heartbeat: not stale', () => {
    assert.deepEqual(judgeLock(lockOwner(), { ...fresh, probe: fakeProbe({ 4242: '9001' }) }), { stale: false });
  });

  test('machine restarted (other boot id): stale', () => {
    const judged = judgeLock(lockOwner(), { ...fresh, probe: fakeProbe({ 4242: '9001' }, { bootId: 'boot-new' }) });
    assert.ok(judged.stale);
    assert.match(judged.reason, /restarted/);
  });

  test('the live process does not keep a lock whose heartbeat is older than lock_ttl', () => {
    const probe = fakeProbe({ 4242: '9001' });
    assert.deepEqual(judgeLock(lockOwner(), { now: T0 + TTL, ttlMs: TTL, probe }), { stale: false }, 'exactly lock_ttl old');
    const judged = judgeLock(lockOwner(), { now: T0 + TTL + 1, ttlMs: TTL, probe });
    assert.ok(judged.stale);
    assert.match(judged.reason, /no heartbeat for 900s \(lock_ttl 900s\)/);
  });

  test('another host: judged by heartbeat only, its pid never asked about', () => {
    const probe = fakeProbe({}, { host: 'laptop-9' });
    assert.deepEqual(judgeLock(lockOwner(), { ...fresh, probe }), { stale: false }, 'pid 4242 is not running here, and that proves nothing');
    const judged = judgeLock(lockOwner(), { now: T0 + TTL + 1_000, ttlMs: TTL, probe });
    assert.ok(judged.stale);
    assert.match(judged.reason, /no heartbeat/);
    assert.deepEqual(probe.asked, []);
  });

  test('pid null: judged by heartbeat only', () => {
    const probe = fakeProbe({});
    const owner = lockOwner({ pid: null, pidStart: null });
    assert.deepEqual(judgeLock(owner, { ...fresh, probe }), { stale: false });
    assert.deepEqual(judgeLock(owner, { now: T0 + TTL - 1, ttlMs: TTL, probe }), { stale: false });
    assert.ok(judgeLock(owner, { now: T0 + TTL + 1, ttlMs: TTL, probe }).stale);
    assert.deepEqual(probe.asked, []);
  });

  test(
    'pid null survives a reboot while its heartbeat is fresh ("bound to no process: lives by heartbeat alone")',
    () => {
      const owner = lockOwner({ pid: null, pidStart: null });
      assert.deepEqual(judgeLock(owner, { ...fresh, probe: fakeProbe({}, { bootId: 'boot-new' }) }), { stale: false });
    },
  );
});

describe('systemProbe against real processes', { skip: process.platform !== 'linux' && 'start times are read from /proc' }, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'guild-fs-liveness-'));
  const children: ChildProcess[] = [];
  after(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  });

  /** A node process that idles until killed; resolves once it runs. */
  async function idleProcess(executable = process.execPath): Promise<ChildProcess & { pid: number }> {
    const child = spawn(executable, ['-e', 'process.stdout.write("up\\n"); setInterval(() => {}, 60_000)'], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    await once(child.stdout!, 'data');
    assert.equal(typeof child.pid, 'number');
    return child as ChildProcess & { pid: number };
  }

  /** SIGKILL, then wait until it is reaped: before that a zombie still answers kill(pid, 0). */
  async function killAndReap(child: ChildProcess): Promise<void> {
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    const [, signal] = await exited;
    assert.equal(signal, 'SIGKILL');
  }

  test('this host and boot are known', () => {
    assert.ok(systemProbe.host.length > 0);
    assert.equal(systemProbe.bootId, readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    assert.match(systemProbe.startTime(process.pid) ?? '', /^\d+$/);
    assert.equal(systemProbe.isAlive(process.pid), true);
  });

  test('a live child is alive with a stable start time; once SIGKILLed and reaped it is gone', async () => {
    const child = await idleProcess();
    const holder = holderOf(systemProbe, child.pid);
    assert.match(holder.pidStart ?? '', /^\d+$/);
    assert.equal(systemProbe.isAlive(child.pid), true);
    assert.equal(systemProbe.startTime(child.pid), holder.pidStart, 'the same start time when asked again');
    assert.deepEqual(judgeProcess(holder, systemProbe), { alive: true });
    const owner = lockOwner({ host: holder.host, bootId: holder.bootId, pid: child.pid, pidStart: holder.pidStart, heartbeat: new Date().toISOString() });
    assert.deepEqual(judgeLock(owner, { now: Date.now(), ttlMs: TTL }), { stale: false });

    await killAndReap(child);
    assert.equal(systemProbe.isAlive(child.pid), false);
    assert.equal(systemProbe.startTime(child.pid), null);
    const verdict = judgeProcess(holder, systemProbe);
    assert.ok(!verdict.alive);
    assert.match(verdict.reason, new RegExp(`process ${child.pid} is gone`));
    const judged = judgeLock(owner, { now: Date.now(), ttlMs: TTL });
    assert.ok(judged.stale, 'a fresh heartbeat does not save a lock whose process is gone');
  });

  test('a live pid recorded with another start time (pid reuse) is stale; with its real one it is not', () => {
    const real = systemProbe.startTime(process.pid);
    assert.ok(real);
    const base = { host: systemProbe.host, bootId: systemProbe.bootId, pid: process.pid, heartbeat: new Date().toISOString() };
    const reused = judgeLock(lockOwner({ ...base, pidStart: String(Number(real) - 1) }), { now: Date.now(), ttlMs: TTL });
    assert.ok(reused.stale);
    assert.match(reused.reason, new RegExp(`pid ${process.pid} now belongs to another process`));
    assert.deepEqual(judgeLock(lockOwner({ ...base, pidStart: real }), { now: Date.now(), ttlMs: TTL }), { stale: false });
  });

  test('the start time is field 22 even when the command name holds spaces and parentheses', async () => {
    // The kernel names the process after the file it executed: a symlink to node called so.
    const odd = join(scratch, 'x) 1 2 (y z');
    symlinkSync(process.execPath, odd);
    const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const uptimeBefore = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const child = await idleProcess(odd);
    const uptimeAfter = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    assert.match(readFileSync(`/proc/${child.pid}/stat`, 'utf8'), /^\d+ \(x\) 1 2 \(y z\) /, 'the odd name made it into /proc');
    const start = Number(systemProbe.startTime(child.pid));
    // Start time is in clock ticks since boot: it must fall between the two uptime readings.
    assert.ok(start >= Math.floor(uptimeBefore * ticksPerSecond) - 1 && start <= Math.ceil(uptimeAfter * ticksPerSecond) + 1, `start ${start} ticks, uptime ${uptimeBefore}..${uptimeAfter}s`);
    await killAndReap(child);
  });
});

// Locks that are there but say nothing sound (issue 11, items 13, 14 and the full disk): an
// owner.json that is no owner, a heartbeat written by a clock that has since gone back, and a
// claim whose owner write fails. Every command treats the first as a damaged lock, never as a
// TypeError or "held by undefined"; the second as fresh but named by doctor; the third leaves
// nothing behind.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OWNER_FILE, readLockOwner, tryMkdirLock } from '../src/lock/mkdir-lock.js';
import { judgeLock, MkdirTaskLocks } from '../src/lock/task-locks.js';
import { cli } from './helpers/cli.js';
import { age, board, claim, doctor, heal, killSleepers, lockDir, readOwner, repoFor, writeOwner } from './helpers/heal-cases.js';

after(killSleepers);

const DAMAGED: [string, string][] = [
  ['null', 'null'],
  ['an empty object', '{}'],
  ['an array', '[1,2]'],
  ['a string', '"text"'],
  ['truncated JSON', '{"task":"GLD-1","agent":"agent-a","ho'],
];

const COMMANDS: string[][] = [['locks'], ['claim', 'GLD-1'], ['show', 'GLD-1'], ['status'], ['doctor'], ['heal']];

describe('a damaged owner.json', () => {
  for (const [name, text] of DAMAGED) {
    test(`${name}: every command answers without a TypeError or "undefined", doctor names it, heal removes it once old`, (t) => {
      const repo = repoFor(t, board({ ready: ['- [ ] GLD-1 Damaged', '- [ ] GLD-2 Bystander'] }));
      const dir = lockDir(repo, 'GLD-1');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, OWNER_FILE), text);

      for (const args of COMMANDS) {
        for (const json of [false, true]) {
          const run = cli(json ? [...args, '--json'] : args, { cwd: repo.dir, agent: 'agent-b' });
          const said = `${args.join(' ')}${json ? ' --json' : ''}: ${run.code}\n${run.stdout}\n${run.stderr}`;
          assert.notEqual(run.code, 1, said);
          assert.doesNotMatch(run.stdout + run.stderr, /undefined|TypeError/, said);
        }
      }

      const locks = cli(['locks', '--json'], { cwd: repo.dir });
      assert.deepEqual(
        locks.json!.result.locks.map((lock: { task: string; damaged: boolean }) => [lock.task, lock.damaged]),
        [['GLD-1', true]],
      );
      assert.match(cli(['locks'], { cwd: repo.dir }).stdout, /GLD-1.*DAMAGED/);

      const claimed = cli(['claim', 'GLD-1'], { cwd: repo.dir, agent: 'agent-b' });
      assert.equal(claimed.code, 3, claimed.stderr);
      assert.match(claimed.stderr, /held by a damaged lock \(owner\.json is not/);

      const report = doctor(repo);
      assert.equal(report.code, 6);
      assert.ok(report.problems.some((problem) => problem.startsWith('locks: GLD-1: damaged lock')), report.problems.join('\n'));

      // Young: a claim may be in the middle of writing it. Old: removed, and the task is free again.
      assert.ok(existsSync(dir), 'heal left a young damaged lock alone');
      age(dir, 600);
      const healed = heal(repo);
      assert.deepEqual(
        healed.actions.map((action) => [action.task, action.action]),
        [['GLD-1', 'removed-unfinished']],
      );
      assert.ok(!existsSync(dir));
      claim(repo, 'GLD-1', 'agent-b');
      assert.deepEqual(doctor(repo).problems, []);
    });
  }

  test('an owner.json with a field of the wrong type is damaged too, and says which', () => {
    const dir = mkdtempSync(join(tmpdir(), 'guild-fs-damaged-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const locks = new MkdirTaskLocks(dir);
    mkdirSync(locks.pathOf('GLD-7'));
    writeFileSync(join(locks.pathOf('GLD-7'), OWNER_FILE), JSON.stringify({ task: 'GLD-7', agent: 7 }));
    assert.deepEqual(locks.read('GLD-7'), { state: 'unreadable', reason: 'owner.json is not a lock owner (agent is a number)', damaged: true });
    // The generic reader (board mutex, daemon lock) asks only for an object.
    assert.equal(readLockOwner(locks.pathOf('GLD-7')).state, 'held');
    writeFileSync(join(locks.pathOf('GLD-7'), OWNER_FILE), 'null');
    assert.deepEqual(readLockOwner(locks.pathOf('GLD-7')), { state: 'unreadable', reason: 'owner.json is not a lock owner (null)', damaged: true });
    // An empty owner.json is a claim between its open and its write: not damaged.
    writeFileSync(join(locks.pathOf('GLD-7'), OWNER_FILE), '');
    const empty = locks.read('GLD-7');
    assert.equal(empty.state, 'unreadable');
    assert.equal('damaged' in empty, false);
  });
});

describe('a heartbeat in the future (clock skew)', () => {
  test('counts as now: the lock is fresh, status shows no negative age, doctor warns, another claim is refused', (t) => {
    const repo = repoFor(t, board({ ready: ['- [ ] GLD-1 Skewed'] }));
    claim(repo, 'GLD-1', 'agent-a');
    const future = '2100-01-01T00:00:00.000Z';
    writeOwner(repo, 'GLD-1', { ...readOwner(repo, 'GLD-1'), acquired: future, heartbeat: future });

    const status = cli(['status'], { cwd: repo.dir });
    assert.equal(status.code, 0, status.stderr);
    assert.doesNotMatch(status.stdout, /\s-\d|ms ago|STALE/, status.stdout);
    assert.match(status.stdout, /beat \S+ in the future/);
    const held = cli(['status', '--json'], { cwd: repo.dir }).json!.result.holding;
    assert.equal(held[0].stale, null);

    const report = doctor(repo);
    assert.deepEqual(report.problems, []);
    const warnings = report.checks.find((check) => check.name === 'locks')!.warnings;
    assert.ok(
      warnings.some((warning) => /^GLD-1: heartbeat of agent-a is \S+ in the future \(clock skew\?\)/.test(warning)),
      warnings.join('\n'),
    );

    const other = cli(['claim', 'GLD-1'], { cwd: repo.dir, agent: 'agent-b' });
    assert.equal(other.code, 3, other.stderr);
    assert.match(other.stderr, /held by agent-a/);
    assert.deepEqual(heal(repo).actions, []);
  });

  test('judgeLock: a future heartbeat is age 0, not a negative age', () => {
    const owner = { heartbeat: new Date(10_000).toISOString() } as Parameters<typeof judgeLock>[0];
    const probe = { host: 'elsewhere', bootId: null, isAlive: () => true, startTime: () => null };
    assert.deepEqual(judgeLock({ ...owner, host: 'h', pid: null, bootId: null, pidStart: null }, { now: 0, ttlMs: 1, probe }), { stale: false });
    // Once the clock passes it, lock_ttl runs from it as from any heartbeat.
    assert.equal(judgeLock({ ...owner, host: 'h', pid: null, bootId: null, pidStart: null }, { now: 10_002, ttlMs: 1, probe }).stale, true);
  });

  test('judgeLock: a future heartbeat is judged by when owner.json was written, so a silent holder still goes stale', () => {
    const owner = { heartbeat: new Date(1_000_000).toISOString(), host: 'h', pid: null, bootId: null, pidStart: null } as Parameters<typeof judgeLock>[0];
    const probe = { host: 'elsewhere', bootId: null, isAlive: () => true, startTime: () => null };
    assert.deepEqual(judgeLock(owner, { now: 500, ttlMs: 100, probe, written: 450 }), { stale: false });
    assert.match((judgeLock(owner, { now: 500, ttlMs: 100, probe, written: 300 }) as { reason: string }).reason, /no heartbeat for 0s/);
    // A mtime in the future too (the file system's clock is off as well) says nothing: now, as before.
    assert.deepEqual(judgeLock(owner, { now: 500, ttlMs: 100, probe, written: 900 }), { stale: false });
  });

  test('a holder elsewhere with a far-future heartbeat, silent past lock_ttl by its file, is healed', (t) => {
    const repo = repoFor(t, board({ ready: ['- [ ] GLD-1 Skewed'], ttl: '60s' }));
    claim(repo, 'GLD-1', 'agent-a');
    const future = '2100-01-01T00:00:00.000Z';
    writeOwner(repo, 'GLD-1', { ...readOwner(repo, 'GLD-1'), host: 'another-host', pid: null, acquired: future, heartbeat: future });
    age(join(lockDir(repo, 'GLD-1'), OWNER_FILE), 600);
    const held = cli(['status', '--json'], { cwd: repo.dir }).json!.result.holding;
    assert.match(String(held[0].stale), /no heartbeat for \d+s/);
    assert.ok(heal(repo).actions.length > 0, 'heal breaks it');
  });
});

describe('a claim whose owner write fails (a full disk)', () => {
  test('leaves no half-made lock behind, and the error reaches the caller', () => {
    const dir = mkdtempSync(join(tmpdir(), 'guild-fs-enospc-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const lock = join(dir, 'GLD-1.lock');
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    assert.throws(
      () =>
        tryMkdirLock(lock, { task: 'GLD-1' }, () => {
          throw full;
        }),
      full,
    );
    assert.ok(!existsSync(lock), 'the half-made lock is gone');
    // The task is free at once, not held by an empty owner.json for the healer's grace.
    assert.equal(tryMkdirLock(lock, { task: 'GLD-1' }), true);
    assert.equal(readLockOwner(lock).state, 'held');
  });
});

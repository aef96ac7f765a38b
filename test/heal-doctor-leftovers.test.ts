// heal and doctor, the rest: a log out of time order, leftovers (unfinished locks, tombstones,
// the board mutex), breakers left by a killed remover, a task claimed on another host, and the
// --json shapes. Helpers are in helpers/heal-cases.ts.
import { after, describe, test, type TestContext } from 'node:test';
import { once } from 'node:events';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawn } from 'node:child_process';
import { withBoardMutex } from '../src/lock/board-mutex.js';
import { systemProbe } from '../src/lock/liveness.js';
import { newUlid } from '../src/log/event.js';
import { cli } from './helpers/cli.js';
import { readLog } from './helpers/repo.js';
import { ROOT, age, appendLog, assertDoctorOk, board, claim, deadProcess, doctor, event, heal, killSleepers, lockDir, locksDir, makeLock, mutexDir, ownerRecord, repoFor, startSleeper, task, writeIntent, type DoctorCheck } from './helpers/heal-cases.js';

after(killSleepers);

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
    // Killed below; t.after() makes sure of it when the test fails first.
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
  test('doctor --json: {ok, checks[board, log, locks, mutex, worktrees, merge, access]}, exit 0; the ECHECK envelope and exit 6 when anything is wrong', (t) => {
    const repo = repoFor(t);
    const good = cli(['doctor', '--json'], { cwd: repo.dir });
    assert.equal(good.code, 0);
    assert.deepEqual(Object.keys(good.json!), ['ok', 'result']);
    assert.equal(good.json!.ok, true);
    assert.deepEqual(good.json!.result, {
      ok: true,
      checks: ['board', 'log', 'locks', 'mutex', 'worktrees', 'merge', 'access'].map((name) => ({ name, ok: true, problems: [], warnings: [] })),
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
    assert.deepEqual(checks.map((check) => [check.name, check.ok]), [['board', true], ['log', true], ['locks', false], ['mutex', true], ['worktrees', true], ['merge', true], ['access', true]]);
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

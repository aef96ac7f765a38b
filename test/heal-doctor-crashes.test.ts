// heal and doctor, one crash at a time (the crash cases at the top of src/health/heal.ts). Each
// case builds by hand, in a temp repo, what a process that died at one step leaves behind, then
// checks that doctor names it (exit 6), that heal repairs exactly that (board, log, lock), and
// that doctor is then content (exit 0). Dead processes are real ones, killed and reaped; their
// pid start times are recorded, so a pid reused meanwhile still reads as gone.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { newUlid } from '../src/log/event.js';
import { cli } from './helpers/cli.js';
import { readLog } from './helpers/repo.js';
import { appendLog, assertDoctorOk, board, claim, deadProcess, doctor, event, heal, intentPath, killSleepers, lockDir, locksDir, makeLock, ownerRecord, readOwner, repoFor, startSleeper, task, writeIntent, writeOwner } from './helpers/heal-cases.js';

after(killSleepers);

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

// The command line as agents use it: the built CLI as a real process, its --json envelope and
// its exit codes (SPEC section 5), for every command's success and each kind of failure.
// This file: complete, fail, release, heartbeat, show, locks, human output. Helpers: helpers/cli-cases.ts.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from './helpers/cli.js';
import { readLog, tempRepo } from './helpers/repo.js';
import { eventsOf, fails, future, ids, lockDir, ok, ownerJson, placeOf, repoFor, run, withFrontMatter } from './helpers/cli-cases.js';

// --- complete --------------------------------------------------------------------------------

describe('complete', () => {
  test('moves the task to Done with [x], releases the lock and logs task.completed', (t) => {
    const repo = repoFor(t);
    ok(repo, ['claim', 'GLD-5'], { agent: 'a' });
    const result = ok(repo, ['complete', 'GLD-5', '--note', 'shipped'], { agent: 'a' });
    assert.equal(result.status, 'done');
    assert.equal(result.already, false);
    assert.equal(result.lock, 'released');
    assert.equal(result.task.id, 'GLD-5');
    assert.equal(result.task.status, 'done');
    assert.deepEqual(placeOf(repo, 'GLD-5'), { section: 'Done', line: '- [x] GLD-5 Add a health check endpoint owner:a' });
    assert.equal(existsSync(lockDir(repo, 'GLD-5')), false);
    const [completed] = eventsOf(repo, 'task.completed', 'GLD-5');
    assert.equal(completed?.agent, 'a');
    assert.deepEqual(completed?.data, { to: 'done', note: 'shipped' });
  });

  test('without an ID it completes the one task the agent holds; twice is not an error', (t) => {
    const repo = repoFor(t);
    ok(repo, ['claim', 'GLD-5'], { agent: 'a' });
    assert.equal(ok(repo, ['complete'], { agent: 'a' }).task.id, 'GLD-5');
    const again = ok(repo, ['complete', 'GLD-5'], { agent: 'a' });
    assert.equal(again.already, true);
    assert.equal(again.status, 'done');
    assert.equal(eventsOf(repo, 'task.completed', 'GLD-5').length, 1);
  });

  test('completing GLD-2 and GLD-3 unblocks GLD-4, with task.unblocked', (t) => {
    const repo = repoFor(t);
    ok(repo, ['claim', 'GLD-2'], { agent: 'a' });
    ok(repo, ['claim', 'GLD-3'], { agent: 'b' });
    ok(repo, ['complete', 'GLD-2'], { agent: 'a' });
    assert.equal(placeOf(repo, 'GLD-4')?.section, 'Blocked', 'one need is still open');
    assert.equal(eventsOf(repo, 'task.unblocked').length, 0);
    ok(repo, ['complete', 'GLD-3'], { agent: 'b' });
    assert.equal(placeOf(repo, 'GLD-4')?.section, 'Ready');
    const unblocked = eventsOf(repo, 'task.unblocked');
    assert.equal(unblocked.length, 1);
    assert.equal(unblocked[0]!.task, 'GLD-4');
    assert.deepEqual((unblocked[0]!.data as any).needs, ['GLD-2', 'GLD-3']);
    // GLD-4 now sits below GLD-5 in Ready, and board order is work order.
    assert.deepEqual(ids(ok(repo, ['ready']).tasks), ['GLD-5', 'GLD-4']);
    assert.equal(ok(repo, ['claim', 'GLD-4'], { agent: 'c' }).task.owner, 'c');
  });

  test('review: true in the front matter sends complete to Review', (t) => {
    const repo = repoFor(t);
    withFrontMatter(repo, 'max_tries: 3\nreview: true\n');
    ok(repo, ['claim', 'GLD-5'], { agent: 'a' });
    const result = ok(repo, ['complete', 'GLD-5'], { agent: 'a' });
    assert.equal(result.status, 'review');
    assert.deepEqual(placeOf(repo, 'GLD-5'), { section: 'Review', line: '- [ ] GLD-5 Add a health check endpoint owner:a' });
    assert.equal((eventsOf(repo, 'task.completed', 'GLD-5')[0]?.data as { to?: string } | undefined)?.to, 'review');
    assert.equal(existsSync(lockDir(repo, 'GLD-5')), false);
  });

  test(
    'review: true: completing twice (a retry after a crash) leaves the task in Review',
    (t) => {
      const repo = repoFor(t);
      withFrontMatter(repo, 'max_tries: 3\nreview: true\n');
      ok(repo, ['claim', 'GLD-5'], { agent: 'a' });
      ok(repo, ['complete', 'GLD-5'], { agent: 'a' });
      const again = ok(repo, ['complete', 'GLD-5'], { agent: 'a' });
      assert.equal(again.status, 'review');
      assert.equal(again.already, true);
      assert.equal(placeOf(repo, 'GLD-5')?.section, 'Review');
    },
  );

  test('failures: another agent\'s task (3), no such task (4), not claimed or nothing held (2)', (t) => {
    const repo = repoFor(t);
    ok(repo, ['claim', 'GLD-2'], { agent: 'a' });
    const board = repo.read();
    const error = fails(repo, ['complete', 'GLD-2'], 3, 'EHELD', { agent: 'b' });
    assert.equal(error.data?.holder, 'a');
    fails(repo, ['complete', 'GLD-99'], 4, 'ENOTASK', { agent: 'a' });
    fails(repo, ['complete', 'GLD-5'], 2, 'ENOTCLAIMED', { agent: 'a' });
    fails(repo, ['complete'], 2, 'ENOID', { agent: 'b' });
    fails(repo, ['complete', 'GLD-2'], 2, 'ENOAGENT');
    fails(repo, ['complete', 'GLD-2'], 2, 'EBADAGENT', { agent: 'a b' });
    fails(repo, ['complete', 'bad-id'], 2, 'EBADID', { agent: 'a' });
    assert.equal(repo.read(), board);
    assert.equal(ownerJson(repo, 'GLD-2').agent, 'a');
  });
});

// --- fail ------------------------------------------------------------------------------------

describe('fail', () => {
  test('increments tries, sets retry in the future, requeues to Ready and releases the lock', (t) => {
    const repo = repoFor(t);
    ok(repo, ['claim', 'GLD-2'], { agent: 'a' });
    const before = Date.now();
    const result = ok(repo, ['fail', 'GLD-2', '--reason', 'tests fail'], { agent: 'a' });
    assert.equal(result.status, 'ready');
    assert.equal(result.lock, 'released');
    assert.equal(result.poisoned, undefined);
    const retry = Date.parse(result.retry);
    assert.ok(retry >= before + 5 * 60_000 - 1_000 && retry <= Date.now() + 5 * 60_000 + 1_000, `retry_base 5m: ${result.retry}`);
    assert.deepEqual(placeOf(repo, 'GLD-2'), { section: 'Ready', line: `- [ ] GLD-2 Add the login form prio:high caps:frontend tries:1 retry:${result.retry}` });
    assert.equal(existsSync(lockDir(repo, 'GLD-2')), false);
    const [failed] = eventsOf(repo, 'task.failed', 'GLD-2');
    assert.deepEqual(failed?.data, { reason: 'tests fail', tries: 1, retry: result.retry });
    assert.equal(eventsOf(repo, 'task.poisoned').length, 0);
    const shown = ok(repo, ['show', 'GLD-2']).task;
    assert.deepEqual([shown.tries, shown.retry, shown.owner], [1, result.retry, null]);
    // Not claimable until the retry time.
    assert.deepEqual(ids(ok(repo, ['ready']).tasks), ['GLD-3', 'GLD-5']);
    assert.equal(ok(repo, ['next']).task.id, 'GLD-3');
    fails(repo, ['claim', 'GLD-2'], 5, 'ENOTREADY', { agent: 'b' });
    assert.equal(ok(repo, ['claim'], { agent: 'b' }).task.id, 'GLD-3');
  });

  test(
    'the result\'s task shows the task as it now is',
    (t) => {
      const repo = repoFor(t);
      ok(repo, ['claim', 'GLD-2'], { agent: 'a' });
      const failed = ok(repo, ['fail', 'GLD-2', '--reason', 'x'], { agent: 'a' });
      assert.deepEqual([failed.task.owner, failed.task.tries, failed.task.retry], [null, 1, failed.retry]);
      ok(repo, ['claim', 'GLD-3'], { agent: 'a' });
      const released = ok(repo, ['release', 'GLD-3'], { agent: 'a' });
      assert.equal(released.task.owner, null);
    },
  );

  test('the backoff doubles with each earlier try', (t) => {
    const repo = repoFor(t);
    withFrontMatter(repo, 'max_tries: 5\n');
    repo.write(repo.read().replace('## In Progress\n', '## In Progress\n- [ ] GLD-7 Flaky thing owner:a tries:2\n'));
    const before = Date.now();
    const result = ok(repo, ['fail', 'GLD-7', '--reason', 'again'], { agent: 'a' });
    const delay = Date.parse(result.retry) - before;
    assert.ok(delay >= 4 * 5 * 60_000 - 1_000 && delay <= 4 * 5 * 60_000 + 5_000, `third try: 4 x retry_base, got ${delay}ms`);
    assert.match(placeOf(repo, 'GLD-7')!.line, / tries:3 retry:/);
    assert.equal(result.lock, 'free', 'there was no lock to release');
  });

  test('after max_tries the task goes to Failed, with task.failed and task.poisoned', async (t) => {
    const repo = repoFor(t);
    withFrontMatter(repo, 'max_tries: 2\n');
    repo.write(repo.read().replace('retry_base: 5m', 'retry_base: 1ms'));
    ok(repo, ['claim', 'GLD-5'], { agent: 'a' });
    assert.equal(ok(repo, ['fail', 'GLD-5', '--reason', 'one'], { agent: 'a' }).status, 'ready');
    await new Promise((resolve) => setTimeout(resolve, 20));
    ok(repo, ['claim', 'GLD-5'], { agent: 'b' });
    const result = ok(repo, ['fail', '--reason', 'two'], { agent: 'b' });
    assert.equal(result.status, 'failed');
    assert.equal(result.poisoned, true);
    assert.equal(result.lock, 'released');
    assert.deepEqual(placeOf(repo, 'GLD-5'), { section: 'Failed', line: '- [ ] GLD-5 Add a health check endpoint tries:2' });
    const failed = eventsOf(repo, 'task.failed', 'GLD-5');
    assert.equal(failed.length, 2);
    assert.deepEqual(failed[1]!.data, { reason: 'two', tries: 2 });
    const poisoned = eventsOf(repo, 'task.poisoned', 'GLD-5');
    assert.equal(poisoned.length, 1);
    assert.deepEqual(poisoned[0]!.data, { tries: 2, maxTries: 2 });
    assert.ok(!ids(ok(repo, ['ready']).tasks).includes('GLD-5'));
    fails(repo, ['claim', 'GLD-5'], 5, 'ENOTREADY', { agent: 'c' });
  });

  test('failures: no --reason or an empty one (2), another agent\'s task (3), no such task (4)', (t) => {
    const repo = repoFor(t);
    ok(repo, ['claim', 'GLD-2'], { agent: 'a' });
    const board = repo.read();
    fails(repo, ['fail', 'GLD-2'], 2, undefined, { agent: 'a' });
    fails(repo, ['fail', 'GLD-2', '--reason', '  '], 2, 'EUSAGE', { agent: 'a' });
    fails(repo, ['fail', 'GLD-2', '--reason', 'x'], 3, 'EHELD', { agent: 'b' });
    fails(repo, ['fail', 'GLD-99', '--reason', 'x'], 4, 'ENOTASK', { agent: 'a' });
    fails(repo, ['fail', 'GLD-2', '--reason', 'x'], 2, 'ENOAGENT');
    assert.equal(repo.read(), board);
  });
});

// --- release, heartbeat ----------------------------------------------------------------------

describe('release', () => {
  test('puts the task back in Ready unchanged and removes the lock dir', (t) => {
    const repo = repoFor(t);
    const original = placeOf(repo, 'GLD-3');
    ok(repo, ['claim', 'GLD-3'], { agent: 'a' });
    assert.ok(existsSync(lockDir(repo, 'GLD-3')));
    const result = ok(repo, ['release', 'GLD-3'], { agent: 'a' });
    assert.equal(result.status, 'ready');
    assert.equal(result.lock, 'released');
    assert.equal(existsSync(lockDir(repo, 'GLD-3')), false);
    assert.deepEqual(placeOf(repo, 'GLD-3'), original, 'the line is as it was before the claim');
    assert.equal(eventsOf(repo, 'task.released', 'GLD-3').length, 1);
    assert.equal(ok(repo, ['claim', 'GLD-3'], { agent: 'b' }).task.owner, 'b', 'claimable again at once');
  });

  test('failures: another agent\'s task (3), no such task (4), not claimed, no ID, bad ID (2)', (t) => {
    const repo = repoFor(t);
    ok(repo, ['claim', 'GLD-3'], { agent: 'a' });
    fails(repo, ['release', 'GLD-3'], 3, 'EHELD', { agent: 'b' });
    fails(repo, ['release', 'GLD-99'], 4, 'ENOTASK', { agent: 'a' });
    fails(repo, ['release', 'GLD-5'], 2, 'ENOTCLAIMED', { agent: 'a' });
    // No ID: the one task the agent holds, as complete and fail take it; none held is a usage error.
    fails(repo, ['release'], 2, 'ENOID', { agent: 'c' });
    fails(repo, ['release', 'GLD-x'], 2, 'EBADID', { agent: 'a' });
    fails(repo, ['release', 'GLD-3'], 2, 'ENOAGENT');
    assert.ok(existsSync(lockDir(repo, 'GLD-3')));
    assert.equal(placeOf(repo, 'GLD-3')?.section, 'In Progress');
  });
});

describe('heartbeat', () => {
  test('refreshes the heartbeat in owner.json and nothing else', async (t) => {
    const repo = repoFor(t);
    ok(repo, ['claim', 'GLD-3'], { agent: 'a' });
    const before = ownerJson(repo, 'GLD-3');
    await new Promise((resolve) => setTimeout(resolve, 15));
    const result = ok(repo, ['heartbeat', 'GLD-3'], { agent: 'a' });
    assert.equal(result.task, 'GLD-3');
    assert.ok(Date.parse(result.heartbeat) > Date.parse(before.heartbeat));
    const after = ownerJson(repo, 'GLD-3');
    assert.deepEqual(after, { ...before, heartbeat: result.heartbeat });
    assert.equal(ok(repo, ['heartbeat'], { agent: 'a' }).task, 'GLD-3', 'without an ID: the one task held');
    assert.equal(readLog(repo).filter((e) => String(e.type).includes('heartbeat')).length, 0, 'heartbeats are not logged');
  });

  test('failures: another agent\'s task or a lost lock (3), no such task (4), nothing held (2)', (t) => {
    const repo = repoFor(t);
    ok(repo, ['claim', 'GLD-3'], { agent: 'a' });
    const before = ownerJson(repo, 'GLD-3');
    fails(repo, ['heartbeat', 'GLD-3'], 3, 'EHELD', { agent: 'b' });
    assert.deepEqual(ownerJson(repo, 'GLD-3'), before);
    fails(repo, ['heartbeat', 'GLD-99'], 4, 'ENOTASK', { agent: 'a' });
    fails(repo, ['heartbeat'], 2, 'ENOID', { agent: 'b' });
    fails(repo, ['heartbeat'], 2, 'ENOAGENT');
    rmSync(lockDir(repo, 'GLD-3'), { recursive: true });
    fails(repo, ['heartbeat', 'GLD-3'], 3, 'EHELD', { agent: 'a' });
  });
});

// --- show, locks -----------------------------------------------------------------------------

describe('show and locks', () => {
  test('show returns the task, its body, its lock and its history', (t) => {
    const repo = repoFor(t);
    const free = ok(repo, ['show', 'GLD-2']);
    assert.equal(free.lock, null);
    assert.deepEqual(
      free.history.map((e: any) => e.type),
      ['task.created'],
    );
    ok(repo, ['claim', 'GLD-2'], { agent: 'a' });
    const result = ok(repo, ['show', 'GLD-2']);
    assert.deepEqual(Object.keys(result).sort(), ['body', 'history', 'historyTotal', 'lock', 'runs', 'task', 'warnings']);
    assert.equal(result.task.id, 'GLD-2');
    assert.equal(result.task.status, 'in-progress');
    assert.equal(result.task.owner, 'a');
    assert.deepEqual(result.body, ['  Indented lines under a task are its body: what the agent is asked to do.', '  - [ ] acceptance: the form posts to /api/login']);
    assert.equal(result.lock.task, 'GLD-2');
    assert.equal(result.lock.state, 'held');
    assert.equal(result.lock.agent, 'a');
    assert.equal(result.lock.stale, false);
    assert.equal(result.lock.path, lockDir(repo, 'GLD-2'));
    assert.equal(result.lock.heartbeat, ownerJson(repo, 'GLD-2').heartbeat);
    assert.deepEqual(
      result.history.map((e: any) => [e.type, e.task, e.agent]),
      [
        ['task.created', 'GLD-2', 'human'],
        ['task.claimed', 'GLD-2', 'a'],
      ],
    );
    assert.deepEqual(result.warnings, []);
    fails(repo, ['show', 'GLD-99'], 4, 'ENOTASK');
    fails(repo, ['show', 'nope'], 2, 'EBADID');
    fails(repo, ['show'], 2);
  });

  test('show reports a torn last log line as a warning, not a failure', (t) => {
    const repo = repoFor(t);
    repo.write(`${repo.read('.guild/audit.jsonl')}{"v":1,"id":"01J`, '.guild/audit.jsonl');
    const result = run(repo, ['show', 'GLD-2']);
    assert.equal(result.code, 0);
    assert.equal(result.json!.result.warnings.length, 1);
    assert.equal(result.json!.result.warnings[0].line, 7);
    assert.match(result.stderr, /warning: \.guild\/audit\.jsonl:7: torn last line/);
  });

  test('locks lists the locks held now', (t) => {
    const repo = repoFor(t);
    assert.deepEqual(ok(repo, ['locks']), { locks: [] });
    ok(repo, ['claim', 'GLD-2'], { agent: 'a' });
    ok(repo, ['claim', 'GLD-5'], { agent: 'b' });
    const { locks } = ok(repo, ['locks']);
    assert.deepEqual(
      locks.map((lock: any) => [lock.task, lock.agent, lock.state, lock.stale, lock.path]).sort(),
      [
        ['GLD-2', 'a', 'held', false, lockDir(repo, 'GLD-2')],
        ['GLD-5', 'b', 'held', false, lockDir(repo, 'GLD-5')],
      ],
    );
    for (const lock of locks) {
      assert.equal(lock.host, ownerJson(repo, lock.task).host);
      assert.equal(lock.acquired, ownerJson(repo, lock.task).acquired);
      assert.equal(lock.heartbeat, ownerJson(repo, lock.task).heartbeat);
    }
    ok(repo, ['complete', 'GLD-2'], { agent: 'a' });
    assert.deepEqual(
      ok(repo, ['locks']).locks.map((lock: any) => lock.task),
      ['GLD-5'],
    );
  });
});

// --- human output ----------------------------------------------------------------------------

describe('human output', () => {
  test('the main commands print something on stdout and nothing on stderr', (t) => {
    const repo = tempRepo();
    t.after(() => repo.remove());
    const human = (args: string[], agent?: string): string => {
      const result = cli(args, { cwd: repo.dir, agent });
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      assert.notEqual(result.stdout.trim(), '', `${args.join(' ')} printed nothing`);
      assert.equal(result.stderr, '', `${args.join(' ')} wrote to stderr`);
      assert.throws(() => JSON.parse(result.stdout), SyntaxError, 'not JSON without --json');
      return result.stdout;
    };
    assert.match(human(['init', '--example']), /created/);
    assert.match(human(['add', 'Something new']), /GLD-7/);
    assert.match(human(['list']), /GLD-4/);
    assert.match(human(['ready']), /GLD-2/);
    assert.match(human(['next']), /GLD-2/);
    // --no-worktree: this repository has no commit, and claim would say on stderr why it makes no worktree.
    assert.match(human(['claim', '--no-worktree'], 'a'), /GLD-2/);
    assert.match(human(['claim', 'GLD-3', '--no-worktree'], 'b'), /GLD-3/);
    assert.match(human(['claim', 'GLD-5', '--no-worktree'], 'c'), /GLD-5/);
    assert.match(human(['heartbeat'], 'a'), /GLD-2/);
    assert.match(human(['show', 'GLD-2']), /GLD-2/);
    assert.match(human(['locks']), /GLD-2/);
    assert.match(human(['complete'], 'a'), /GLD-2/);
    assert.match(human(['fail', '--reason', 'nope'], 'b'), /GLD-3/);
    assert.match(human(['release', 'GLD-5'], 'c'), /GLD-5/);
  });

  test('errors print `guild-fs: ...` on stderr and nothing on stdout', (t) => {
    const repo = repoFor(t);
    ok(repo, ['claim', 'GLD-2'], { agent: 'a' });
    const cases: [string[], string | undefined, number][] = [
      [['claim'], undefined, 2],
      [['claim', 'GLD-2'], 'b', 3],
      [['show', 'GLD-99'], undefined, 4],
      [['claim', 'GLD-1'], 'b', 5],
      [['list', '--bogus'], undefined, 2],
    ];
    for (const [args, agent, code] of cases) {
      const result = cli(args, { cwd: repo.dir, agent });
      assert.equal(result.code, code, args.join(' '));
      assert.equal(result.stdout, '', `${args.join(' ')}: stdout stays empty`);
      assert.match(result.stderr, /^guild-fs: \S/, args.join(' '));
    }
  });

  test(
    'a usage error with --json=true still prints the JSON envelope',
    (t) => {
      const repo = repoFor(t);
      const result = cli(['list', '--json=true', '--frob'], { cwd: repo.dir });
      assert.equal(result.code, 2);
      assert.deepEqual(JSON.parse(result.stdout), { ok: false, error: { code: 'EUSAGE', message: 'Unknown argument: frob' } });
    },
  );

  test(
    'guild-fs --version prints the package version',
    () => {
      const result = cli(['--version'], { cwd: tmpdir() });
      const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as { version: string };
      assert.equal(result.stdout.trim(), pkg.version);
    },
  );
});

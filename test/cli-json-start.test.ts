// The command line as agents use it: the built CLI as a real process, its --json envelope and
// its exit codes (SPEC section 5), for every command's success and each kind of failure.
// This file: init, add, list/ready/next, claim. Helpers: helpers/cli-cases.ts.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readLog, tempRepo } from './helpers/repo.js';
import { eventsOf, fails, future, ids, lockDir, ok, outsideAnyRepo, ownerJson, placeOf, repoFor, run } from './helpers/cli-cases.js';

// --- init ------------------------------------------------------------------------------------

describe('init', () => {
  test('creates the board, the log, the .gitattributes lines and the merge drivers; a second run changes nothing', (t) => {
    const repo = tempRepo();
    t.after(() => repo.remove());
    const first = ok(repo, ['init']);
    assert.deepEqual(first, {
      workflow: null,
      board: join(repo.dir, 'ACTIVE_TASKS.md'),
      boardCreated: true,
      log: join(repo.dir, '.guild', 'audit.jsonl'),
      logCreated: true,
      gitattributes: 'added',
      mergeDrivers: [
        { name: 'guild-board', state: 'added' },
        { name: 'guild-log', state: 'added' },
      ],
      tasks: 0,
    });
    const board = repo.read();
    for (const heading of ['## Backlog', '## Blocked', '## Ready', '## In Progress', '## Review', '## Done', '## Failed']) assert.ok(board.includes(`${heading}\n`), heading);
    assert.match(repo.read('.gitattributes'), /^\.guild\/audit\.jsonl merge=guild-log$/m);
    assert.match(repo.read('.gitattributes'), /^\/ACTIVE_TASKS\.md merge=guild-board$/m);
    assert.ok(existsSync(join(repo.dir, '.git', 'guild', 'locks')));
    assert.equal(repo.read('.guild/audit.jsonl'), '');

    const again = ok(repo, ['init']);
    assert.equal(again.boardCreated, false);
    assert.equal(again.logCreated, false);
    assert.equal(again.gitattributes, 'present');
    assert.equal(repo.read(), board, 'the board is left as it was');
    assert.equal(repo.read('.gitattributes').match(/merge=guild-/g)?.length, 2, 'the lines are not added twice');
    assert.deepEqual(again.mergeDrivers.map((driver: { state: string }) => driver.state), ['present', 'present']);
  });

  test('--example seeds the demo board and logs each task\'s creation', (t) => {
    const repo = tempRepo();
    t.after(() => repo.remove());
    const result = ok(repo, ['init', '--example']);
    assert.equal(result.boardCreated, true);
    assert.equal(result.tasks, 6);
    const tasks = ok(repo, ['list']).tasks as any[];
    assert.deepEqual(
      Object.fromEntries(tasks.map((task) => [task.id, task.status])),
      { 'GLD-1': 'done', 'GLD-2': 'ready', 'GLD-3': 'ready', 'GLD-4': 'blocked', 'GLD-5': 'ready', 'GLD-6': 'backlog' },
    );
    const gld2 = tasks.find((task) => task.id === 'GLD-2');
    assert.equal(gld2.prio, 'high');
    assert.deepEqual(gld2.caps, ['frontend']);
    assert.deepEqual(tasks.find((task) => task.id === 'GLD-4').needs, ['GLD-2', 'GLD-3']);
    assert.deepEqual(
      eventsOf(repo, 'task.created').map((e) => e.task).sort(),
      ['GLD-1', 'GLD-2', 'GLD-3', 'GLD-4', 'GLD-5', 'GLD-6'],
    );
  });

  test('a bad --prefix is a usage error and writes nothing', (t) => {
    const repo = tempRepo();
    t.after(() => repo.remove());
    fails(repo, ['init', '--prefix', 'gl d'], 2);
    assert.equal(existsSync(repo.board), false);
  });
});

// --- add -------------------------------------------------------------------------------------

describe('add', () => {
  test('adds a Ready task, prints its ID and logs task.created', (t) => {
    const repo = repoFor(t);
    const result = ok(repo, ['add', 'Fix', 'the', 'login', 'bug'], { agent: 'agent-a' });
    assert.deepEqual(result, { id: 'GLD-7', status: 'ready' });
    assert.deepEqual(placeOf(repo, 'GLD-7'), { section: 'Ready', line: '- [ ] GLD-7 Fix the login bug' });
    const [created] = eventsOf(repo, 'task.created', 'GLD-7');
    assert.equal(created?.agent, 'agent-a');
    assert.equal((created?.data as any).title, 'Fix the login bug');
  });

  test('with open needs it goes to Blocked, with fields and an indented body', (t) => {
    const repo = repoFor(t);
    const result = ok(repo, ['add', 'Wire it', '--prio', 'high', '--caps', 'db,api', '--needs', 'GLD-2,GLD-3', '--body', 'first\nsecond']);
    assert.deepEqual(result, { id: 'GLD-7', status: 'blocked' });
    assert.deepEqual(placeOf(repo, 'GLD-7'), { section: 'Blocked', line: '- [ ] GLD-7 Wire it prio:high needs:GLD-2,GLD-3 caps:db,api' });
    assert.match(repo.read(), /caps:db,api\n {2}first\n {2}second\n/);
    const task = ok(repo, ['show', 'GLD-7']).task;
    assert.deepEqual([task.prio, task.needs, task.caps], ['high', ['GLD-2', 'GLD-3'], ['db', 'api']]);
  });

  test('needs that are done already: Ready; --status backlog: Backlog', (t) => {
    const repo = repoFor(t);
    assert.equal(ok(repo, ['add', 'After setup', '--needs', 'GLD-1']).status, 'ready');
    assert.equal(ok(repo, ['add', 'Someday', '--status', 'backlog']).status, 'backlog');
    assert.equal(placeOf(repo, 'GLD-8')?.section, 'Backlog');
  });

  test('failures: unknown need (4), bad need ID, bad caps, a title ending in a field, bad --status (2)', (t) => {
    const repo = repoFor(t);
    const before = repo.read();
    assert.equal(fails(repo, ['add', 'X', '--needs', 'GLD-99'], 4, 'ENOTASK').data?.task, 'GLD-99');
    fails(repo, ['add', 'X', '--needs', 'gld_2'], 2, 'EBADID');
    fails(repo, ['add', 'X', '--caps', 'a b'], 2, 'EBADCAP');
    fails(repo, ['add', 'Fix it prio:high'], 2);
    fails(repo, ['add', 'X', '--status', 'in-progress'], 2);
    fails(repo, ['add', 'X', '--prio', 'urgent'], 2);
    fails(repo, ['add'], 2);
    assert.equal(repo.read(), before, 'a refused add writes nothing');
  });
});

// --- list / ready / next ---------------------------------------------------------------------

describe('list, ready, next', () => {
  test('list returns every task with its status; --status and --agent filter', (t) => {
    const repo = repoFor(t);
    const all = ok(repo, ['list']);
    assert.deepEqual(ids(all.tasks).sort(), ['GLD-1', 'GLD-2', 'GLD-3', 'GLD-4', 'GLD-5', 'GLD-6']);
    assert.deepEqual(all.notices, []);
    for (const task of all.tasks) {
      assert.deepEqual(Object.keys(task).sort(), ['branch', 'caps', 'empty', 'id', 'line', 'needs', 'owner', 'prio', 'retry', 'status', 'title', 'tries']);
    }
    assert.deepEqual(ids(ok(repo, ['list', '--status', 'ready']).tasks), ['GLD-2', 'GLD-3', 'GLD-5']);
    ok(repo, ['claim', 'GLD-3'], { agent: 'b' });
    assert.deepEqual(ids(ok(repo, ['list', '--agent', 'b']).tasks), ['GLD-3']);
    assert.deepEqual(ok(repo, ['list', '--agent', 'nobody']).tasks, []);
    assert.equal(ok(repo, ['list'], { agent: 'b' }).tasks.length, 6, 'GUILD_AGENT does not filter list');
    fails(repo, ['list', '--status', 'bogus'], 2);
    fails(repo, ['list', '--agent', '../x'], 2, 'EBADAGENT');
  });

  test('ready lists claimable tasks by prio, then board order; next is the first', (t) => {
    const repo = repoFor(t);
    assert.deepEqual(ids(ok(repo, ['ready']).tasks), ['GLD-2', 'GLD-3', 'GLD-5']);
    assert.equal(ok(repo, ['next']).task.id, 'GLD-2');
    assert.equal(ok(repo, ['next']).task.title, 'Add the login form');
  });

  test('--caps and GUILD_CAPS filter by capability', (t) => {
    const repo = repoFor(t);
    assert.deepEqual(ids(ok(repo, ['ready', '--caps', 'db']).tasks), ['GLD-3', 'GLD-5']);
    assert.deepEqual(ids(ok(repo, ['ready', '--caps', 'db,frontend']).tasks), ['GLD-2', 'GLD-3', 'GLD-5']);
    assert.deepEqual(ids(ok(repo, ['ready', '--caps', '']).tasks), ['GLD-5'], 'no caps: only tasks that need none');
    assert.deepEqual(ids(ok(repo, ['ready'], { env: { GUILD_CAPS: 'frontend' } }).tasks), ['GLD-2', 'GLD-5']);
    assert.deepEqual(ids(ok(repo, ['ready', '--caps', 'db'], { env: { GUILD_CAPS: 'frontend' } }).tasks), ['GLD-3', 'GLD-5'], '--caps wins over GUILD_CAPS');
    assert.equal(ok(repo, ['next', '--caps', 'db']).task.id, 'GLD-3');
    const claimed = ok(repo, ['claim', '--caps', 'db'], { agent: 'a' });
    assert.equal(claimed.task.id, 'GLD-3');
    fails(repo, ['ready', '--caps', 'a b'], 2, 'EBADCAP');
  });

  test('next and claim with nothing claimable exit 5', (t) => {
    const repo = repoFor(t);
    ok(repo, ['claim', 'GLD-5'], { agent: 'x' });
    // GLD-2 needs frontend, GLD-3 db: nothing left for a gpu-only agent.
    const error = fails(repo, ['next', '--caps', 'gpu'], 5, 'ENOTHING');
    assert.deepEqual(error.data?.caps, ['gpu']);
    fails(repo, ['claim', '--caps', 'gpu'], 5, 'ENOTHING', { agent: 'a' });
    for (const agent of ['a', 'b']) ok(repo, ['claim'], { agent });
    assert.deepEqual(ok(repo, ['ready']).tasks, []);
    fails(repo, ['next'], 5, 'ENOTHING');
    fails(repo, ['claim'], 5, 'ENOTHING', { agent: 'd' });
  });

  test('tasks waiting for their retry time are skipped by ready, next and claim; a past retry is claimable', (t) => {
    const repo = repoFor(t);
    const later = future(3_600_000);
    repo.write(
      repo
        .read()
        .replace('- [ ] GLD-2 Add the login form prio:high caps:frontend', `- [ ] GLD-2 Add the login form prio:high caps:frontend tries:1 retry:${later}`)
        .replace('- [ ] GLD-3 Create the users table caps:db', '- [ ] GLD-3 Create the users table caps:db tries:1 retry:2000-01-01T00:00:00.000Z'),
    );
    assert.deepEqual(ids(ok(repo, ['ready']).tasks), ['GLD-3', 'GLD-5']);
    assert.equal(ok(repo, ['next']).task.id, 'GLD-3');
    const error = fails(repo, ['claim', 'GLD-2'], 5, 'ENOTREADY', { agent: 'a' });
    assert.equal(error.data?.retry, later);
    assert.equal(existsSync(lockDir(repo, 'GLD-2')), false, 'the refused claim left no lock');
    assert.equal(ok(repo, ['claim'], { agent: 'a' }).task.id, 'GLD-3');
    assert.equal(ok(repo, ['claim'], { agent: 'b' }).task.id, 'GLD-5');
    fails(repo, ['claim'], 5, 'ENOTHING', { agent: 'c' });
  });
});

// --- claim -----------------------------------------------------------------------------------

describe('claim', () => {
  test('claim takes the next task: In Progress with the owner, a lock, one task.claimed', (t) => {
    const repo = repoFor(t);
    const result = ok(repo, ['claim'], { agent: 'agent-a' });
    assert.equal(result.alreadyHeld, false);
    assert.equal(result.task.id, 'GLD-2');
    assert.equal(result.task.status, 'in-progress');
    assert.equal(result.task.owner, 'agent-a');
    assert.equal(result.lock.path, lockDir(repo, 'GLD-2'));
    assert.equal(result.lock.pid, null);
    assert.ok(!Number.isNaN(Date.parse(result.lock.acquired)));
    assert.deepEqual(placeOf(repo, 'GLD-2'), { section: 'In Progress', line: '- [ ] GLD-2 Add the login form prio:high caps:frontend owner:agent-a' });
    const owner = ownerJson(repo, 'GLD-2');
    assert.equal(owner.agent, 'agent-a');
    assert.equal(owner.acquired, result.lock.acquired);
    const claimed = eventsOf(repo, 'task.claimed');
    assert.equal(claimed.length, 1);
    assert.equal(claimed[0]!.task, 'GLD-2');
    assert.equal(claimed[0]!.agent, 'agent-a');
  });

  test('claim ID takes that task; claiming it again as the same agent is idempotent', (t) => {
    const repo = repoFor(t);
    const first = ok(repo, ['claim', 'GLD-3'], { agent: 'a' });
    assert.equal(first.task.id, 'GLD-3');
    assert.equal(first.alreadyHeld, false);
    const board = repo.read();
    const again = ok(repo, ['claim', 'GLD-3'], { agent: 'a' });
    assert.equal(again.alreadyHeld, true);
    assert.equal(again.task.id, 'GLD-3');
    assert.equal(again.task.owner, 'a');
    assert.equal(again.lock.acquired, first.lock.acquired, 'the same lock, not a new one');
    assert.equal(repo.read(), board);
    assert.equal(eventsOf(repo, 'task.claimed').length, 1);
  });

  test('claiming a task someone else holds exits 3 and names the holder', (t) => {
    const repo = repoFor(t);
    ok(repo, ['claim', 'GLD-3'], { agent: 'a' });
    const board = repo.read();
    const error = fails(repo, ['claim', 'GLD-3'], 3, 'EHELD', { agent: 'b' });
    assert.equal(error.data?.holder, 'a');
    assert.match(error.message, /GLD-3 is held by a/);
    assert.equal(repo.read(), board);
    assert.equal(ownerJson(repo, 'GLD-3').agent, 'a', 'the loser did not touch the lock');
  });

  test('no such task exits 4; a Done, Blocked or Backlog task exits 5; neither leaves a lock', (t) => {
    const repo = repoFor(t);
    const board = repo.read();
    assert.equal(fails(repo, ['claim', 'GLD-99'], 4, 'ENOTASK', { agent: 'a' }).data?.task, 'GLD-99');
    assert.equal(fails(repo, ['claim', 'GLD-1'], 5, 'ENOTREADY', { agent: 'a' }).data?.status, 'done');
    assert.equal(fails(repo, ['claim', 'GLD-4'], 5, 'ENOTREADY', { agent: 'a' }).data?.status, 'blocked');
    assert.equal(fails(repo, ['claim', 'GLD-6'], 5, 'ENOTREADY', { agent: 'a' }).data?.status, 'backlog');
    assert.equal(repo.read(), board);
    for (const id of ['GLD-99', 'GLD-1', 'GLD-4', 'GLD-6']) assert.equal(existsSync(lockDir(repo, id)), false, `${id}: no lock left behind`);
    assert.deepEqual(ok(repo, ['locks']).locks, []);
  });

  test(
    'a claim refused because the board cannot be read leaves no lock behind',
    (t) => {
      const repo = repoFor(t);
      const good = repo.read();
      repo.write(good.replace('- [ ] GLD-5 Add a health check endpoint', '- [ ] GLD-5 Add a health check endpoint\n- [ ] GLD-5 Duplicate'));
      fails(repo, ['claim', 'GLD-2'], 2, undefined, { agent: 'a' });
      assert.equal(existsSync(lockDir(repo, 'GLD-2')), false, 'no lock left for GLD-2');
      repo.write(good);
      assert.equal(ok(repo, ['claim', 'GLD-2'], { agent: 'b' }).task.owner, 'b');
    },
  );

  test('usage errors exit 2: no agent, bad agent names, unknown option, bad ID, bad --pid', (t) => {
    const repo = repoFor(t);
    const board = repo.read();
    fails(repo, ['claim'], 2, 'ENOAGENT');
    fails(repo, ['claim', 'GLD-2'], 2, 'ENOAGENT');
    for (const bad of ['../../x', 'a b', '..', '.', 'a/b', 'x'.repeat(65)]) {
      assert.equal(fails(repo, ['claim', '--agent', bad], 2, 'EBADAGENT').data?.value, bad);
      fails(repo, ['claim'], 2, 'EBADAGENT', { agent: bad });
    }
    fails(repo, ['claim', '--frobnicate'], 2, 'EUSAGE', { agent: 'a' });
    fails(repo, ['claim', 'GLD-2', 'GLD-3'], 2, undefined, { agent: 'a' });
    for (const bad of ['gld_2', 'GLD-02', '../x', 'GLD-2/..', 'GLD']) fails(repo, ['claim', bad], 2, 'EBADID', { agent: 'a' });
    fails(repo, ['claim', '--pid', '0'], 2, undefined, { agent: 'a' });
    fails(repo, ['claim', '--pid', 'abc'], 2, undefined, { agent: 'a' });
    assert.equal(repo.read(), board);
    assert.deepEqual(readLog(repo).filter((e) => e.type !== 'task.created'), []);
    assert.equal(existsSync(join(repo.dir, '.git', 'guild', 'locks', 'x.lock')), false);
  });

  test('--agent wins over GUILD_AGENT; GUILD_AGENT alone is enough', (t) => {
    const repo = repoFor(t);
    const flagged = ok(repo, ['claim', 'GLD-2', '--agent', 'flag-agent'], { agent: 'env-agent' });
    assert.equal(flagged.task.owner, 'flag-agent');
    assert.equal(ownerJson(repo, 'GLD-2').agent, 'flag-agent');
    const fromEnv = ok(repo, ['claim', 'GLD-3'], { agent: 'env-agent' });
    assert.equal(fromEnv.task.owner, 'env-agent');
    assert.equal(eventsOf(repo, 'task.claimed', 'GLD-3')[0]?.agent, 'env-agent');
    // A valid --agent is used even when GUILD_AGENT is not a valid name.
    assert.equal(ok(repo, ['claim', 'GLD-5', '--agent', 'good'], { agent: 'bad name' }).task.owner, 'good');
  });

  test('--cwd runs in another repository, from anywhere', (t) => {
    const repo = repoFor(t);
    const other = repoFor(t);
    const elsewhere = outsideAnyRepo(t);
    const result = ok(elsewhere, ['claim', 'GLD-5', '--cwd', repo.dir], { agent: 'a' });
    assert.equal(result.lock.path, lockDir(repo, 'GLD-5'));
    assert.equal(placeOf(repo, 'GLD-5')?.section, 'In Progress');
    // From inside `other`, --cwd still points at `repo`.
    ok(other, ['claim', 'GLD-3', '--cwd', repo.dir], { agent: 'a' });
    assert.equal(placeOf(repo, 'GLD-3')?.section, 'In Progress');
    assert.equal(placeOf(other, 'GLD-3')?.section, 'Ready', 'the repo the command started in is untouched');
    assert.equal(existsSync(lockDir(other, 'GLD-3')), false);
    // --cwd into a subfolder of the repo finds the repo above it.
    assert.equal(ok(elsewhere, ['list', '--cwd', join(repo.dir, '.guild')]).tasks.length, 6);
  });

  test('outside any git repository: exit 2 (ENOREPO) for every command', (t) => {
    const dir = outsideAnyRepo(t);
    for (const args of [['init'], ['list'], ['ready'], ['next'], ['claim'], ['locks'], ['show', 'GLD-1'], ['add', 'x'], ['complete', 'GLD-1'], ['release', 'GLD-1'], ['heartbeat', 'GLD-1']]) {
      fails(dir, args, 2, 'ENOREPO', { agent: 'a' });
    }
    fails(outsideAnyRepo(t), ['list', '--cwd', dir], 2, 'ENOREPO');
    assert.equal(existsSync(join(dir, 'ACTIVE_TASKS.md')), false);
  });

  test('a repository without a board: exit 2 (ENOBOARD) naming the file', (t) => {
    const repo = tempRepo();
    t.after(() => repo.remove());
    const error = fails(repo, ['list'], 2, 'ENOBOARD');
    assert.match(error.message, /^ACTIVE_TASKS\.md: /);
    fails(repo, ['ready'], 2, 'ENOBOARD');
  });
});

// The command line as agents use it: the built CLI as a real process, its --json envelope and
// its exit codes (SPEC section 5), for every command's success and each kind of failure.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { cli, type CliResult } from './helpers/cli.js';
import { readLog, tempRepo, type TempRepo } from './helpers/repo.js';

// --- helpers ---------------------------------------------------------------------------------

/** A temp repo removed after the test; `init --example` run in it unless a board is given. */
function repoFor(t: TestContext, board?: string): TempRepo {
  const repo = tempRepo(board);
  t.after(() => repo.remove());
  if (board === undefined) {
    const init = cli(['init', '--example', '--json'], { cwd: repo.dir });
    assert.equal(init.code, 0, init.stderr);
  } else {
    // A board of our own still needs .guild/ and the locks folder.
    const init = cli(['init', '--json'], { cwd: repo.dir });
    assert.equal(init.code, 0, init.stderr);
  }
  return repo;
}

/** Runs `guild-fs <args> --json` and checks the envelope's shape whatever the outcome. */
function run(repo: TempRepo | string, args: string[], options: { agent?: string; env?: Record<string, string> } = {}): CliResult {
  const result = cli([...args, '--json'], { cwd: typeof repo === 'string' ? repo : repo.dir, ...options });
  assert.ok(result.json, `no JSON on stdout for ${args.join(' ')}`);
  assert.ok(result.stdout.endsWith('\n'), 'the document ends with a newline');
  assert.equal(result.stdout.trim().split('\n').length, 1, `exactly one JSON document (one line) on stdout:\n${result.stdout}`);
  if (result.json.ok) {
    assert.deepEqual(Object.keys(result.json), ['ok', 'result']);
  } else {
    assert.deepEqual(Object.keys(result.json).sort(), ['error', 'ok']);
    assert.equal(typeof result.json.error?.code, 'string');
    assert.equal(typeof result.json.error?.message, 'string');
    assert.match(result.stderr, /^guild-fs: /m, 'the error is also said on stderr');
  }
  return result;
}

/** The result of a command that must succeed. */
function ok(repo: TempRepo | string, args: string[], options: { agent?: string; env?: Record<string, string> } = {}): any {
  const result = run(repo, args, options);
  assert.equal(result.code, 0, `${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  assert.equal(result.json!.ok, true);
  return result.json!.result;
}

/** The error of a command that must fail with `exit` (and, when given, error code `code`). */
function fails(repo: TempRepo | string, args: string[], exit: number, code?: string, options: { agent?: string; env?: Record<string, string> } = {}): { code: string; message: string; data?: any } {
  const result = run(repo, args, options);
  assert.equal(result.json!.ok, false, `${args.join(' ')} should fail but printed ${result.stdout}`);
  assert.equal(result.code, exit, `${args.join(' ')}: exit ${result.code}, expected ${exit}: ${result.stdout}`);
  if (code !== undefined) assert.equal(result.json!.error!.code, code, result.json!.error!.message);
  return result.json!.error!;
}

/** Where a task's line is on the board: the level-2 heading above it and the line itself. */
function placeOf(repo: TempRepo, id: string): { section: string; line: string } | null {
  let section = '';
  for (const line of repo.read().split(/\r?\n/)) {
    if (line.startsWith('## ')) section = line.slice(3).trim();
    else if (new RegExp(`^- \\[[ xX]\\] \`?${id}\`?(\\s|$)`).test(line)) return { section, line };
  }
  return null;
}

const lockDir = (repo: TempRepo, id: string): string => join(repo.dir, '.git', 'guild', 'locks', `${id}.lock`);
const ownerJson = (repo: TempRepo, id: string): Record<string, any> => JSON.parse(readFileSync(join(lockDir(repo, id), 'owner.json'), 'utf8'));
const eventsOf = (repo: TempRepo, type: string, task?: string) => readLog(repo).filter((e) => e.type === type && (task === undefined || e.task === task));
const ids = (tasks: { id: string }[]): string[] => tasks.map((task) => task.id);

function withFrontMatter(repo: TempRepo, extra: string): void {
  repo.write(repo.read().replace('max_tries: 3\n', extra));
}

function outsideAnyRepo(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'guild-fs-norepo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const future = (ms: number): string => new Date(Date.now() + ms).toISOString();

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
    fails(repo, ['add', 'X', '--needs', 'gld-2'], 2, 'EBADID');
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
      assert.deepEqual(Object.keys(task).sort(), ['branch', 'caps', 'id', 'line', 'needs', 'owner', 'prio', 'retry', 'status', 'title', 'tries']);
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
    for (const bad of ['gld-2', 'GLD-02', '../x', 'GLD-2/..', 'GLD']) fails(repo, ['claim', bad], 2, 'EBADID', { agent: 'a' });
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
    fails(repo, ['release'], 2, undefined, { agent: 'a' });
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
    assert.deepEqual(Object.keys(result).sort(), ['body', 'history', 'lock', 'task', 'warnings']);
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

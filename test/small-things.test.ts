// Issue 11's small things, each as users meet them: the built CLI in real temp repositories.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from './helpers/cli.js';
import { tempRepo, worktreePath } from './helpers/repo.js';
import { fails, future, ok, repoFor } from './helpers/cli-cases.js';
import { boardWith, committedRepo } from './helpers/git-repo.js';

describe('issue 11: small things', () => {
  test('a. the third failure with max_tries: 3 says "after 3 tries"', (t) => {
    const repo = repoFor(t);
    repo.write(repo.read().replace('retry_base: 5m', 'retry_base: 1ms'));
    for (let i = 1; i <= 2; i++) {
      ok(repo, ['claim', 'GLD-5', '--no-worktree'], { agent: 'a' });
      ok(repo, ['fail', 'GLD-5', '--reason', `try ${i}`], { agent: 'a' });
    }
    ok(repo, ['claim', 'GLD-5', '--no-worktree'], { agent: 'a' });
    const third = cli(['fail', 'GLD-5', '--reason', 'try 3'], { cwd: repo.dir, agent: 'a' });
    assert.equal(third.code, 0, third.stderr);
    assert.match(third.stdout, /failed for good after 3 tries: GLD-5/);
  });

  test('c. release inside a worktree, with no ID, releases its task', (t) => {
    const repo = committedRepo(boardWith([], ['- [ ] GLD-1 Add the login form', '- [ ] GLD-2 Create the users table']));
    t.after(() => repo.remove());
    ok(repo, ['claim', 'GLD-1'], { agent: 'a' });
    ok(repo, ['claim', 'GLD-2'], { agent: 'a' });
    const worktree = worktreePath(repo, 'GLD-2');
    assert.equal(existsSync(worktree), true);
    const released = ok(worktree, ['release'], { agent: 'a' });
    assert.equal(released.task.id, 'GLD-2');
    assert.equal(released.status, 'ready');
    // Outside any worktree, with two held, no ID is still a usage error naming both.
    ok(repo, ['claim', 'GLD-2', '--no-worktree'], { agent: 'a' });
    const error = fails(repo, ['release'], 2, 'ENOID', { agent: 'a' });
    assert.match(error.message, /GLD-1, GLD-2/);
  });

  test('b. log export into a folder that does not exist: exit 2 naming the path, one JSON error', (t) => {
    const repo = repoFor(t);
    // The test helper leaves log's NDJSON to the test: an error is still exactly one document.
    const json = cli(['log', 'export', 'missing/history.json', '--json'], { cwd: repo.dir });
    assert.equal(json.code, 2, json.stderr);
    assert.equal(json.stdout.trim().split('\n').length, 1, json.stdout);
    const document = JSON.parse(json.stdout);
    assert.equal(document.ok, false);
    assert.equal(document.error.code, 'EEXPORT');
    const error = document.error;
    assert.match(error.message, /missing\/history\.json/);
    assert.match(error.message, /does not exist/);
    const human = cli(['log', 'export', 'missing/history.json'], { cwd: repo.dir });
    assert.equal(human.code, 2);
    assert.match(human.stderr, /^guild-fs: cannot write .*missing\/history\.json/m);
    assert.doesNotMatch(human.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(existsSync(join(repo.dir, 'missing')), false);
  });

  test('d. add -- "-x title" adds a task whose title starts with a dash', (t) => {
    const repo = repoFor(t);
    const added = cli(['add', '--json', '--prio', 'high', '--', '-x title'], { cwd: repo.dir });
    assert.equal(added.code, 0, added.stderr);
    const id = added.json!.result.id;
    assert.match(repo.read(), new RegExp(`^- \\[ \\] ${id} -x title prio:high$`, 'm'));
    assert.equal(ok(repo, ['show', id]).task.title, '-x title');
    // Without a title at all it is still a usage error.
    fails(repo, ['add'], 2);
  });

  test('e. claim, add or complete in a repository without a board fail and create nothing', (t) => {
    const repo = tempRepo();
    t.after(() => repo.remove());
    for (const args of [['claim'], ['add', 'a title'], ['complete'], ['release']]) {
      const error = fails(repo, args, 2, 'ENOBOARD', { agent: 'a' });
      assert.match(error.message, /no board here/);
    }
    assert.equal(existsSync(join(repo.dir, '.git', 'guild')), false, '.git/guild/ was made');
    assert.equal(existsSync(join(repo.dir, '.guild')), false);
    assert.equal(existsSync(repo.board), false);
  });

  test('f. task IDs on the command line are taken in any case: show ms-2 is MS-2', (t) => {
    const repo = repoFor(t);
    repo.write(repo.read().replace('prefix: GLD', 'prefix: MS').replaceAll('GLD-', 'MS-'));
    repo.write(repo.read('.guild/audit.jsonl').replaceAll('GLD-', 'MS-'), '.guild/audit.jsonl');
    assert.equal(ok(repo, ['show', 'ms-2']).task.id, 'MS-2');
    const claimed = ok(repo, ['claim', 'Ms-2', '--no-worktree'], { agent: 'a' });
    assert.equal(claimed.task.id, 'MS-2');
    assert.equal(ok(repo, ['heartbeat', 'ms-2'], { agent: 'a' }).task?.id ?? 'MS-2', 'MS-2');
    assert.equal(ok(repo, ['add', 'After it', '--needs', 'ms-2']).status, 'blocked');
    assert.equal(ok(repo, ['release', 'ms-2'], { agent: 'a' }).task.id, 'MS-2');
    // Another board's prefix is still refused, whatever its case.
    assert.match(fails(repo, ['show', 'gld-2'], 2, 'EBADID').message, /MS-<n>/);
  });

  test('g. next with nothing claimable names the task that waits for its retry time (exit 5)', (t) => {
    const soon = future(60 * 60_000);
    const later = future(2 * 60 * 60_000);
    const repo = repoFor(
      t,
      boardWith([], [`- [ ] GLD-1 Style the form caps:js tries:2 retry:${later}`, `- [ ] GLD-2 Build the UI caps:js tries:1 retry:${soon}`, '- [ ] GLD-3 Migrate the db caps:db']),
    );
    const error = fails(repo, ['next', '--caps', 'js'], 5, 'ENOTHING');
    assert.match(error.message, /no claimable task for caps js/);
    assert.match(error.message, new RegExp(`GLD-2 until ${soon}, GLD-1 until ${later}`));
    assert.deepEqual(error.data?.waiting, [{ task: 'GLD-2', retry: soon }, { task: 'GLD-1', retry: later }]);
    // claim says the same; a task the caps do not allow is not named.
    const claim = fails(repo, ['claim', '--caps', 'js'], 5, 'ENOTHING', { agent: 'a' });
    assert.match(claim.message, /GLD-2 until/);
    assert.doesNotMatch(claim.message, /GLD-3/);
    // Nothing waiting: the message is as it was.
    assert.equal(fails(repo, ['next', '--caps', 'go'], 5, 'ENOTHING').message, 'no claimable task for caps go');
  });

  test('h. init says which merge drivers it set up, not "log: union"', (t) => {
    const repo = tempRepo();
    t.after(() => repo.remove());
    // A repository from an older version: its log line still says union.
    writeFileSync(join(repo.dir, '.gitattributes'), '.guild/audit.jsonl merge=union\n');
    const first = cli(['init'], { cwd: repo.dir });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /updated the merge lines in \.gitattributes: \/ACTIVE_TASKS\.md merge=guild-board, \.guild\/audit\.jsonl merge=guild-log/);
    assert.doesNotMatch(first.stdout, /union/);
    assert.doesNotMatch(readFileSync(join(repo.dir, '.gitattributes'), 'utf8'), /union/);
    const again = cli(['init'], { cwd: repo.dir });
    assert.match(again.stdout, /\.gitattributes already has .*merge=guild-log/);
  });

  test('i. init --ci runs the installed guild-fs when the repository depends on it', (t) => {
    const workflowOf = (repo: { dir: string }): string => readFileSync(join(repo.dir, '.github', 'workflows', 'guild-fs.yml'), 'utf8');
    const dependent = tempRepo();
    t.after(() => dependent.remove());
    writeFileSync(join(dependent.dir, 'package.json'), JSON.stringify({ name: 'app', devDependencies: { 'guild-fs': '^0.1.0' } }));
    writeFileSync(join(dependent.dir, 'package-lock.json'), '{}');
    assert.equal(cli(['init', '--ci'], { cwd: dependent.dir }).code, 0);
    const text = workflowOf(dependent);
    assert.match(text, /- run: npm ci\n\s+- run: npx guild-fs replay --check\n/);
    assert.doesNotMatch(text, /guild-fs@/);
    // Without the dependency (or with no package.json): the published version, pinned.
    const plain = tempRepo();
    t.after(() => plain.remove());
    writeFileSync(join(plain.dir, 'package.json'), JSON.stringify({ name: 'app', dependencies: { other: '1' } }));
    assert.equal(cli(['init', '--ci'], { cwd: plain.dir }).code, 0);
    assert.match(workflowOf(plain), /- run: npx --yes guild-fs@\d+\.\d+\.\d+ replay --check\n/);
    assert.doesNotMatch(workflowOf(plain), /npm ci|\{\{/);
  });
});

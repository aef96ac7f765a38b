// Hash IDs through the built CLI (SPEC section 7): a board with `ids: hash` gives new tasks random
// IDs (add, and sync for hand-typed items), commands take a unique prefix of one, an ambiguous
// prefix is exit 2 (EAMBIGUOUS), a board mixing both kinds replays cleanly, and two branches that
// each add tasks merge through the board's merge driver without a conflict.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { cli, examplesRemovedAfterEach, type CliResult, type ListedTask } from './helpers/cli.js';
import { GIT_ENV, git } from './helpers/git-repo.js';
import { readLog, type TempRepo } from './helpers/repo.js';

const example = examplesRemovedAfterEach();
const HASH = /^GLD-[A-Z][A-Z0-9]{3,}$/;

/** The example board (GLD-1..6, numeric) switched to `ids: hash`. */
function hashRepo(): TempRepo {
  const repo = example();
  repo.write(repo.read().replace(/^prefix: GLD$/m, 'prefix: GLD\nids: hash'));
  return repo;
}

function ok(repo: TempRepo, args: string[], agent?: string): CliResult {
  const run = cli(args, { cwd: repo.dir, agent });
  assert.equal(run.code, 0, `guild-fs ${args.join(' ')}: ${run.stderr}`);
  return run;
}

function listed(repo: TempRepo): Map<string, ListedTask & { title: string }> {
  return new Map((ok(repo, ['list', '--json']).json!.result.tasks as (ListedTask & { title: string })[]).map((task) => [task.id, task]));
}

/** Hand-types tasks with known hash IDs under Ready and lets sync record them. */
function withTasks(repo: TempRepo, lines: string[]): void {
  repo.write(repo.read().replace('## Ready\n', `## Ready\n${lines.join('\n')}\n`));
  ok(repo, ['sync']);
}

describe('a board with ids: hash', () => {
  test('add prints a hash ID; list and ready show it; the numbered tasks keep theirs', () => {
    const repo = hashRepo();
    const added = ok(repo, ['add', 'Cache the sessions', '--json']).json!.result;
    assert.match(added.id, HASH);
    const human = ok(repo, ['add', 'Rate-limit the API', '--needs', added.id.toLowerCase()]).stdout.trim();
    assert.match(human, /^GLD-[A-Z][A-Z0-9]{3,}$/, 'the ID alone on stdout');
    const second = human;
    assert.notEqual(second, added.id);
    const tasks = listed(repo);
    assert.equal(tasks.get(added.id)?.status, 'ready');
    assert.equal(tasks.get(second)?.status, 'blocked');
    assert.ok(tasks.has('GLD-2') && tasks.has('GLD-6'));
    const ready = ok(repo, ['ready', '--json']).json!.result;
    assert.ok(JSON.stringify(ready).includes(added.id), 'ready --json lists the new task');
    assert.match(repo.read(), new RegExp(`^- \\[ \\] ${second} Rate-limit the API needs:${added.id}$`, 'm'));
    const created = readLog(repo).filter((event) => event.type === 'task.created').map((event) => event.task);
    assert.ok(created.includes(added.id) && created.includes(second));
  });

  test('sync gives hand-typed items hash IDs', () => {
    const repo = hashRepo();
    repo.write(repo.read().replace('## Ready\n', '## Ready\n- [ ] Typed by hand\n- [ ] Another one prio:high\n'));
    const synced = ok(repo, ['sync', '--json']);
    assert.equal(synced.json!.ok, true);
    const text = repo.read();
    const given = [...text.matchAll(/^- \[ \] (GLD-\S+) (Typed by hand|Another one prio:high)$/gm)].map((match) => match[1]!);
    assert.equal(given.length, 2, text);
    for (const id of given) assert.match(id, HASH);
    assert.notEqual(given[0], given[1]);
  });

  test('claim, show, heartbeat, release, complete and log by a unique prefix, in any case', () => {
    const repo = hashRepo();
    withTasks(repo, ['- [ ] GLD-K3F9 Ours', '- [ ] GLD-K3AB Theirs', '- [ ] GLD-QQQQ Other']);
    const claimed = ok(repo, ['claim', 'gld-k3f', '--no-worktree', '--json'], 'agent-a').json!.result;
    assert.equal(claimed.task?.id ?? claimed.id, 'GLD-K3F9');
    assert.equal(ok(repo, ['show', 'GLD-K3F', '--json']).json!.result.task.id, 'GLD-K3F9');
    assert.equal(ok(repo, ['show', 'GLD-K3F9', '--json']).json!.result.task.status, 'in-progress');
    ok(repo, ['heartbeat', 'GLD-K3F'], 'agent-a');
    ok(repo, ['release', 'gld-k3f'], 'agent-a');
    ok(repo, ['claim', 'GLD-Q', '--no-worktree'], 'agent-a');
    ok(repo, ['complete', 'GLD-Q'], 'agent-a');
    assert.equal(listed(repo).get('GLD-QQQQ')?.status, 'done');
    const log = ok(repo, ['log', '--task', 'gld-q']).stdout;
    assert.match(log, /task\.completed/);
    assert.doesNotMatch(log, /GLD-K3F9/);
  });

  test('an ambiguous prefix exits 2 with EAMBIGUOUS and the candidates; a whole ID of nothing exits 4', () => {
    const repo = hashRepo();
    withTasks(repo, ['- [ ] GLD-K3F9 Ours', '- [ ] GLD-K3AB Theirs']);
    const before = repo.read();
    const ambiguous = cli(['claim', 'GLD-K3', '--no-worktree', '--json'], { cwd: repo.dir, agent: 'agent-a' });
    assert.equal(ambiguous.code, 2);
    assert.equal(ambiguous.json!.error!.code, 'EAMBIGUOUS');
    assert.deepEqual(ambiguous.json!.error!.data.candidates, ['GLD-K3AB', 'GLD-K3F9']);
    const human = cli(['show', 'gld-k'], { cwd: repo.dir });
    assert.equal(human.code, 2);
    assert.match(human.stderr, /ambiguous task ID GLD-K: .*GLD-K3AB, GLD-K3F9/);
    assert.equal(cli(['show', 'GLD-X'], { cwd: repo.dir }).code, 2, 'a prefix of nothing is no ID, as before');
    assert.equal(cli(['show', 'GLD-XXXX'], { cwd: repo.dir }).code, 4);
    assert.equal(cli(['add', 'Waits', '--needs', 'GLD-K3'], { cwd: repo.dir }).code, 2);
    assert.equal(cli(['show', 'GLD-1K'], { cwd: repo.dir }).code, 2, 'digits then letters is no ID');
    assert.equal(repo.read(), before, 'nothing written');
  });

  test('numeric IDs are taken as typed on a hash board, and a claim by number makes a worktree', () => {
    const repo = hashRepo();
    withTasks(repo, ['- [ ] GLD-K3F9 A hash task']);
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-qm', 'board');
    ok(repo, ['claim', 'gld-5', '--no-worktree'], 'agent-a');
    assert.equal(listed(repo).get('GLD-5')?.status, 'in-progress');
    const claimed = ok(repo, ['claim', 'GLD-K3', '--json'], 'agent-b').json!.result;
    assert.match(JSON.stringify(claimed), /guild\/GLD-K3F9-a-hash-task/);
    assert.match(git(repo.dir, 'branch', '--list', 'guild/*'), /guild\/GLD-K3F9-a-hash-task/);
  });

  test('replay --check passes on a board mixing numeric and hash IDs, and on ids: number again', () => {
    const repo = hashRepo();
    const a = ok(repo, ['add', 'Hash one']).stdout.trim();
    ok(repo, ['claim', a, '--no-worktree'], 'agent-a');
    ok(repo, ['complete', a], 'agent-a');
    ok(repo, ['claim', 'GLD-5', '--no-worktree'], 'agent-a');
    assert.equal(cli(['replay', '--check'], { cwd: repo.dir }).code, 0);
    // Back to numbers: the next is above the highest number, hash IDs aside.
    repo.write(repo.read().replace('ids: hash\n', ''));
    assert.equal(ok(repo, ['add', 'Numbered again']).stdout.trim(), 'GLD-7');
    const check = cli(['replay', '--check'], { cwd: repo.dir });
    assert.equal(check.code, 0, check.stdout + check.stderr);
  });
});

describe('two branches that each add hash-ID tasks', () => {
  test('merge through the board driver without a conflict, every task kept', () => {
    const repo = hashRepo();
    git(repo.dir, 'add', '-A');
    git(repo.dir, 'commit', '-qm', 'init with ids: hash');
    const added: string[] = [];
    for (const branch of ['a', 'b']) {
      git(repo.dir, 'checkout', '-q', '-b', branch, 'main');
      for (const title of [`${branch}: first`, `${branch}: second`]) added.push(ok(repo, ['add', title], `agent-${branch}`).stdout.trim());
      git(repo.dir, 'commit', '-qam', branch);
      git(repo.dir, 'checkout', '-q', 'main');
      rmSync(join(repo.dir, '.git', 'guild', 'locks'), { recursive: true, force: true });
    }
    for (const branch of ['a', 'b']) {
      const merged = spawnSync('git', ['merge', '--no-edit', branch], { cwd: repo.dir, env: GIT_ENV, encoding: 'utf8' });
      assert.equal(merged.status, 0, `${merged.stdout}${merged.stderr}`);
    }
    assert.doesNotMatch(repo.read(), /<<<<<<<|>>>>>>>/);
    const tasks = listed(repo);
    for (const id of added) assert.match(id, HASH);
    assert.equal(new Set(added).size, 4);
    for (const id of added) assert.equal(tasks.get(id)?.status, 'ready', id);
    const check = cli(['replay', '--check'], { cwd: repo.dir });
    assert.equal(check.code, 0, check.stdout + check.stderr);
  });
});

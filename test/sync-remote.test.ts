// sync --remote and watch --sync-every (SPEC section 7): the board and the log travel as commits
// between real clones of a bare repository served by a real `git daemon` (and over file://), the
// built CLI run as real processes. No timed assertions: waits poll with generous deadlines.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { cli, cliAsync, type CliResult } from './helpers/cli.js';
import { killAllDaemons, startDaemon, waitFor } from './helpers/daemon.js';
import { boardWith } from './helpers/git-repo.js';
import { startGitServer, type GitServer } from './helpers/git-server.js';
import { Clones, IDENTITY, git, must } from './helpers/clones.js';
import { tempRepo, type TempRepo } from './helpers/repo.js';

let server: GitServer;
let made: Clones;
before(async () => {
  server = await startGitServer();
  made = new Clones(server);
});
after(async () => {
  killAllDaemons();
  await server.close();
});
afterEach(() => made.removeAll());

const clone = (url: string): TempRepo => made.clone(url);
const seeded = (transport: 'git' | 'file', tasks = 4): string => made.seeded(transport, { tasks });

const run = (repo: TempRepo, args: string[], agent?: string): CliResult => cli(args, { cwd: repo.dir, env: IDENTITY, ...(agent ? { agent } : {}) });
const syncJson = (repo: TempRepo): CliResult => must(run(repo, ['sync', '--remote', '--json']), `sync --remote in ${repo.dir}`);

function claimAndComplete(repo: TempRepo, id: string, agent: string): void {
  must(run(repo, ['claim', id, '--no-worktree'], agent), `claim ${id}`);
  must(run(repo, ['complete', id], agent), `complete ${id}`);
}

function assertConverged(clones: TempRepo[]): void {
  const boards = clones.map((repo) => repo.read());
  for (const board of boards.slice(1)) assert.equal(board, boards[0]);
  const heads = new Set(clones.map((repo) => git(repo.dir, 'rev-parse', 'HEAD')));
  assert.equal(heads.size, 1, 'every clone at the same commit');
  for (const repo of clones) {
    const check = run(repo, ['replay', '--check']);
    assert.equal(check.code, 0, `replay --check in ${repo.dir}:\n${check.stdout}${check.stderr}`);
    assert.equal(git(repo.dir, 'status', '--porcelain', '--', 'ACTIVE_TASKS.md', '.guild'), '', 'nothing left uncommitted');
  }
}

for (const transport of ['git', 'file'] as const) {
  test(`two clones claim and complete different tasks and add one each; two rounds of sync --remote leave equal boards (${transport}://)`, () => {
    const url = seeded(transport);
    const a = clone(url);
    const b = clone(url);
    claimAndComplete(a, 'GLD-1', 'alice');
    must(run(a, ['add', 'added in a']), 'add in a');
    must(run(b, ['claim', 'GLD-2', '--no-worktree'], 'bob'), 'claim GLD-2');

    const first = syncJson(a).json!.result;
    assert.equal(first.remote, 'origin');
    assert.equal(first.branch, 'main');
    assert.match(first.committed, /^[0-9a-f]{40}$/);
    assert.equal(first.merged, false);
    assert.equal(first.pushed, true);
    assert.equal(first.attempts, 1);
    assert.deepEqual(first.orphaned, [], 'reconciled with the remote claims: nothing orphaned');
    assert.equal(git(a.dir, 'log', '-1', '--format=%s'), 'guild: sync');

    const second = syncJson(b).json!.result;
    assert.equal(second.merged, true, 'b merged what a pushed');
    assert.equal(second.pushed, true);
    must(run(b, ['complete', 'GLD-2'], 'bob'), 'complete GLD-2');
    // Added after b's first sync, so its ID does not collide with a's (numeric IDs; see `ids: hash`).
    must(run(b, ['add', 'added in b']), 'add in b');

    syncJson(a);
    syncJson(b);
    const last = syncJson(a).json!.result;
    assert.equal(last.merged, true);
    assert.equal(last.pushed, false, 'a had nothing of its own left');
    assert.equal(syncJson(b).json!.result.committed, null);

    assertConverged([a, b]);
    const board = a.read();
    assert.match(board, /## Done[\s\S]*GLD-1 task 1/);
    assert.match(board, /## Done[\s\S]*GLD-2 task 2/);
    assert.match(board, /GLD-5 added in a/);
    assert.match(board, /GLD-6 added in b/);
    // The server holds the same commit.
    assert.equal(git(a.dir, 'ls-remote', 'origin', 'refs/heads/main').split('\t')[0], git(a.dir, 'rev-parse', 'HEAD'));
  });
}

test('four clones syncing at once all converge; pushes turned down as non-fast-forward are retried', async () => {
  const url = seeded('git');
  const bare = server.pathOf(url);
  // A barrier in pre-receive: the first pushes wait for each other (5 s at most: pushes that do not
  // all arrive together must not cost the suite minutes), so they are based on the same remote
  // commit and all but one must be turned down and retried.
  const arrived = mkdtempSync(join(tmpdir(), 'guild-barrier-'));
  made.track(arrived);
  const hook = join(bare, 'hooks', 'pre-receive');
  mkdirSync(join(bare, 'hooks'), { recursive: true });
  writeFileSync(
    hook,
    `#!/bin/sh\ncat >/dev/null\nn=$(ls '${arrived}' | wc -l)\nif [ "$n" -lt 4 ]; then\n  touch '${arrived}'/$$\n  i=0\n  while [ "$(ls '${arrived}' | wc -l)" -lt 4 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done\nfi\nexit 0\n`,
  );
  chmodSync(hook, 0o755);
  const clones = [clone(url), clone(url), clone(url), clone(url)];
  clones.forEach((repo, i) => claimAndComplete(repo, `GLD-${i + 1}`, `agent${i + 1}`));

  const results = await Promise.all(clones.map((repo) => cliAsync(['sync', '--remote', '--json'], { cwd: repo.dir, env: IDENTITY })));
  for (const result of results) assert.equal(result.code, 0, result.stderr + result.stdout);
  const attempts = results.map((result) => result.json!.result.attempts as number);
  assert.ok(attempts.some((n) => n > 1), `some push retried: ${attempts.join(', ')}`);
  assert.ok(results.every((result) => result.json!.result.pushed));

  // One more round brings every clone what the others pushed after it.
  for (const repo of clones) syncJson(repo);
  assertConverged(clones);
  const board = clones[0]!.read();
  for (let i = 1; i <= 4; i++) assert.match(board, new RegExp(`## Done[\\s\\S]*GLD-${i} task ${i}`));
});

test('an unreachable remote is exit 7 and changes nothing here', async () => {
  const url = seeded('git');
  const a = clone(url);
  must(run(a, ['claim', 'GLD-1', '--no-worktree'], 'alice'), 'claim');
  const head = git(a.dir, 'rev-parse', 'HEAD');
  const board = a.read();
  const log = a.read('.guild/audit.jsonl');
  const status = git(a.dir, 'status', '--porcelain');
  await server.stop();
  try {
    const result = run(a, ['sync', '--remote', '--json']);
    assert.equal(result.code, 7, result.stderr);
    assert.equal(result.json!.error!.code, 'EREMOTE');
    assert.match(result.json!.error!.message, /cannot reach the remote origin/);
  } finally {
    await server.start();
  }
  assert.equal(git(a.dir, 'rev-parse', 'HEAD'), head);
  assert.equal(a.read(), board);
  assert.equal(a.read('.guild/audit.jsonl'), log);
  assert.equal(git(a.dir, 'status', '--porcelain'), status);
  // Back up: the same sync goes through.
  assert.equal(syncJson(a).json!.result.pushed, true);
});

test('a file both clones changed is a clear error: the merge is aborted and nothing is lost', () => {
  const url = seeded('git');
  const a = clone(url);
  const b = clone(url);
  a.write('from a\n', 'NOTES.md');
  git(a.dir, 'add', 'NOTES.md');
  git(a.dir, 'commit', '-q', '-m', 'notes in a');
  claimAndComplete(a, 'GLD-1', 'alice');
  syncJson(a);

  b.write('from b\n', 'NOTES.md');
  git(b.dir, 'add', 'NOTES.md');
  git(b.dir, 'commit', '-q', '-m', 'notes in b');
  must(run(b, ['claim', 'GLD-2', '--no-worktree'], 'bob'), 'claim GLD-2');
  const result = run(b, ['sync', '--remote', '--json']);
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.json!.error!.code, 'ECONFLICT');
  assert.deepEqual(result.json!.error!.data.files, ['NOTES.md']);
  assert.match(result.json!.error!.message, /NOTES\.md.*merge was aborted/);
  assert.equal(existsSync(join(b.dir, '.git', 'MERGE_HEAD')), false);
  assert.equal(git(b.dir, 'status', '--porcelain'), '', 'worktree clean: the board change was committed, nothing half-merged');
  assert.equal(b.read('NOTES.md'), 'from b\n');
  assert.match(b.read(), /## In Progress[\s\S]*GLD-2 task 2 owner:bob/);
  assert.equal(git(b.dir, 'log', '-1', '--format=%s'), 'guild: sync');
  assert.equal(git(b.dir, 'log', '-1', '--format=%s', 'HEAD~1'), 'notes in b');
});

test('the same ID added in two clones is a conflict the board driver reports; the merge is aborted', () => {
  const url = seeded('git');
  const a = clone(url);
  const b = clone(url);
  must(run(a, ['add', 'one in a']), 'add');
  must(run(b, ['add', 'one in b']), 'add');
  syncJson(a);
  const result = run(b, ['sync', '--remote', '--json']);
  assert.equal(result.code, 1, result.stderr);
  assert.deepEqual(result.json!.error!.data.files, ['ACTIVE_TASKS.md']);
  assert.match(result.json!.error!.message, /GLD-5 was added on both branches/);
  assert.equal(git(b.dir, 'status', '--porcelain'), '');
  assert.match(b.read(), /GLD-5 one in b/);
});

test('a board without remote: is exit 2 ENOREMOTE, for sync --remote and for watch --sync-every', () => {
  const repo = tempRepo();
  made.track(repo.dir);
  must(cli(['init'], { cwd: repo.dir }), 'init');
  for (const args of [['sync', '--remote', '--json'], ['watch', '--sync-every', '1s', '--json']]) {
    const result = cli(args, { cwd: repo.dir });
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.equal(result.json!.error!.code, 'ENOREMOTE');
    assert.match(result.json!.error!.message, /init --remote origin|remote: origin/);
  }
});

test('a board naming a remote the clone lacks is exit 2', () => {
  const url = seeded('git');
  const a = clone(url);
  git(a.dir, 'remote', 'rename', 'origin', 'upstream');
  const result = run(a, ['sync', '--remote', '--json']);
  assert.equal(result.code, 2, result.stderr);
  assert.equal(result.json!.error!.code, 'ENOREMOTE');
});

test('while git is in the middle of a merge in the main worktree, sync --remote refuses and touches nothing', () => {
  const url = seeded('git');
  const a = clone(url);
  must(run(a, ['add', 'pending']), 'add');
  const head = git(a.dir, 'rev-parse', 'HEAD');
  writeFileSync(join(a.dir, '.git', 'MERGE_HEAD'), `${head}\n`);
  const result = run(a, ['sync', '--remote', '--json']);
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.json!.error!.code, 'EBUSY');
  assert.match(result.json!.error!.message, /MERGE_HEAD/);
  rmSync(join(a.dir, '.git', 'MERGE_HEAD'));
  assert.equal(git(a.dir, 'rev-parse', 'HEAD'), head);
  assert.notEqual(git(a.dir, 'status', '--porcelain'), '', 'the pending board change is still uncommitted');
});

describe('watch --sync-every', () => {
  test('the daemon pushes a change made in its clone and pulls one pushed from another', async () => {
    const url = seeded('git');
    const a = clone(url);
    const b = clone(url);
    const daemon = await startDaemon(a, ['--sync-every', '1s']);
    try {
      must(run(a, ['add', 'added while a watches']), 'add in a');
      await waitFor('the daemon to push a\'s task', () => git(b.dir, 'ls-remote', 'origin', 'refs/heads/main') !== '' && (git(b.dir, 'fetch', '-q', 'origin'), git(b.dir, 'show', 'origin/main:ACTIVE_TASKS.md').includes('GLD-5 added while a watches')), 60_000, () => daemon.stderr());
      syncJson(b);
      claimAndComplete(b, 'GLD-2', 'bob');
      syncJson(b);
      await waitFor('the daemon to pull b\'s completion', () => /## Done[\s\S]*GLD-2 task 2/.test(a.read()), 60_000, () => daemon.stderr());
      const report = JSON.parse(readFileSync(join(a.dir, '.git', 'guild', 'daemon.json'), 'utf8'));
      assert.ok(report.remoteSync.syncs >= 1);
    } finally {
      assert.equal((await daemon.kill('SIGINT')).code, 0, daemon.stderr());
    }
    assert.equal(run(a, ['replay', '--check']).code, 0);
  });

  test('an unreachable remote is recorded in the daemon\'s status and never stops it', async () => {
    const url = seeded('git');
    const a = clone(url);
    const daemon = await startDaemon(a, ['--sync-every', '1s']);
    try {
      await server.stop();
      try {
        must(run(a, ['add', 'added while the server is down']), 'add');
        const report = await waitFor(
          'the daemon to record the unreachable remote',
          () => {
            const value = JSON.parse(readFileSync(join(a.dir, '.git', 'guild', 'daemon.json'), 'utf8'));
            return value.remoteSync?.lastError?.code === 'EREMOTE' ? value : undefined;
          },
          60_000,
          () => daemon.stderr(),
        );
        assert.equal(report.state, 'running');
      } finally {
        await server.start();
      }
      await waitFor('the next tick to push once the server is back', () => git(a.dir, 'ls-remote', 'origin', 'refs/heads/main').split('\t')[0] === git(a.dir, 'rev-parse', 'HEAD') && git(a.dir, 'show', 'HEAD:ACTIVE_TASKS.md').includes('added while the server is down'), 60_000, () => daemon.stderr());
    } finally {
      assert.equal((await daemon.kill('SIGINT')).code, 0, daemon.stderr());
    }
  });
});

test('two clones adding tasks offline with ids: hash, then sync --remote in both: distinct IDs, equal boards, replay --check passes in both', () => {
  const url = made.seeded('git', { front: ['ids: hash'] });
  const a = clone(url);
  const b = clone(url);
  const added = { a: [] as string[], b: [] as string[] };
  for (let i = 0; i < 5; i++) {
    added.a.push(must(run(a, ['add', `a's task ${i}`, '--json']), 'add in a').json!.result.id);
    added.b.push(must(run(b, ['add', `b's task ${i}`, '--json']), 'add in b').json!.result.id);
  }
  // A hand-typed item each, given its ID by sync.
  a.write(a.read().replace('## In Progress', '- [ ] typed in a\n\n## In Progress'));
  b.write(b.read().replace('## In Progress', '- [ ] typed in b\n\n## In Progress'));
  syncJson(a);
  syncJson(b);
  syncJson(a);
  assertConverged([a, b]);
  const ids = must(run(a, ['list', '--json']), 'list').json!.result.tasks.map((task: { id: string }) => task.id);
  assert.equal(ids.length, 4 + 12);
  assert.equal(new Set(ids).size, ids.length, `distinct IDs: ${ids.join(' ')}`);
  for (const id of [...added.a, ...added.b]) assert.match(id, /^GLD-[A-Z][0-9A-Z]{3,}$/);
});

test('a task In Progress whose claim is gone everywhere is reported by sync --remote, not moved', () => {
  const url = seeded('git');
  const a = clone(url);
  const b = clone(url);
  must(run(a, ['claim', 'GLD-1', '--no-worktree', '--offline'], 'alice'), 'claim --offline');
  assert.deepEqual(syncJson(a).json!.result.orphaned, [], 'a holds its lock: not orphaned there');
  const seen = syncJson(b).json!.result;
  assert.deepEqual(seen.orphaned.map((task: { id: string }) => task.id), ['GLD-1']);
  const task = must(run(b, ['list', '--json']), 'list').json!.result.tasks.find((t: { id: string }) => t.id === 'GLD-1');
  assert.equal(task.status, 'in-progress');
  assert.equal(task.owner, 'alice');
});

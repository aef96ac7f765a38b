// The daemon as people meet it: a real `guild-fs watch` process on a temp repo, real chokidar
// events from files written the way editors write them, disk state polled with generous
// timeouts. Every scenario ends with `replay --check` passing: whatever the daemon did, the log
// explains the board. The scenarios run concurrently (separate repos) to keep the wall time down.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cli, type ListedTask } from './helpers/cli.js';
import { killAllDaemons, startDaemon, spawnDaemon, waitFor } from './helpers/daemon.js';
import { readLog, tempRepo, type TempRepo } from './helpers/repo.js';

after(killAllDaemons);

const BOARD = `---
guild: 1
prefix: GLD
---
# Active Tasks

Notes typed by a person stay as they are.

## Blocked
- [ ] GLD-3 Wire it up needs:GLD-1,GLD-2

## Ready
- [ ] GLD-1 Build the form
- [ ] GLD-2 Build the table

## In Progress

## Done
`;

const repos: TempRepo[] = [];
after(() => {
  for (const repo of repos) repo.remove();
});

/** A repo whose board and log agree (init + the board above, recorded by sync). */
function guildRepo(board = BOARD): TempRepo {
  const repo = tempRepo();
  repos.push(repo);
  assert.equal(cli(['init'], { cwd: repo.dir }).code, 0);
  repo.write(board);
  assert.equal(cli(['sync'], { cwd: repo.dir }).code, 0);
  return repo;
}

function statusOf(repo: TempRepo, id: string): ListedTask | undefined {
  const listed = cli(['list', '--json'], { cwd: repo.dir });
  return (listed.json?.result?.tasks as ListedTask[] | undefined)?.find((task) => task.id === id);
}

function assertReplayChecks(repo: TempRepo): void {
  const check = cli(['replay', '--check'], { cwd: repo.dir });
  assert.equal(check.code, 0, `replay --check: ${check.stdout}${check.stderr}`);
}

/** What an editor does on save: write a temp file beside, rename it over. */
function saveByRename(repo: TempRepo, text: string): void {
  const temp = join(repo.dir, '.ACTIVE_TASKS.md.swp');
  writeFileSync(temp, text);
  renameSync(temp, repo.board);
}

describe('guild-fs watch', { concurrency: true }, () => {
  test('a box ticked by hand (rename over, then in place) moves to Done; the task that needed both moves to Ready', async () => {
    const repo = guildRepo();
    const daemon = await startDaemon(repo);
    saveByRename(repo, repo.read().replace('- [ ] GLD-1', '- [x] GLD-1'));
    await waitFor('GLD-1 in Done', () => statusOf(repo, 'GLD-1')?.status === 'done', 15_000, daemon.stderr);
    assert.equal(statusOf(repo, 'GLD-3')?.status, 'blocked', 'GLD-3 still needs GLD-2');
    writeFileSync(repo.board, repo.read().replace('- [ ] GLD-2', '- [x] GLD-2'));
    await waitFor('GLD-3 in Ready', () => statusOf(repo, 'GLD-3')?.status === 'ready', 15_000, daemon.stderr);
    assert.equal(statusOf(repo, 'GLD-2')?.status, 'done');
    assert.match(repo.read(), /Notes typed by a person stay as they are\./);
    const types = readLog(repo).map((event) => `${event.type} ${event.task ?? ''}`);
    assert.ok(types.includes('task.completed GLD-1') && types.includes('task.completed GLD-2') && types.includes('task.unblocked GLD-3'), types.join('\n'));
    assertReplayChecks(repo);
    await daemon.kill('SIGTERM');
  });

  test('after a burst of renames over the board, the watcher still hears the next save; the daemon does not answer its own writes', async () => {
    const repo = guildRepo();
    const daemon = await startDaemon(repo);
    // Free text only: the daemon reads each, writes nothing. Renames this quick once left a
    // file watch on a replaced inode, deaf to every later save.
    for (let i = 0; i < 40; i++) {
      saveByRename(repo, repo.read().replace(/Notes typed by a person stay as they are\.( \d+)?/, `Notes typed by a person stay as they are. ${i}`));
      if (i % 4 === 0) await new Promise((resolve) => setTimeout(resolve, 3));
    }
    saveByRename(repo, repo.read().replace('- [ ] GLD-1', '- [x] GLD-1'));
    await waitFor('GLD-1 in Done', () => statusOf(repo, 'GLD-1')?.status === 'done', 15_000, daemon.stderr);
    assert.match(repo.read(), /stay as they are\. 39\n/);
    // Then quiet: a daemon answering its own writes would never stop appending or writing.
    let before = { log: readLog(repo).length, board: repo.read() };
    await waitFor(
      'the log and board to stay unchanged for 1.5 s',
      () => {
        const now = { log: readLog(repo).length, board: repo.read() };
        const same = now.log === before.log && now.board === before.board;
        before = now;
        return same || undefined;
      },
      15_000,
      daemon.stderr,
      1_500,
    );
    assertReplayChecks(repo);
    await daemon.kill('SIGTERM');
  });

  test('reopening a need by hand moves the dependent back to Blocked (task.blocked)', async () => {
    const repo = guildRepo(BOARD.replace('- [ ] GLD-1', '- [x] GLD-1').replace('- [ ] GLD-2', '- [x] GLD-2'));
    const daemon = await startDaemon(repo);
    await waitFor('GLD-3 in Ready', () => statusOf(repo, 'GLD-3')?.status === 'ready', 15_000, daemon.stderr);
    // Move GLD-2 back from Done to Ready, unticked, as a person would.
    const text = repo.read();
    const line = text.split('\n').find((l) => l.includes('GLD-2 Build the table'))!;
    saveByRename(repo, text.replace(`${line}\n`, '').replace('## Ready\n', `## Ready\n- [ ] GLD-2 Build the table\n`));
    await waitFor('GLD-3 back in Blocked', () => statusOf(repo, 'GLD-3')?.status === 'blocked', 15_000, daemon.stderr);
    assert.ok(readLog(repo).some((event) => event.type === 'task.blocked' && event.task === 'GLD-3'));
    assertReplayChecks(repo);
    await daemon.kill('SIGTERM');
  });

  test('a task typed without an ID gets the next one', async () => {
    const repo = guildRepo();
    const daemon = await startDaemon(repo);
    saveByRename(repo, repo.read().replace('- [ ] GLD-2 Build the table\n', '- [ ] GLD-2 Build the table\n- [ ] Write the docs prio:high\n'));
    await waitFor('the typed task to get GLD-4', () => repo.read().includes('- [ ] GLD-4 Write the docs prio:high'), 15_000, daemon.stderr);
    assert.ok(readLog(repo).some((event) => event.type === 'task.created' && event.task === 'GLD-4'));
    assertReplayChecks(repo);
    await daemon.kill('SIGTERM');
  });

  test('a board broken by hand is reported with file:line and never overwritten; the fixed save is picked up', async () => {
    const repo = guildRepo();
    const daemon = await startDaemon(repo);
    // A duplicate ID, and a ticked box that a write would otherwise move.
    const broken = repo.read().replace('- [ ] GLD-1 Build the form', '- [x] GLD-1 Build the form\n- [ ] GLD-2 Half typed dupl');
    saveByRename(repo, broken);
    await waitFor('the daemon to report the broken line', () => /ACTIVE_TASKS\.md:\d+: .*GLD-2/.test(daemon.stderr()) || undefined, 15_000, daemon.stderr);
    // Let a heal tick go by too: it reads the board and must not write it either.
    const reports = daemon.stderr().length;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(repo.read(), broken, 'the broken board was written over');
    assert.equal(daemon.stderr().length, reports, `the same complaint was repeated:\n${daemon.stderr()}`);
    const doctor = cli(['doctor'], { cwd: repo.dir });
    assert.equal(doctor.code, 6);
    assert.match(doctor.stdout, /ACTIVE_TASKS\.md:\d+:/);
    assert.match(doctor.stdout, /warning: the daemon's last error, at .*ACTIVE_TASKS\.md:\d+:/);
    writeFileSync(repo.board, broken.replace('- [ ] GLD-2 Half typed dupl\n', ''));
    await waitFor('GLD-1 in Done after the fix', () => statusOf(repo, 'GLD-1')?.status === 'done', 15_000, daemon.stderr);
    const healthy = await waitFor('doctor to pass again', () => {
      const run = cli(['doctor'], { cwd: repo.dir });
      return run.code === 0 ? run : undefined;
    });
    assert.doesNotMatch(healthy.stdout, /last error/);
    assertReplayChecks(repo);
    assert.equal((await daemon.kill('SIGTERM')).code, 0);
  });

  test('the lock of a `claim --pid` whose process is killed is healed within the heal interval', async () => {
    const repo = guildRepo();
    const daemon = await startDaemon(repo, ['--heal-every', '500ms']);
    const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
    try {
      const claimed = cli(['claim', 'GLD-1', '--pid', String(sleeper.pid), '--no-worktree'], { cwd: repo.dir, agent: 'agent-a' });
      assert.equal(claimed.code, 0, claimed.stderr);
      assert.ok(existsSync(join(repo.dir, '.git', 'guild', 'locks', 'GLD-1.lock')));
    } finally {
      sleeper.kill('SIGKILL');
    }
    await waitFor('the lock to be healed', () => !existsSync(join(repo.dir, '.git', 'guild', 'locks', 'GLD-1.lock')) && statusOf(repo, 'GLD-1')?.status === 'ready', 15_000, daemon.stderr);
    assert.equal(statusOf(repo, 'GLD-1')?.tries, 1);
    assert.ok(readLog(repo).some((event) => event.type === 'lock.healed' && event.task === 'GLD-1'));
    assertReplayChecks(repo);
    await daemon.kill('SIGTERM');
  });

  test('a task whose retry time comes is recorded as retried and its retry: field cleared', async () => {
    const repo = guildRepo();
    const retry = new Date(Date.now() + 1_500).toISOString();
    // As fail leaves it: tries:1 and a retry time, recorded in the log by sync.
    repo.write(repo.read().replace('- [ ] GLD-1 Build the form', `- [ ] GLD-1 Build the form tries:1 retry:${retry}`));
    assert.equal(cli(['sync'], { cwd: repo.dir }).code, 0);
    const daemon = await startDaemon(repo);
    await waitFor('the retry to be recorded', () => readLog(repo).some((event) => event.type === 'task.retried' && event.task === 'GLD-1') || undefined, 15_000, daemon.stderr);
    await waitFor('the retry field to go', () => !repo.read().includes('retry:'), 15_000, daemon.stderr);
    const task = statusOf(repo, 'GLD-1')!;
    assert.equal(task.retry, null);
    assert.equal(task.tries, 1);
    assert.equal(cli(['next', '--json'], { cwd: repo.dir }).json!.result.task.id, 'GLD-1');
    assertReplayChecks(repo);
    await daemon.kill('SIGTERM');
  });

  test('one daemon per clone: a second watch exits 3 naming the first; SIGTERM logs daemon.stopped and removes the lock', async () => {
    const repo = guildRepo();
    const first = await startDaemon(repo, ['--json']);
    const second = spawnDaemon(repo, ['--json']);
    const exit = await second.exited;
    assert.equal(exit.code, 3, second.stderr());
    assert.match(second.stderr(), new RegExp(`pid ${first.pid} on [^,]+, since \\d{4}-`));
    const envelope = JSON.parse(second.stdout()) as { ok: boolean; error: { code: string; data: { pid: number } } };
    assert.equal(envelope.ok, false);
    assert.equal(envelope.error.code, 'EHELD');
    assert.equal(envelope.error.data.pid, first.pid);
    const stopped = await first.kill('SIGTERM');
    assert.equal(stopped.code, 0, first.stderr());
    // --json: one document, the final report, once the daemon has stopped.
    const report = JSON.parse(first.stdout()) as { ok: boolean; result: { pid: number; state: string } };
    assert.deepEqual([report.ok, report.result.pid, report.result.state], [true, first.pid, 'stopped']);
    assert.equal(existsSync(join(repo.dir, '.git', 'guild', 'daemon.lock')), false);
    const types = readLog(repo).map((event) => event.type);
    assert.ok(types.includes('daemon.started') && types.at(-1) === 'daemon.stopped', types.join(', '));
    assertReplayChecks(repo);
  });

  test('a daemon killed with SIGKILL leaves a lock the next watch heals; heal breaks it too', async () => {
    const repo = guildRepo();
    const killed = await startDaemon(repo);
    await killed.kill('SIGKILL');
    assert.ok(existsSync(join(repo.dir, '.git', 'guild', 'daemon.lock')));
    const status = cli(['status', '--json'], { cwd: repo.dir }).json!.result;
    assert.equal(status.daemon.running, false);
    assert.match(status.daemon.stale, new RegExp(`pid ${killed.pid}`));
    const next = await startDaemon(repo);
    assert.match(next.stderr(), /broke the lock of a daemon that is gone/);
    await next.kill('SIGTERM');

    const again = await startDaemon(repo);
    await again.kill('SIGKILL');
    const healed = cli(['heal', '--json'], { cwd: repo.dir });
    assert.equal(healed.json!.result.daemonLockBroken, true);
    assert.equal(existsSync(join(repo.dir, '.git', 'guild', 'daemon.lock')), false);
    assertReplayChecks(repo);
  });

  test('inside a linked worktree, watch finds the clone\'s daemon', async () => {
    const repo = guildRepo();
    const first = await startDaemon(repo);
    const git = (args: string[]): void => {
      const run = spawnSync('git', args, { cwd: repo.dir, encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
    };
    git(['-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '--allow-empty', '-m', 'root']);
    git(['worktree', 'add', '-q', join(repo.dir, '.wt'), '-b', 'side']);
    const inWorktree = cli(['watch', '--json'], { cwd: join(repo.dir, '.wt') });
    assert.equal(inWorktree.code, 3);
    assert.equal(inWorktree.json!.error!.data.pid, first.pid);
    await first.kill('SIGTERM');
  });
});

// `guild-fs status`: counts per status, who holds what, the daemon (running, or the report of one
// that is gone) and the machine, on one screen or as one --json document.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from './helpers/cli.js';
import { killAllDaemons, startDaemon, waitFor } from './helpers/daemon.js';
import { tempRepo, type TempRepo } from './helpers/repo.js';

const repos: TempRepo[] = [];
after(() => {
  killAllDaemons();
  for (const repo of repos) repo.remove();
});

test('status --json: counts, holders, no daemon, the machine sampled now', () => {
  const repo = tempRepo();
  repos.push(repo);
  assert.equal(cli(['init', '--example'], { cwd: repo.dir }).code, 0);
  assert.equal(cli(['claim', 'GLD-2', '--no-worktree'], { cwd: repo.dir, agent: 'agent-a' }).code, 0);
  const status = cli(['status', '--json'], { cwd: repo.dir });
  assert.equal(status.code, 0, status.stderr);
  const result = status.json!.result;
  assert.deepEqual(result.board.counts, { backlog: 1, blocked: 1, ready: 2, 'in-progress': 1, review: 0, done: 1, failed: 0 });
  assert.equal(result.holding.length, 1);
  assert.equal(result.holding[0].task, 'GLD-2');
  assert.equal(result.holding[0].agent, 'agent-a');
  assert.equal(result.holding[0].stale, null);
  assert.deepEqual(result.daemon, { running: false, pid: null, host: null, since: null, stale: null, lastReaction: null, lastError: null, counts: null, updated: null });
  assert.equal(result.machine.source, 'now');
  assert.ok(result.machine.cores >= 1);
  assert.ok(result.machine.diskFreeBytes > 0);
  const human = cli(['status'], { cwd: repo.dir });
  assert.match(human.stdout, /^board: 6 tasks: backlog 1, blocked 1, ready 2, in-progress 1, done 1$/m);
  assert.match(human.stdout, /GLD-2\s+agent-a/);
  assert.match(human.stdout, /daemon: not running/);
});

test('status shows a running daemon with its machine sample, then says when it is gone', async () => {
  const repo = tempRepo();
  repos.push(repo);
  assert.equal(cli(['init', '--example'], { cwd: repo.dir }).code, 0);
  const daemon = await startDaemon(repo);
  const running = await waitFor('status to show the daemon with a sample', () => {
    const result = cli(['status', '--json'], { cwd: repo.dir }).json!.result;
    return result.daemon.running && result.machine?.source === 'daemon' ? result : undefined;
  });
  assert.equal(running.daemon.pid, daemon.pid);
  assert.equal(typeof running.daemon.counts.reactions, 'number');
  const doctor = cli(['doctor', '--json'], { cwd: repo.dir });
  assert.equal(doctor.code, 0);
  const check = doctor.json!.result.checks.find((c: { name: string }) => c.name === 'daemon');
  assert.match(check.info[0], new RegExp(`running: pid ${daemon.pid}`));

  await daemon.kill('SIGKILL');
  const gone = cli(['status', '--json'], { cwd: repo.dir }).json!.result;
  assert.equal(gone.daemon.running, false);
  assert.match(gone.daemon.stale, new RegExp(`pid ${daemon.pid}.*is gone`));
  assert.match(cli(['status'], { cwd: repo.dir }).stdout, /daemon: not running; daemon lock left by pid \d+/);
  const doctorAfter = cli(['doctor'], { cwd: repo.dir });
  assert.equal(doctorAfter.code, 6);
  assert.match(doctorAfter.stdout, /FAIL\s+daemon/);
});

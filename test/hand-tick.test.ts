// A box ticked by hand on a task In Progress is a completion by the person (issue 10): logged as
// task.completed with the person as actor and the agent who held it named, and the agent's
// claim is given back once the board says Done.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from './helpers/cli.js';
import { readLog, tempRepo, type TempRepo } from './helpers/repo.js';

const repos: TempRepo[] = [];
after(() => {
  for (const repo of repos) repo.remove();
});

test('a hand tick of an In Progress task completes it as the person and releases the claim', () => {
  const repo = tempRepo();
  repos.push(repo);
  assert.equal(cli(['init', '--example'], { cwd: repo.dir }).code, 0);
  const claim = cli(['claim', 'GLD-5', '--no-worktree'], { cwd: repo.dir, agent: 'agent-a' });
  assert.equal(claim.code, 0, claim.stderr);
  const lock = join(repo.dir, '.git', 'guild', 'locks', 'GLD-5.lock');
  assert.ok(existsSync(lock));
  repo.write(repo.read().replace('- [ ] GLD-5 ', '- [x] GLD-5 '));
  const sync = cli(['sync'], { cwd: repo.dir, agent: 'pat' });
  assert.equal(sync.code, 0, sync.stderr);
  assert.match(repo.read(), /## Done\n(.*\n)*- \[x\] GLD-5 /);
  const completed = readLog(repo).filter((event) => event.type === 'task.completed' && event.task === 'GLD-5');
  assert.equal(completed.length, 1);
  assert.equal(completed[0]!.agent, 'human');
  assert.deepEqual({ by: (completed[0]!.data as any).by, owner: (completed[0]!.data as any).owner, ticked: (completed[0]!.data as any).ticked }, { by: 'pat', owner: 'agent-a', ticked: true });
  assert.ok(!existsSync(lock), 'the agent still holds the lock of a task the person finished');
  const check = cli(['replay', '--check'], { cwd: repo.dir });
  assert.equal(check.code, 0, check.stdout + check.stderr);
  const heartbeat = cli(['heartbeat', 'GLD-5'], { cwd: repo.dir, agent: 'agent-a' });
  assert.equal(heartbeat.code, 3, 'the agent hears its claim is gone');
});

test('a task moved into Done by hand is recorded as its completion by the person, not as an edit', () => {
  const repo = tempRepo();
  repos.push(repo);
  assert.equal(cli(['init', '--example'], { cwd: repo.dir }).code, 0);
  assert.equal(cli(['claim', 'GLD-5', '--no-worktree'], { cwd: repo.dir, agent: 'agent-a' }).code, 0);
  // The person ticks the line and moves it under Done themselves.
  const board = repo.read();
  const line = board.split('\n').find((l) => l.startsWith('- [ ] GLD-5 '))!;
  repo.write(board.replace(`${line}\n`, '').replace('## Done\n', `## Done\n${line.replace('[ ]', '[x]')}\n`));
  assert.equal(cli(['sync'], { cwd: repo.dir, agent: 'pat' }).code, 0);
  const events = readLog(repo).filter((event) => event.task === 'GLD-5');
  const completed = events.filter((event) => event.type === 'task.completed');
  assert.equal(completed.length, 1);
  assert.equal(completed[0]!.agent, 'human');
  assert.equal((completed[0]!.data as any).by, 'pat');
  assert.ok(!events.some((event) => event.type === 'task.edited' && (event.data as any).status === 'done'), 'recorded as an edit');
  const log = cli(['log', '--type', 'task.completed', '--task', 'GLD-5', '--json'], { cwd: repo.dir });
  assert.equal(log.stdout.trim().split('\n').length, 1);
  const check = cli(['replay', '--check'], { cwd: repo.dir });
  assert.equal(check.code, 0, check.stdout + check.stderr);
});

// `guild-fs events`: the live log as NDJSON, and with --follow every event appended after, from
// any process, through torn lines (an append seen half way), `log rotate` (the file replaced by
// a rename) and a reader that goes away (EPIPE: a quiet exit).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync } from 'node:fs';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { BIN, cli } from './helpers/cli.js';
import { waitFor } from './helpers/daemon.js';
import { readLog, tempRepo, type TempRepo } from './helpers/repo.js';

const children = new Set<ChildProcess>();
const repos: TempRepo[] = [];
after(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const repo of repos) repo.remove();
});

function guildRepo(): TempRepo {
  const repo = tempRepo();
  repos.push(repo);
  assert.equal(cli(['init', '--example'], { cwd: repo.dir }).code, 0);
  return repo;
}

function follow(repo: TempRepo, args: string[] = []): { child: ChildProcess; stdout: () => string; stderr: () => string; lines: () => Record<string, any>[] } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.GUILD_AGENT;
  const child = spawn(process.execPath, [BIN, 'events', '--follow', '--json', ...args], { cwd: repo.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('close', () => children.delete(child));
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // Every complete line must be one event: NDJSON, nothing else on stdout.
  const lines = () => stdout.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, any>);
  return { child, stdout: () => stdout, stderr: () => stderr, lines };
}

test('events --json prints the existing events as NDJSON and exits; --limit keeps the last N', () => {
  const repo = guildRepo();
  const all = cli(['events', '--json'], { cwd: repo.dir });
  assert.equal(all.code, 0, all.stderr);
  const printed = all.stdout.trim().split('\n').map((line) => JSON.parse(line));
  assert.deepEqual(printed, readLog(repo));
  const last = cli(['events', '--json', '--limit', '2'], { cwd: repo.dir });
  assert.deepEqual(last.stdout.trim().split('\n').map((line) => JSON.parse(line)), readLog(repo).slice(-2));
  const human = cli(['events'], { cwd: repo.dir });
  assert.match(human.stdout, /task\.created\s+GLD-1/);
});

test('events --follow --json: events appended by other processes, a torn line once whole, and after log rotate', async () => {
  const repo = guildRepo();
  const existing = readLog(repo).length;
  const follower = follow(repo);
  await waitFor('the existing events', () => follower.lines().length === existing || undefined, 15_000, follower.stderr);

  assert.equal(cli(['add', 'Followed task'], { cwd: repo.dir }).code, 0);
  const created = await waitFor('the new task.created', () => follower.lines().find((event) => event.type === 'task.created' && event.data.title === 'Followed task'), 15_000, follower.stderr);

  // Half of an append, as a reader can see it for an instant: nothing is printed, nothing warned.
  const event = { v: 1, id: '01ZZZZZZZZZZZZZZZZZZZZZZZZ', ts: new Date().toISOString(), type: 'task.edited', task: created.task, agent: 'hand', host: 'test', data: { note: 'torn' } };
  const line = JSON.stringify(event);
  appendFileSync(repo.log, line.slice(0, 30));
  await new Promise((resolve) => setTimeout(resolve, 1_200)); // past one --poll interval
  assert.equal(follower.lines().some((printed) => printed.id === event.id), false);
  appendFileSync(repo.log, `${line.slice(30)}\n`);
  await waitFor('the torn line once whole', () => follower.lines().find((printed) => printed.id === event.id), 15_000, follower.stderr);
  assert.equal(follower.stderr(), '');

  // log rotate replaces the live file with a rename: the follower reopens it.
  const rotated = cli(['log', 'rotate', '--before', new Date(Date.now() + 60_000).toISOString()], { cwd: repo.dir });
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.equal(cli(['add', 'After rotation'], { cwd: repo.dir }).code, 0);
  await waitFor('the event after rotation', () => follower.lines().find((printed) => printed.type === 'task.created' && printed.data.title === 'After rotation'), 15_000, follower.stderr);
  const ids = follower.lines().map((printed) => printed.id);
  assert.equal(new Set(ids).size, ids.length, 'an event was printed twice');
});

test('events --follow whose reader goes away exits quietly (EPIPE)', async () => {
  const repo = guildRepo();
  const follower = follow(repo);
  await waitFor('the first events', () => follower.lines().length > 0 || undefined, 15_000, follower.stderr);
  follower.child.stdout!.destroy();
  const closed = once(follower.child, 'close');
  assert.equal(cli(['add', 'Nobody reads this'], { cwd: repo.dir }).code, 0);
  const [code] = await closed;
  assert.equal(code, 0);
  assert.equal(follower.stderr(), '');
});

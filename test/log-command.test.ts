// guild-fs log: filters, last N, NDJSON with --json, human lines otherwise.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { cli } from './helpers/cli.js';
import { readLog, tempRepo, type TempRepo } from './helpers/repo.js';

let repos: TempRepo[] = [];
afterEach(() => {
  for (const repo of repos) repo.remove();
  repos = [];
});

/** The example board after a claim, a complete, a fail and a heal of a dead --pid claim. */
function busyRepo(): TempRepo {
  const repo = tempRepo();
  repos.push(repo);
  const run = (args: string[], agent?: string): void => assert.equal(cli(args, { cwd: repo.dir, agent }).code, 0, args.join(' '));
  run(['init', '--example']);
  run(['claim', 'GLD-2'], 'a');
  run(['complete', 'GLD-2'], 'a');
  run(['claim', 'GLD-3'], 'b');
  run(['fail', 'GLD-3', '--reason', 'tests broke'], 'b');
  run(['claim', 'GLD-5', '--pid', '999999'], 'c');
  run(['heal']);
  return repo;
}

const ndjson = (stdout: string): Record<string, unknown>[] => stdout.trimEnd().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);

describe('guild-fs log', () => {
  test('--json prints NDJSON, one event a line, the whole log in file order', () => {
    const repo = busyRepo();
    const result = cli(['log', '--json'], { cwd: repo.dir });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(ndjson(result.stdout), readLog(repo));
  });

  test('filters: --task, --agent, --type (repeated or comma-separated), --errors, --limit', () => {
    const repo = busyRepo();
    const events = readLog(repo);
    const query = (...args: string[]) => ndjson(cli(['log', '--json', ...args], { cwd: repo.dir }).stdout);
    assert.deepEqual(query('--task', 'GLD-3'), events.filter((e) => e.task === 'GLD-3'));
    assert.deepEqual(query('--agent', 'b'), events.filter((e) => e.agent === 'b'));
    assert.deepEqual(query('--type', 'task.claimed', '--type', 'task.completed'), events.filter((e) => e.type === 'task.claimed' || e.type === 'task.completed'));
    assert.deepEqual(query('--type', 'task.claimed,task.completed'), events.filter((e) => e.type === 'task.claimed' || e.type === 'task.completed'));
    const errors = query('--errors');
    assert.deepEqual(errors.map((e) => e.type), ['task.failed', 'lock.healed']);
    assert.deepEqual(query('--limit', '2'), events.slice(-2));
    assert.deepEqual(query('--task', 'GLD-2', '--limit', '1'), events.filter((e) => e.task === 'GLD-2').slice(-1));
  });

  test('--since and --until take times or durations ago', () => {
    const repo = busyRepo();
    const events = readLog(repo);
    const query = (...args: string[]) => ndjson(cli(['log', '--json', ...args], { cwd: repo.dir }).stdout);
    assert.deepEqual(query('--since', '1h'), events);
    assert.deepEqual(query('--until', '1h'), []);
    const middle = String(events[Math.floor(events.length / 2)]!.ts);
    assert.deepEqual(query('--since', middle), events.filter((e) => String(e.ts) >= middle));
    assert.deepEqual(query('--until', middle), events.filter((e) => String(e.ts) <= middle));
    assert.equal(cli(['log', '--since', 'soon'], { cwd: repo.dir }).code, 2);
  });

  test('human output is one line an event; bad input is exit 2; a torn last line warns', () => {
    const repo = busyRepo();
    const human = cli(['log', '--task', 'GLD-3'], { cwd: repo.dir });
    assert.equal(human.code, 0);
    const lines = human.stdout.trimEnd().split('\n');
    assert.equal(lines.length, readLog(repo).filter((e) => e.task === 'GLD-3').length);
    assert.match(lines.at(-1)!, /^\S+Z {2}task\.failed +GLD-3 +b {2}reason=tests broke tries=1 retry=/);
    assert.equal(cli(['log', '--limit', '0'], { cwd: repo.dir }).code, 2);
    assert.equal(cli(['log', '--task', '../x'], { cwd: repo.dir }).code, 2);
    appendFileSync(join(repo.dir, '.guild', 'audit.jsonl'), '{"v":1,"id"');
    const torn = cli(['log', '--json'], { cwd: repo.dir });
    assert.equal(torn.code, 0);
    assert.match(torn.stderr, /torn last line/);
  });
});

describe('guild-fs log export', () => {
  test('writes one JSON array, or NDJSON with --ndjson, filtered like log', () => {
    const repo = busyRepo();
    const events = readLog(repo);
    const array = join(repo.dir, 'history.json');
    const result = cli(['log', 'export', 'history.json', '--json'], { cwd: repo.dir });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { ok: true, result: { events: events.length, file: array } });
    assert.deepEqual(JSON.parse(readFileSync(array, 'utf8')), events);
    assert.equal(cli(['log', 'export', 'gld3.ndjson', '--ndjson', '--task', 'GLD-3'], { cwd: repo.dir }).code, 0);
    assert.deepEqual(ndjson(readFileSync(join(repo.dir, 'gld3.ndjson'), 'utf8')), events.filter((e) => e.task === 'GLD-3'));
    assert.equal(cli(['log', 'export', 'none.json', '--task', 'GLD-99'], { cwd: repo.dir }).code, 0);
    assert.deepEqual(JSON.parse(readFileSync(join(repo.dir, 'none.json'), 'utf8')), []);
    assert.equal(cli(['log', 'export'], { cwd: repo.dir }).code, 2);
    assert.equal(cli(['log', 'frobnicate'], { cwd: repo.dir }).code, 2);
  });
});

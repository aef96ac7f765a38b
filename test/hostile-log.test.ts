// Hostile logs (issue 11, items 9, 10, 11, 16, 20, 21, 24): huge lines, a power loss's NUL bytes,
// big logs, duplicates and disorder a merge leaves, double claims. Every case runs the built CLI
// on a real temp repo; memory is checked by running it with a small heap, never by timing.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { appendEvents } from '../src/log/append-event.js';
import { makeEvent } from '../src/log/event.js';
import { mergeLogs } from '../src/merge/merge-log.js';
import { cli, examplesRemovedAfterEach } from './helpers/cli.js';
import type { TempRepo } from './helpers/repo.js';

const example = examplesRemovedAfterEach();

const logOf = (repo: TempRepo) => join(repo.dir, '.guild', 'audit.jsonl');
const lineCount = (repo: TempRepo) => readFileSync(logOf(repo), 'utf8').split('\n').length - 1;
/** A CLI run with a heap far smaller than the log it reads: a reader that holds the log dies. */
const small = (mb: number) => ({ NODE_OPTIONS: `--max-old-space-size=${mb}` });

/** An event line as guild-fs writes it; `n` makes the id (and orders it within one ts). */
function eventLine(n: number, fields: { type: string; task?: string; agent?: string; ts?: string; data?: object }): string {
  const id = `01TEST${String(n).padStart(20, '0')}`;
  const task = fields.task === undefined ? '' : `"task":"${fields.task}",`;
  return `{"v":1,"id":"${id}","ts":"${fields.ts ?? '2030-01-01T00:00:00.000Z'}","type":"${fields.type}",${task}"agent":"${fields.agent ?? 'z'}","host":"h","data":${JSON.stringify(fields.data ?? {})}}\n`;
}

describe('item 9: a long line costs linear time and bounded memory, and is an error past 1 MiB', () => {
  test('a 64 MB run without a newline: every reader exits 2 naming the line, with a 96 MB heap', () => {
    const repo = example();
    const line = lineCount(repo) + 1;
    appendFileSync(logOf(repo), Buffer.alloc(64 << 20, 'x'));
    for (const args of [['replay'], ['replay', '--check'], ['log'], ['stats'], ['show', 'GLD-3'], ['log', '--task', 'GLD-3']]) {
      const run = cli([...args, '--json'], { cwd: repo.dir, env: small(96) });
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, new RegExp(`\\.guild/audit\\.jsonl:${line}: line longer than 1 MiB`), args.join(' '));
    }
    // events follows the log: a damaged line is a warning there, and the follower goes on.
    const events = cli(['events', '--json'], { cwd: repo.dir, env: small(96) });
    assert.equal(events.code, 0, events.stderr);
    assert.match(events.stderr, new RegExp(`audit\\.jsonl:${line}: line longer than 1 MiB`));
    // rotate refuses before writing anything: the live log is as it was.
    const before = readFileSync(logOf(repo)).length;
    const rotate = cli(['log', 'rotate', '--before', '2100-01-01T00:00:00Z', '--json'], { cwd: repo.dir, env: small(96) });
    assert.equal(rotate.code, 2, rotate.stderr);
    assert.match(rotate.stderr, new RegExp(`audit\\.jsonl:${line}: line longer than 1 MiB`));
    assert.equal(readFileSync(logOf(repo)).length, before);
  });

  test('one 40 MB event in the middle of the log is refused with its line, and events after it are not the problem', () => {
    const repo = example();
    const line = lineCount(repo) + 1;
    const big = eventLine(1, { type: 'task.edited', task: 'GLD-3', data: { note: 'y'.repeat(40 << 20) } });
    appendFileSync(logOf(repo), big + eventLine(2, { type: 'task.edited', task: 'GLD-3' }));
    const run = cli(['replay', '--json'], { cwd: repo.dir, env: small(96) });
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.json?.error?.data?.line, line);
    // --lenient skips it with a warning, as any damaged line.
    const lenient = cli(['replay', '--lenient', '--json'], { cwd: repo.dir, env: small(96) });
    assert.equal(lenient.code, 0, lenient.stderr);
    assert.match(lenient.stderr, new RegExp(`audit\\.jsonl:${line}: line longer than 1 MiB`));
  });
});

describe('item 9, the other readers', () => {
  test('heal reads the log backwards past a 64 MB line to find a claim, with a 96 MB heap', () => {
    const repo = example();
    assert.equal(cli(['claim', 'GLD-3', '--no-worktree'], { cwd: repo.dir, agent: 'a' }).code, 0);
    appendFileSync(logOf(repo), Buffer.concat([Buffer.alloc(64 << 20, 'x'), Buffer.from('\n')]));
    // In Progress with no lock: heal requeues it only if its last claim was made on this host,
    // which it learns by reading the log from its end. (The old scan got there too, in ~40 s of
    // quadratic copying: without timing this is coverage of the new scan, not a reproduction.)
    rmSync(join(repo.dir, '.git', 'guild', 'locks', 'GLD-3.lock'), { recursive: true, force: true });
    const heal = cli(['heal', '--json'], { cwd: repo.dir, env: small(96) });
    assert.equal(heal.code, 0, heal.stderr);
    assert.deepEqual(heal.json?.result?.actions.map((action: any) => [action.task, action.action]), [['GLD-3', 'requeued']]);
  });

  test('an event over 1 MiB is refused before anything is written', () => {
    const repo = example();
    const before = readFileSync(logOf(repo));
    const huge = makeEvent({ type: 'task.edited', task: 'GLD-3', agent: 'a', host: 'h', data: { body: 'b'.repeat(1 << 20) } });
    const small = makeEvent({ type: 'task.edited', task: 'GLD-3', agent: 'a', host: 'h' });
    assert.throws(() => appendEvents(logOf(repo), [small, huge], { exclusive: true }), (error: any) => error.code === 'EEVENTSIZE' && error.exitCode === 2 && /1 MiB/.test(error.message));
    assert.deepEqual(readFileSync(logOf(repo)), before);
  });
});

describe('item 10: the NUL bytes a power loss leaves stay a warning, and no event is dropped', () => {
  test('a NUL tail, then an append: replay, log and stats still read, every event kept', () => {
    const repo = example();
    assert.equal(cli(['claim', 'GLD-3', '--no-worktree'], { cwd: repo.dir, agent: 'a' }).code, 0);
    const events = lineCount(repo);
    appendFileSync(logOf(repo), Buffer.alloc(8192));
    const torn = cli(['replay', '--check', '--json'], { cwd: repo.dir });
    assert.equal(torn.code, 0, torn.stdout);
    assert.match(torn.stderr, /audit\.jsonl:\d+: NUL bytes/);
    // The next append starts a line of its own after the NULs.
    assert.equal(cli(['claim', 'GLD-5', '--no-worktree'], { cwd: repo.dir, agent: 'b' }).code, 0);
    for (const args of [['replay', '--check'], ['stats'], ['show', 'GLD-5']]) {
      const run = cli([...args, '--json'], { cwd: repo.dir });
      assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, /NUL bytes/, args.join(' '));
    }
    const log = cli(['log', '--json'], { cwd: repo.dir });
    assert.equal(log.code, 0, log.stderr);
    assert.equal(log.stdout.trim().split('\n').length, events + 1);
  });

  test('a power loss that took an event\'s newline: the event is kept, and heal ends the line', () => {
    const repo = example();
    assert.equal(cli(['claim', 'GLD-3', '--no-worktree'], { cwd: repo.dir, agent: 'a' }).code, 0);
    const text = readFileSync(logOf(repo));
    // The newline of the claim and what followed it are zeros now.
    writeFileSync(logOf(repo), Buffer.concat([text.subarray(0, text.length - 1), Buffer.alloc(4096)]));
    const heal = cli(['heal', '--json'], { cwd: repo.dir });
    assert.equal(heal.code, 0, heal.stderr);
    assert.equal(heal.json?.result?.logTailEnded, true);
    assert.ok(readFileSync(logOf(repo)).subarray(-1)[0] === 10, 'the log ends in a newline');
    const replay = cli(['replay', '--check', '--json'], { cwd: repo.dir });
    assert.equal(replay.code, 0, replay.stdout);
    assert.equal(replay.json?.result?.tasks.find((task: any) => task.id === 'GLD-3')?.owner, 'a');
    // The claim still counts after further appends.
    assert.equal(cli(['release', 'GLD-3'], { cwd: repo.dir, agent: 'a' }).code, 0);
    const stats = cli(['stats', '--json'], { cwd: repo.dir });
    assert.equal(stats.code, 0, stats.stderr);
    assert.equal(stats.json?.result?.agents.find((row: any) => row.agent === 'a')?.claimed, 1);
    assert.equal(cli(['replay', '--check'], { cwd: repo.dir }).code, 0);
  });
});

test('item 10, the merge: an event whose newline a power loss took is merged, not dropped as torn', () => {
  const base = eventLine(1, { type: 'task.created', task: 'GLD-3' });
  const ours = base + eventLine(2, { type: 'task.claimed', task: 'GLD-3' }).slice(0, -1) + '\0'.repeat(100);
  const theirs = base + eventLine(3, { type: 'task.edited', task: 'GLD-3' });
  const merged = mergeLogs(base, ours, theirs);
  assert.equal(merged.text, base + eventLine(2, { type: 'task.claimed', task: 'GLD-3' }) + eventLine(3, { type: 'task.edited', task: 'GLD-3' }));
  assert.deepEqual(merged.torn, []);
});

test('item 11: events --limit 3 on a log of 130k events prints the last three', () => {
  const repo = example();
  const lines: string[] = [];
  for (let i = 0; i < 130_000; i++) lines.push(eventLine(i, { type: 'task.edited', task: 'GLD-6', data: { title: 'Write the user guide' } }));
  appendFileSync(logOf(repo), lines.join(''));
  const run = cli(['events', '--limit', '3', '--json'], { cwd: repo.dir });
  assert.equal(run.code, 0, run.stderr);
  const ids = run.stdout.trim().split('\n').map((line) => JSON.parse(line).id);
  assert.deepEqual(ids, [129_997, 129_998, 129_999].map((n) => `01TEST${String(n).padStart(20, '0')}`));
});

test('item 16: show on a task with 200k events keeps a window, in a 64 MB heap', () => {
  const repo = example();
  const lines: string[] = [];
  for (let i = 0; i < 200_000; i++) lines.push(eventLine(i, { type: 'task.edited', task: 'GLD-6', agent: `agent-${i % 7}`, data: { title: 'Write the user guide' } }));
  appendFileSync(logOf(repo), lines.join(''));
  const run = cli(['show', 'GLD-6', '--json'], { cwd: repo.dir, env: small(64) });
  assert.equal(run.code, 0, run.stderr);
  const result = run.json?.result;
  assert.equal(result.historyTotal, 200_001);
  assert.equal(result.history.length, 200);
  assert.equal(result.history.at(-1).id, `01TEST${String(199_999).padStart(20, '0')}`);
  const human = cli(['show', 'GLD-6'], { cwd: repo.dir, env: small(64) });
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /199801 earlier events not shown: guild-fs log --task GLD-6/);
  // A merge put an old event and a duplicate at the end: the sorted pass, still a window, in order.
  appendFileSync(logOf(repo), eventLine(900_000, { type: 'task.edited', task: 'GLD-6', ts: '2000-01-01T00:00:00.000Z' }) + lines[5]);
  const merged = cli(['show', 'GLD-6', '--json'], { cwd: repo.dir, env: small(64) });
  assert.equal(merged.code, 0, merged.stderr);
  assert.equal(merged.json?.result?.historyTotal, 200_002);
  assert.deepEqual(merged.json?.result?.history.map((event: any) => event.id), result.history.map((event: any) => event.id));
});

test('item 20: stats drops a duplicate claim a merge put far from its twin, as replay does', () => {
  const repo = example();
  assert.equal(cli(['claim', 'GLD-3', '--no-worktree'], { cwd: repo.dir, agent: 'a' }).code, 0);
  const claim = readFileSync(logOf(repo), 'utf8').split('\n').find((line) => line.includes('"task.claimed"'))!;
  assert.equal(cli(['complete', 'GLD-3'], { cwd: repo.dir, agent: 'a' }).code, 0);
  appendFileSync(logOf(repo), `${claim}\n`);
  const stats = cli(['stats', '--json'], { cwd: repo.dir });
  assert.equal(stats.code, 0, stats.stderr);
  const a = stats.json?.result?.agents.find((row: any) => row.agent === 'a');
  assert.deepEqual([a.claimed, a.completed, a.inProgress], [1, 1, 0]);
  assert.equal(stats.json?.result?.statuses['in-progress'], undefined);
  const replay = cli(['replay', '--check', '--json'], { cwd: repo.dir });
  assert.equal(replay.code, 0, replay.stdout);
  assert.equal(replay.json?.result?.tasks.find((task: any) => task.id === 'GLD-3')?.status, 'done');
});

test('item 21: show and log --task print a merged history in (ts, id) order', () => {
  const repo = example();
  assert.equal(cli(['claim', 'GLD-3', '--no-worktree'], { cwd: repo.dir, agent: 'a' }).code, 0);
  // A merge appended another branch's older event after ours: an edit made before the claim.
  appendFileSync(logOf(repo), eventLine(1, { type: 'task.edited', task: 'GLD-3', ts: '2000-01-01T00:00:00.000Z', data: { title: 'Create the users table' } }));
  const show = cli(['show', 'GLD-3', '--json'], { cwd: repo.dir });
  assert.equal(show.code, 0, show.stderr);
  const types = show.json?.result?.history.map((event: any) => event.type);
  assert.deepEqual(types, ['task.edited', 'task.created', 'task.claimed']);
  const log = cli(['log', '--task', 'GLD-3', '--json'], { cwd: repo.dir });
  assert.equal(log.code, 0, log.stderr);
  assert.deepEqual(log.stdout.trim().split('\n').map((line) => JSON.parse(line).type), types);
  const last = cli(['log', '--task', 'GLD-3', '--limit', '2', '--json'], { cwd: repo.dir });
  assert.deepEqual(last.stdout.trim().split('\n').map((line) => JSON.parse(line).type), types.slice(1));
});

test('item 24: replay --check names a double claim by both events, and exits 6', () => {
  const repo = example();
  assert.equal(cli(['claim', 'GLD-3', '--no-worktree'], { cwd: repo.dir, agent: 'a' }).code, 0);
  const lines = readFileSync(logOf(repo), 'utf8').split('\n');
  const first = lines.findIndex((line) => line.includes('"task.claimed"'));
  const firstClaim = JSON.parse(lines[first]!);
  // A second clone claimed GLD-3 offline too; the merge kept both claims, and its board line.
  const later = new Date(Date.parse(firstClaim.ts) + 1).toISOString();
  appendFileSync(logOf(repo), eventLine(9, { type: 'task.claimed', task: 'GLD-3', agent: 'b', ts: later }));
  repo.write(repo.read().replace('owner:a', 'owner:b'));
  const run = cli(['replay', '--check', '--json'], { cwd: repo.dir });
  assert.equal(run.code, 6, run.stdout);
  const disagreements = run.json?.error?.data?.disagreements;
  assert.equal(disagreements.length, 1, run.stdout);
  const message: string = disagreements[0].message;
  assert.match(message, /GLD-3 was claimed twice/);
  assert.ok(message.includes(firstClaim.id) && message.includes(`.guild/audit.jsonl:${first + 1}`), message);
  assert.ok(message.includes(`01TEST${String(9).padStart(20, '0')}`) && message.includes(`.guild/audit.jsonl:${lines.length}`), message);
});

test('item 24, rotated: the claim in a segment is named by the segment\'s file and line', () => {
  const repo = example();
  assert.equal(cli(['claim', 'GLD-3', '--no-worktree'], { cwd: repo.dir, agent: 'a' }).code, 0);
  const first = JSON.parse(readFileSync(logOf(repo), 'utf8').split('\n').find((line) => line.includes('"task.claimed"'))!);
  appendFileSync(logOf(repo), eventLine(9, { type: 'task.claimed', task: 'GLD-3', agent: 'b', ts: '2099-01-01T00:00:00.000Z' }));
  repo.write(repo.read().replace('owner:a', 'owner:b'));
  const rotate = cli(['log', 'rotate', '--before', '2098-01-01T00:00:00Z'], { cwd: repo.dir });
  assert.equal(rotate.code, 0, rotate.stderr);
  const run = cli(['replay', '--check', '--json'], { cwd: repo.dir });
  assert.equal(run.code, 6, run.stdout);
  const message: string = run.json?.error?.data?.disagreements[0].message;
  assert.match(message, new RegExp(`event ${first.id}, \\.guild/audit/${first.ts.slice(0, 7)}\\.jsonl\\.gz:\\d+\\)`), message);
  assert.match(message, /event 01TEST0+9, \.guild\/audit\.jsonl:1\)/, message);
});

// guild-fs log rotate: old events move to monthly gzip segments, read back as one history.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { cli } from './helpers/cli.js';
import { tempRepo, type TempRepo } from './helpers/repo.js';
import { findEventIds, lastEventOf } from '../src/log/find-events.js';

let repos: TempRepo[] = [];
afterEach(() => {
  for (const repo of repos) repo.remove();
  repos = [];
});

const logPath = (repo: TempRepo) => join(repo.dir, '.guild', 'audit.jsonl');
const history = (repo: TempRepo) => cli(['log', '--json'], { cwd: repo.dir }).stdout;

/** The example board's log with its first events moved back to September and October. */
function agedRepo(): TempRepo {
  const repo = tempRepo();
  repos.push(repo);
  assert.equal(cli(['init', '--example'], { cwd: repo.dir }).code, 0);
  assert.equal(cli(['claim', 'GLD-3'], { cwd: repo.dir, agent: 'a' }).code, 0);
  const lines = readFileSync(logPath(repo), 'utf8').trimEnd().split('\n');
  const aged = lines.map((line, i) => {
    const event = JSON.parse(line) as { ts: string };
    if (i < 3) event.ts = `2026-09-15T10:00:0${i}.000Z`;
    else if (i < 6) event.ts = `2026-10-15T10:00:0${i}.000Z`;
    return JSON.stringify(event);
  });
  writeFileSync(logPath(repo), `${aged.join('\n')}\n`);
  return repo;
}

test('rotate moves events before the cut-off into monthly segments; the history reads the same', () => {
  const repo = agedRepo();
  const before = history(repo);
  const result = cli(['log', 'rotate', '--before', '2026-11-01T00:00:00Z', '--json'], { cwd: repo.dir });
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as { ok: boolean; result: { moved: number; kept: number } };
  assert.deepEqual([report.result.moved, report.result.kept], [6, 1]);
  assert.deepEqual(readdirSync(join(repo.dir, '.guild', 'audit')), ['2026-09.jsonl.gz', '2026-10.jsonl.gz']);
  assert.equal(gunzipSync(readFileSync(join(repo.dir, '.guild', 'audit', '2026-09.jsonl.gz'))).toString('utf8').trimEnd().split('\n').length, 3);
  assert.equal(readFileSync(logPath(repo), 'utf8').trimEnd().split('\n').length, 1);
  assert.equal(history(repo), before);
  assert.equal(cli(['replay', '--check'], { cwd: repo.dir }).code, 0);
  assert.equal(cli(['show', 'GLD-1', '--json'], { cwd: repo.dir }).json!.result.history.length, 1, 'show reads the segments too');
});

test('a second rotation into the same month appends a gzip member; a corrupt segment is named', () => {
  const repo = agedRepo();
  assert.equal(cli(['log', 'rotate', '--before', '2026-11-01T00:00:00Z'], { cwd: repo.dir }).code, 0);
  // Another old event arrives (a merge of an old branch, say), and is rotated too.
  appendFileSync(logPath(repo), `${JSON.stringify({ v: 1, id: '01JZZZZZZZZZZZZZZZZZZZZZZZ', ts: '2026-10-20T00:00:00.000Z', type: 'board.synced', agent: 'x', host: 'h', data: {} })}\n`);
  const sorted = (text: string) => text.trimEnd().split('\n').sort();
  const before = history(repo);
  assert.equal(cli(['log', 'rotate', '--before', '2026-11-01T00:00:00Z'], { cwd: repo.dir }).code, 0);
  // The same events; the late one now reads with its month, before the live file.
  assert.deepEqual(sorted(history(repo)), sorted(before));
  assert.equal(gunzipSync(readFileSync(join(repo.dir, '.guild', 'audit', '2026-10.jsonl.gz'))).toString('utf8').trimEnd().split('\n').length, 4, 'both gzip members read');
  assert.equal(cli(['replay', '--check'], { cwd: repo.dir }).code, 0);
  writeFileSync(join(repo.dir, '.guild', 'audit', '2026-10.jsonl.gz'), 'not gzip');
  const broken = cli(['replay', '--check', '--json'], { cwd: repo.dir });
  assert.equal(broken.code, 2);
  assert.match(broken.json!.error!.message, /^\.guild\/audit\/2026-10\.jsonl\.gz: not a readable gzip segment/);
  assert.equal(existsSync(join(repo.dir, '.guild', 'audit.jsonl')), true);
});

test('nothing to rotate leaves the live log as it was', () => {
  const repo = agedRepo();
  const live = readFileSync(logPath(repo), 'utf8');
  const result = cli(['log', 'rotate', '--before', '2026-01-01T00:00:00Z'], { cwd: repo.dir });
  assert.equal(result.code, 0);
  assert.match(result.stdout, /^nothing older than 2026-01-01T00:00:00.000Z to rotate/);
  assert.equal(readFileSync(logPath(repo), 'utf8'), live);
  assert.equal(existsSync(join(repo.dir, '.guild', 'audit')), false);
});

test('backward searches (heal, doctor) read the segments when the live file does not have the event', () => {
  const repo = agedRepo();
  assert.equal(cli(['log', 'rotate', '--before', '2026-11-01T00:00:00Z'], { cwd: repo.dir }).code, 0);
  // Every event rotated out, the claim included: the live file is empty.
  const live = readFileSync(logPath(repo), 'utf8');
  const claim = JSON.parse(live) as { id: string; ts: string };
  claim.ts = '2026-10-30T00:00:00.000Z';
  writeFileSync(logPath(repo), `${JSON.stringify(claim)}\n`);
  assert.equal(cli(['log', 'rotate', '--before', '2026-11-01T00:00:00Z'], { cwd: repo.dir }).code, 0);
  assert.equal(readFileSync(logPath(repo), 'utf8'), '');
  const found = lastEventOf(logPath(repo), 'GLD-3', 'task.claimed');
  assert.equal(found?.id, claim.id);
  assert.deepEqual([...findEventIds(logPath(repo), [claim.id, '01JNOTTHERE0000000000000000'])], [claim.id]);
});

// guild-fs stats: per-agent workload and claim-to-complete times, per-status counts, from the log.
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { cli } from './helpers/cli.js';
import { tempRepo, type TempRepo } from './helpers/repo.js';

let repos: TempRepo[] = [];
afterEach(() => {
  for (const repo of repos) repo.remove();
  repos = [];
});

test('stats counts claims, completions, failures and work in progress, and times claim to complete', () => {
  const repo = tempRepo();
  repos.push(repo);
  const run = (args: string[], agent?: string) => assert.equal(cli(args, { cwd: repo.dir, agent }).code, 0, args.join(' '));
  run(['init', '--example']);
  run(['claim', 'GLD-2'], 'a');
  run(['complete', 'GLD-2'], 'a');
  run(['claim', 'GLD-3'], 'a');
  run(['fail', 'GLD-3', '--reason', 'x'], 'a');
  run(['claim', 'GLD-5'], 'b');
  const log = join(repo.dir, '.guild', 'audit.jsonl');
  // A claim and a completion an hour apart, written as the log would hold them.
  const at = (iso: string, type: string, agent: string) => `${JSON.stringify({ v: 1, id: `01ZZ${type.length}${agent}${iso.replace(/\D/g, '')}`.slice(0, 26).padEnd(26, 'Z'), ts: iso, type, task: 'GLD-9', agent, host: 'h', data: {} })}\n`;
  appendFileSync(log, `{"v":1,"id":"01ZZZZZZZZZZZZZZZZZZZZZZZA","ts":"2026-01-01T00:00:00.000Z","type":"task.created","task":"GLD-9","agent":"human","host":"h","data":{"status":"ready"}}\n`);
  appendFileSync(log, at('2026-01-01T10:00:00.000Z', 'task.claimed', 'c') + at('2026-01-01T11:00:00.000Z', 'task.completed', 'c'));

  const result = cli(['stats', '--json'], { cwd: repo.dir });
  assert.equal(result.code, 0, result.stderr);
  const agents = Object.fromEntries((result.json!.result.agents as { agent: string; meanMs: number | null }[]).map((row) => [row.agent, row]));
  assert.deepEqual(Object.keys(agents), ['a', 'b', 'c']);
  assert.deepEqual({ ...agents.a, meanMs: undefined, p90Ms: undefined }, { agent: 'a', claimed: 2, completed: 1, failed: 1, inProgress: 0, meanMs: undefined, p90Ms: undefined });
  assert.equal(typeof agents.a!.meanMs, 'number');
  assert.deepEqual(agents.b, { agent: 'b', claimed: 1, completed: 0, failed: 0, inProgress: 1, meanMs: null, p90Ms: null });
  assert.deepEqual(agents.c, { agent: 'c', claimed: 1, completed: 1, failed: 0, inProgress: 0, meanMs: 3_600_000, p90Ms: 3_600_000 });
  assert.deepEqual(result.json!.result.statuses, { backlog: 1, blocked: 1, done: 3, ready: 1, 'in-progress': 1 });
  const human = cli(['stats'], { cwd: repo.dir });
  assert.match(human.stdout, /^agent +claimed +completed +failed +in progress +mean +p90$/m);
  assert.match(human.stdout, /^c +1 +1 +0 +0 +1h +1h$/m);
});

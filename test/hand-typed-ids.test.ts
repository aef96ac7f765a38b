// A task typed by hand with its ID is logged as created, whatever section it lands in (issue 11,
// item 18): a write's fix-ups may log task.blocked, task.unblocked or task.completed for it first,
// and none of those carries its title and fields.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cli } from './helpers/cli.js';
import { readLog, tempRepo } from './helpers/repo.js';

const BOARD = ['---', 'guild: 1', 'prefix: GLD', '---', '# Active Tasks', '', '## Backlog', '', '## Blocked', '', '## Ready', '- [ ] GLD-1 Already there', '', '## In Progress', '', '## Review', '', '## Done', '', '## Failed', ''].join('\n');

const TYPED: Record<string, { section: string; line: string; title: string }> = {
  'GLD-10': { section: 'Ready', line: '- [ ] GLD-10 Waits on the unknown needs:GLD-12 prio:high', title: 'Waits on the unknown' },
  'GLD-11': { section: 'Blocked', line: '- [ ] GLD-11 Nothing to wait for caps:db', title: 'Nothing to wait for' },
  'GLD-12': { section: 'Blocked', line: '- [ ] GLD-12 Blocked for real needs:GLD-1', title: 'Blocked for real' },
  'GLD-13': { section: 'Ready', line: '- [x] GLD-13 Ticked where it stood', title: 'Ticked where it stood' },
  'GLD-14': { section: 'In Progress', line: '- [ ] GLD-14 Being done owner:x', title: 'Being done' },
  'GLD-15': { section: 'Done', line: '- [x] GLD-15 Done already', title: 'Done already' },
  'GLD-16': { section: 'Failed', line: '- [ ] GLD-16 Gave up tries:3', title: 'Gave up' },
  'GLD-17': { section: 'Backlog', line: '- [ ] GLD-17 Someday', title: 'Someday' },
  'GLD-18': { section: 'Review', line: '- [ ] GLD-18 Look at me owner:y', title: 'Look at me' },
  'GLD-19': { section: 'Blocked', line: '- [x] GLD-19 Ticked in Blocked needs:GLD-12', title: 'Ticked in Blocked' },
};

test('hand-typed tasks with IDs, in every section, are logged as created with their title and fields', (t) => {
  const repo = tempRepo(BOARD);
  t.after(() => repo.remove());
  assert.equal(cli(['sync'], { cwd: repo.dir }).code, 0);
  let text = repo.read();
  for (const { section, line } of Object.values(TYPED)) text = text.replace(`## ${section}\n`, `## ${section}\n${line}\n`);
  repo.write(text);
  // Any write makes the fix-ups (Blocked <-> Ready, ticked boxes to Done) before sync runs.
  const added = cli(['add', 'Made by the CLI', '--json'], { cwd: repo.dir });
  assert.equal(added.code, 0, added.stderr);
  const synced = cli(['sync', '--json'], { cwd: repo.dir });
  assert.equal(synced.code, 0, synced.stderr);

  const created = new Map(readLog(repo).filter((e) => e.type === 'task.created').map((e: any) => [e.task, e.data]));
  for (const [id, { title }] of Object.entries(TYPED)) {
    assert.equal(created.get(id)?.title, title, `${id}: task.created with its title`);
  }
  assert.equal(created.get('GLD-10')!.prio, 'high');
  assert.deepEqual(created.get('GLD-10')!.needs, ['GLD-12']);
  assert.equal(created.get('GLD-10')!.status, 'blocked');
  assert.deepEqual(created.get('GLD-11')!.caps, ['db']);
  assert.equal(created.get('GLD-11')!.status, 'ready');
  assert.equal(created.get('GLD-13')!.status, 'done');
  assert.equal(created.get('GLD-19')!.status, 'done');
  const check = cli(['replay', '--check'], { cwd: repo.dir });
  assert.equal(check.code, 0, check.stdout + check.stderr);
  // `show` has the title from the log now; a second sync finds nothing to record.
  const again = cli(['sync', '--json'], { cwd: repo.dir });
  assert.deepEqual(again.json!.result.recorded, {});
  assert.equal(readLog(repo).filter((e) => e.type === 'task.created' && e.task === 'GLD-10').length, 1);
});

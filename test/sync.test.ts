// guild-fs sync: hand edits recorded in the log, after which replay --check passes.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { cli } from './helpers/cli.js';
import { readLog, tempRepo, type TempRepo } from './helpers/repo.js';

let repos: TempRepo[] = [];
afterEach(() => {
  for (const repo of repos) repo.remove();
  repos = [];
});

test('sync records every kind of hand edit, then replay --check passes and a second sync records nothing', () => {
  const repo = tempRepo();
  repos.push(repo);
  assert.equal(cli(['init', '--example'], { cwd: repo.dir }).code, 0);
  assert.equal(cli(['claim', 'GLD-3'], { cwd: repo.dir, agent: 'a' }).code, 0);
  const edited = repo
    .read()
    .replace('- [ ] GLD-6 Write the user guide prio:low\n', '') // deleted by hand
    .replace('## Ready\n', '## Ready\n- [ ] Typed without an ID\n- [ ] GLD-40 Typed with an ID\n')
    .replace('- [ ] GLD-5 Add a health check endpoint', '- [x] GLD-5 Add a health check endpoint') // ticked
    .replace('- [ ] GLD-3 Create the users table caps:db owner:a', '- [ ] GLD-3 Create the users table caps:db owner:b'); // handed over
  repo.write(edited);

  const before = cli(['replay', '--check', '--json'], { cwd: repo.dir });
  assert.equal(before.code, 6);
  const messages = (before.json!.error!.data.disagreements as { message: string }[]).map((d) => d.message).join('\n');
  for (const expected of ['a task without an ID', 'GLD-40 is in Ready on the board, but the log has no event', 'GLD-5 is ticked on the board', 'GLD-3 is held by b on the board, but by a in the log', 'GLD-6 is not on the board']) {
    assert.ok(messages.includes(expected), `${expected}\n--- in ---\n${messages}`);
  }

  const synced = cli(['sync', '--json'], { cwd: repo.dir });
  assert.equal(synced.code, 0, synced.stderr);
  assert.deepEqual(synced.json!.result.recorded, { 'task.created': 2, 'task.completed': 1, 'task.edited': 1, 'task.cancelled': 1 });
  const after = cli(['replay', '--check'], { cwd: repo.dir });
  assert.equal(after.code, 0, after.stdout);

  const types = readLog(repo).slice(-6).map((event) => event.type);
  assert.deepEqual(types.slice(-4), ['task.created', 'task.edited', 'task.cancelled', 'board.synced']);
  const again = cli(['sync', '--json'], { cwd: repo.dir });
  assert.deepEqual(again.json!.result.recorded, {});
  // The hand-typed item got an ID past every ID in use.
  assert.match(repo.read(), /- \[ \] GLD-41 Typed without an ID/);
});

test('a task retitled, re-prioritised or given other needs by hand is recorded as task.edited with what changed', () => {
  const repo = tempRepo();
  repos.push(repo);
  assert.equal(cli(['init', '--example'], { cwd: repo.dir }).code, 0);
  repo.write(repo.read().replace('- [ ] GLD-5 Add a health check endpoint', '- [ ] GLD-5 Add a /health endpoint prio:high needs:GLD-1'));
  const synced = cli(['sync', '--json'], { cwd: repo.dir });
  assert.equal(synced.code, 0, synced.stderr);
  assert.deepEqual(synced.json!.result.recorded, { 'task.edited': 1 });
  const edit = readLog(repo).find((event) => event.type === 'task.edited')!;
  assert.equal(edit.task, 'GLD-5');
  assert.deepEqual(
    { title: (edit.data as Record<string, unknown>).title, prio: (edit.data as Record<string, unknown>).prio, needs: (edit.data as Record<string, unknown>).needs },
    { title: 'Add a /health endpoint', prio: 'high', needs: ['GLD-1'] },
  );
  assert.deepEqual(cli(['sync', '--json'], { cwd: repo.dir }).json!.result.recorded, {});
  assert.equal(cli(['replay', '--check'], { cwd: repo.dir }).code, 0);
});

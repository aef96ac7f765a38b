// `conflicts`: predicted with git merge-tree, between active task branches and with main.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cli, type CliResult } from './helpers/cli.js';
import { boardWith, committedRepo, git } from './helpers/git-repo.js';

function ok(result: CliResult, what: string): any {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result.json?.result;
}

test('branches editing the same lines are found, clean pairs are not; nothing is checked out', (t) => {
  const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
  const repo = committedRepo(boardWith([], ['- [ ] GLD-1 Edit the top', '- [ ] GLD-2 Edit the top too', '- [ ] GLD-3 Edit the bottom', '- [ ] GLD-4 Nothing yet']), { 'app.txt': lines, 'other.txt': 'a\n' });
  t.after(() => repo.remove());
  const paths: Record<string, string> = {};
  for (const id of ['GLD-1', 'GLD-2', 'GLD-3', 'GLD-4']) paths[id] = ok(cli(['claim', id, '--json'], { cwd: repo.dir, agent: `agent-${id}` }), `claim ${id}`).worktree.path;
  const edit = (id: string, file: string, text: string): void => {
    writeFileSync(join(paths[id]!, file), text);
    git(paths[id]!, 'commit', '-q', '-am', `${id} edits ${file}`);
  };
  edit('GLD-1', 'app.txt', lines.replace('line 2\n', 'line two, by GLD-1\n'));
  edit('GLD-2', 'app.txt', lines.replace('line 2\n', 'line 2 as GLD-2 wants it\n'));
  edit('GLD-3', 'app.txt', lines.replace('line 29\n', 'line 29, by GLD-3\n'));
  // main moves on too: other.txt, which GLD-3 also edits.
  writeFileSync(join(repo.dir, 'other.txt'), 'main\n');
  git(repo.dir, 'commit', '-q', '-m', 'main edits other.txt', '--', 'other.txt');
  edit('GLD-3', 'other.txt', 'GLD-3\n');
  const before = git(repo.dir, 'status', '--porcelain');
  const heads = git(repo.dir, 'for-each-ref', '--format=%(refname) %(objectname)');
  const result = cli(['conflicts', '--json'], { cwd: repo.dir });
  assert.equal(result.code, 6, result.stderr);
  const report = result.json!.error!.data;
  const pairs = report.conflicts.map((c: any) => [c.tasks.join('+'), c.files.join(',')]).sort();
  assert.deepEqual(pairs, [
    ['GLD-1+GLD-2', 'app.txt'],
    ['GLD-3', 'other.txt'],
  ]);
  // Checkouts and refs are as they were: merge-tree only wrote objects.
  assert.equal(git(repo.dir, 'status', '--porcelain'), before);
  assert.equal(git(repo.dir, 'for-each-ref', '--format=%(refname) %(objectname)'), heads);
  const human = cli(['conflicts'], { cwd: repo.dir });
  assert.match(human.stdout, /CONFLICT guild\/GLD-1-edit-the-top <-> guild\/GLD-2-edit-the-top-too\n  app.txt/);
  // GLD-2 done but not merged: its merge is still to come, and still conflicts (issue 11, item 22).
  ok(cli(['complete', 'GLD-2'], { cwd: repo.dir, agent: 'agent-GLD-2' }), 'complete GLD-2');
  const done = cli(['conflicts', '--json'], { cwd: repo.dir });
  assert.deepEqual(done.json!.error!.data.conflicts.map((c: any) => c.tasks.join('+')).sort(), ['GLD-1+GLD-2', 'GLD-3']);
  // Once it is merged into main, the conflict is GLD-1's with main, and GLD-2 is off the list.
  git(repo.dir, 'commit', '-q', '-m', 'board', '--', 'ACTIVE_TASKS.md', '.guild/audit.jsonl');
  git(repo.dir, 'merge', '-q', '--no-ff', '-m', 'land GLD-2', 'guild/GLD-2-edit-the-top-too');
  const after = cli(['conflicts', '--json'], { cwd: repo.dir });
  assert.deepEqual(after.json!.error!.data.conflicts.map((c: any) => `${c.a}<->${c.b}`).sort(), ['main<->guild/GLD-1-edit-the-top', 'main<->guild/GLD-3-edit-the-bottom']);
});

test('no active branches: nothing to predict, exit 0', (t) => {
  const repo = committedRepo(boardWith([], ['- [ ] GLD-1 Idle']));
  t.after(() => repo.remove());
  const report = ok(cli(['conflicts', '--json'], { cwd: repo.dir }), 'conflicts');
  assert.deepEqual(report, { main: 'main', branches: [], pairs: 0, conflicts: [] });
});

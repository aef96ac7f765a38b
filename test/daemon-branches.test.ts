// The daemon and branches: a real `guild-fs watch` removes the worktree of a task that is Done
// once its branch is merged into main (and keeps an unmerged one), and says on stderr which
// active branches would conflict when they move.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './helpers/cli.js';
import { killAllDaemons, startDaemon, waitFor } from './helpers/daemon.js';
import { boardWith, committedRepo, git } from './helpers/git-repo.js';
import { readLog, type TempRepo } from './helpers/repo.js';

after(killAllDaemons);
const repos: TempRepo[] = [];
after(() => repos.forEach((repo) => repo.remove()));

function claimWorktree(repo: TempRepo, agent: string, id: string): string {
  const claimed = cli(['claim', id, '--json'], { cwd: repo.dir, agent });
  assert.equal(claimed.code, 0, claimed.stderr);
  return claimed.json!.result.worktree.path as string;
}

test('a Done task\'s worktree goes once its branch is merged into main; an unmerged one stays', async () => {
  const repo = committedRepo(boardWith([], ['- [ ] GLD-1 Merged work', '- [ ] GLD-2 Unmerged work']), { 'a.txt': 'a\n', 'b.txt': 'b\n' });
  repos.push(repo);
  const daemon = await startDaemon(repo);
  const merged = claimWorktree(repo, 'agent-a', 'GLD-1');
  const unmerged = claimWorktree(repo, 'agent-b', 'GLD-2');
  for (const [path, file, agent] of [[merged, 'a.txt', 'agent-a'], [unmerged, 'b.txt', 'agent-b']] as const) {
    writeFileSync(join(path, file), `${file} changed by ${agent}\n`);
    const done = cli(['complete', '--commit-all', `work on ${file}`], { cwd: path, agent });
    assert.equal(done.code, 0, done.stderr);
  }
  const branch = git(merged, 'rev-parse', '--abbrev-ref', 'HEAD');
  git(repo.dir, 'merge', '-q', '--no-edit', branch);

  // The message comes after the removal and its event: waiting for it waits for both.
  await waitFor('the daemon to remove the merged worktree', () => /worktrees: removed the merged worktree of GLD-1/.test(daemon.stderr()) || undefined, 15_000, () => daemon.stderr());
  assert.ok(!existsSync(merged), 'the merged worktree is gone');
  assert.ok(existsSync(unmerged), 'the unmerged worktree is kept');
  const removed = readLog(repo).filter((event) => event.type === 'worktree.removed');
  assert.deepEqual(removed.map((event) => event.task), ['GLD-1']);
  const check = cli(['replay', '--check'], { cwd: repo.dir });
  assert.equal(check.code, 0, check.stdout + check.stderr);
  await daemon.kill('SIGTERM');
});

test('two task branches changing the same lines: the daemon says they would conflict, in stderr and daemon.json', async () => {
  const repo = committedRepo(boardWith([], ['- [ ] GLD-1 One side', '- [ ] GLD-2 Other side']), { 'shared.txt': 'line one\nline two\n' });
  repos.push(repo);
  const daemon = await startDaemon(repo);
  for (const [id, agent, first] of [['GLD-1', 'agent-a', 'ours'], ['GLD-2', 'agent-b', 'theirs']] as const) {
    const path = claimWorktree(repo, agent, id);
    writeFileSync(join(path, 'shared.txt'), `${first}\nline two\n`);
    git(path, 'commit', '-qam', 'change the shared line');
  }
  await waitFor('the daemon to report the conflict', () => /conflicts: guild\/GLD-1-\S+ and guild\/GLD-2-\S+ would conflict in shared\.txt/.test(daemon.stderr()) || undefined, 15_000, () => daemon.stderr());
  const report = JSON.parse(readFileSync(join(repo.dir, '.git', 'guild', 'daemon.json'), 'utf8'));
  assert.deepEqual(report.conflicts.pairs.map((pair: { files: string[] }) => pair.files), [['shared.txt']]);
  await daemon.kill('SIGTERM');
});

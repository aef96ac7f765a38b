// Eight agents claiming at once, as real processes: each gets its own task, worktree and branch,
// and git's own records (worktree list, branches) agree with the board and the log.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliAsync, cli } from './helpers/cli.js';
import { boardWith, committedRepo, git } from './helpers/git-repo.js';
import { readLog, worktreePath } from './helpers/repo.js';

const AGENTS = 8;
const TRIALS = 3;

test(`${AGENTS} agents claiming in parallel each get their own worktree, ${TRIALS} trials`, { timeout: 120_000 }, async () => {
  for (let trial = 1; trial <= TRIALS; trial++) {
    const tasks = Array.from({ length: AGENTS + 2 }, (_, i) => `- [ ] GLD-${i + 1} Task number ${i + 1}`);
    const repo = committedRepo(boardWith([], tasks), { 'app.txt': 'x\n' });
    try {
      const results = await Promise.all(Array.from({ length: AGENTS }, (_, i) => cliAsync(['claim', '--json'], { cwd: repo.dir, agent: `agent-${i}` })));
      const where = `trial ${trial}`;
      for (const result of results) assert.equal(result.code, 0, `${where}: ${result.stderr}`);
      const claimed = results.map((result) => result.json!.result);
      const ids = claimed.map((c) => c.task.id);
      assert.equal(new Set(ids).size, AGENTS, `${where}: tasks ${ids}`);
      const paths = claimed.map((c) => c.worktree.path);
      assert.equal(new Set(paths).size, AGENTS);
      const listed = git(repo.dir, 'worktree', 'list', '--porcelain');
      for (const c of claimed) {
        assert.equal(c.worktree.path, worktreePath(repo, c.task.id));
        assert.equal(existsSync(join(c.worktree.path, 'app.txt')), true);
        assert.equal(git(c.worktree.path, 'rev-parse', '--abbrev-ref', 'HEAD'), c.worktree.branch);
        assert.match(listed, new RegExp(`branch refs/heads/${c.worktree.branch}(\\n|$)`));
        assert.match(repo.read(), new RegExp(`${c.task.id} .* owner:${c.task.owner} branch:${c.worktree.branch}$`, 'm'));
      }
      const created = readLog(repo).filter((event) => event.type === 'worktree.created');
      assert.deepEqual(created.map((event) => event.task).sort(), [...ids].sort());
      assert.equal(cli(['replay', '--check'], { cwd: repo.dir }).code, 0);
      assert.equal(cli(['doctor'], { cwd: repo.dir }).code, 0);
    } finally {
      repo.remove();
    }
  }
});

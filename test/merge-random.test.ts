// Random work on two branches, then `git merge`: whatever each side did (claims, completions,
// failures, hand edits recorded by sync, new tasks on one side), the merge is clean, every
// event is in the merged log once, and the merged board replays: replay --check passes, or
// reports only the double claims of tasks both branches claimed.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { mulberry32 } from '../bench/generate-board.js';
import { cli } from './helpers/cli.js';
import { GIT_ENV, git as gitIn } from './helpers/git-repo.js';
import { readLogLines, tempRepo, type TempRepo } from './helpers/repo.js';

const TRIALS = 10;
const git = (repo: TempRepo, ...args: string[]): string => gitIn(repo.dir, ...args);

const repos: TempRepo[] = [];
after(() => repos.forEach((repo) => repo.remove()));

for (let trial = 1; trial <= TRIALS; trial++) {
  test(`trial ${trial}: random work on two branches merges cleanly and replays`, () => {
    // Seeded, so that a failing trial can be run again.
    const rand = mulberry32(trial * 7919);
    const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)]!;
    const repo = tempRepo();
    repos.push(repo);
    const run = (agent: string, ...args: string[]): number => cli(args, { cwd: repo.dir, agent }).code;
    assert.equal(run('human', 'init', '--example'), 0);
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'init');
    const steps: string[] = [];

    for (const [branch, agent] of [['a', 'agent-a'], ['b', 'agent-b']] as const) {
      git(repo, 'checkout', '-q', '-b', branch, 'main');
      for (let i = 0; i < 3; i++) {
        const task = pick(['GLD-2', 'GLD-3', 'GLD-5']);
        const action = pick(['claim', 'complete', 'fail', 'retitle', 'tick', ...(branch === 'a' ? ['add'] : [])]);
        steps.push(`${branch}: ${action} ${task}`);
        if (action === 'add') run(agent, 'add', `Task added on ${branch}`);
        else if (action === 'retitle' || action === 'tick') {
          const board = repo.read();
          const line = new RegExp(`^- \\[ \\] ${task} ([^\\n]*)$`, 'm');
          if (!line.test(board)) continue;
          repo.write(action === 'tick' ? board.replace(line, `- [x] ${task} $1`) : board.replace(line, `- [ ] ${task} Renamed on ${branch} $1`));
          assert.equal(run('human', 'sync'), 0, steps.join('; '));
        } else {
          // Not every action fits the task's state (completing an unclaimed task): those exit non-zero and change nothing.
          run(agent, 'claim', task, '--no-worktree');
          if (action === 'complete') run(agent, 'complete', task);
          if (action === 'fail') run(agent, 'fail', task, '--reason', 'random');
        }
      }
      git(repo, 'commit', '-qam', branch, '--allow-empty');
      git(repo, 'checkout', '-q', 'main');
      rmSync(join(repo.dir, '.git', 'guild', 'locks'), { recursive: true, force: true });
    }

    for (const branch of ['a', 'b']) {
      const merged = spawnSync('git', ['merge', '--no-edit', branch], { cwd: repo.dir, env: GIT_ENV, encoding: 'utf8' });
      assert.equal(merged.status, 0, `merge ${branch} after ${steps.join('; ')}:\n${merged.stdout}${merged.stderr}`);
    }
    const ids = readLogLines(repo).map((line) => line.event?.id);
    assert.equal(new Set(ids).size, ids.length, 'each event once');
    const check = cli(['replay', '--check', '--json'], { cwd: repo.dir });
    // Both branches claiming one task (the locks are gone between them, as between two clones) is
    // a double claim, which replay --check reports (SPEC section 7): the only disagreement allowed.
    const disagreements: { task: string; message: string }[] = check.json?.error?.data?.disagreements ?? [];
    const doubles = disagreements.filter((d) => d.message.includes('was claimed twice'));
    assert.ok(check.code === 0 || (check.code === 6 && doubles.length === disagreements.length), `replay --check after ${steps.join('; ')}:\n${check.stdout}${check.stderr}`);
    for (const { task } of doubles) assert.ok(steps.some((step) => step.startsWith(`a: `) && step.endsWith(` ${task}`)) && steps.some((step) => step.startsWith(`b: `) && step.endsWith(` ${task}`)), `a double claim of ${task} that the steps do not explain: ${steps.join('; ')}`);
  });
}

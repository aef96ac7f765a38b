// The merge drivers, through real branches and `git merge`: init registers them, two branches
// that changed different tasks merge cleanly, a task changed on both sides takes the side whose
// last event is later (and git's output says so), free text merges as git would, the log is the
// union of both sides without duplicates, and replay --check passes on every clean result.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, type ListedTask } from './helpers/cli.js';
import { GIT_ENV, git as gitIn } from './helpers/git-repo.js';
import { readLogLines, tempRepo, type TempRepo } from './helpers/repo.js';

const git = (repo: TempRepo, ...args: string[]): string => gitIn(repo.dir, ...args);

/** `git merge`, which may stop on a conflict: its exit code and everything it printed. */
function merge(repo: TempRepo, branch: string): { code: number; output: string } {
  const run = spawnSync('git', ['merge', '--no-edit', branch], { cwd: repo.dir, env: GIT_ENV, encoding: 'utf8' });
  return { code: run.status ?? -1, output: `${run.stdout}${run.stderr}` };
}

function guild(repo: TempRepo, agent: string, ...args: string[]): void {
  const run = cli(args, { cwd: repo.dir, agent });
  assert.equal(run.code, 0, `guild-fs ${args.join(' ')}: ${run.stderr}`);
}

function tasks(repo: TempRepo): Map<string, ListedTask> {
  const run = cli(['list', '--json'], { cwd: repo.dir });
  return new Map((run.json!.result.tasks as ListedTask[]).map((task) => [task.id, task]));
}

function assertReplayAgrees(repo: TempRepo): void {
  const check = cli(['replay', '--check'], { cwd: repo.dir });
  assert.equal(check.code, 0, `replay --check after the merge:\n${check.stdout}${check.stderr}`);
}

function assertNoDuplicateEvents(repo: TempRepo): void {
  const ids = readLogLines(repo).map((line) => line.event?.id);
  assert.equal(new Set(ids).size, ids.length, 'every event is in the merged log once');
  assert.ok(!repo.read('.guild/audit.jsonl').includes('<<<<<<<'), 'no conflict markers in the log');
}

/** A repo with the example board committed on main, drivers registered by init. */
function exampleRepo(): TempRepo {
  const repo = tempRepo();
  guild(repo, 'human', 'init', '--example');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', 'init');
  return repo;
}

/** Runs `work` on a new branch from main and commits it. Locks live in .git, so they are cleared after. */
function onBranch(repo: TempRepo, branch: string, work: () => void): void {
  git(repo, 'checkout', '-q', '-b', branch, 'main');
  work();
  git(repo, 'commit', '-qam', branch);
  git(repo, 'checkout', '-q', 'main');
  // Each branch stands for another clone: its claims' locks are not this clone's.
  rmSync(join(repo.dir, '.git', 'guild', 'locks'), { recursive: true, force: true });
}

describe('init registers the merge drivers', () => {
  const repos: TempRepo[] = [];
  after(() => repos.forEach((repo) => repo.remove()));

  test('in .gitattributes and .git/config; a second run changes nothing; the old union line is replaced', () => {
    const repo = tempRepo();
    repos.push(repo);
    repo.write('*.png binary\n.guild/audit.jsonl merge=union\n', '.gitattributes');
    const first = cli(['init', '--json'], { cwd: repo.dir });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.json!.result.gitattributes, 'updated');
    assert.deepEqual(
      first.json!.result.mergeDrivers.map((driver: { name: string; state: string }) => `${driver.name}:${driver.state}`),
      ['guild-board:added', 'guild-log:added'],
    );
    assert.equal(repo.read('.gitattributes'), '*.png binary\n/ACTIVE_TASKS.md merge=guild-board\n.guild/audit.jsonl merge=guild-log\n');
    assert.match(git(repo, 'config', '--get', 'merge.guild-board.driver'), /merge-driver board %O %A %B %P$/);
    assert.match(git(repo, 'config', '--get', 'merge.guild-log.driver'), /merge-driver log %O %A %B %P$/);
    assert.equal(git(repo, 'check-attr', 'merge', 'ACTIVE_TASKS.md'), 'ACTIVE_TASKS.md: merge: guild-board');

    const again = cli(['init', '--json'], { cwd: repo.dir });
    assert.equal(again.json!.result.gitattributes, 'present');
    assert.deepEqual(again.json!.result.mergeDrivers.map((driver: { state: string }) => driver.state), ['present', 'present']);
    assert.equal(repo.read('.gitattributes').split('\n').length, 4, 'no line added twice');
  });
});

describe('git merge of two branches that both changed the board and the log', () => {
  const repos: TempRepo[] = [];
  after(() => repos.forEach((repo) => repo.remove()));

  test('different tasks on each side, free text on one: a clean merge with every change', () => {
    const repo = exampleRepo();
    repos.push(repo);
    onBranch(repo, 'a', () => {
      guild(repo, 'agent-a', 'claim', 'GLD-3', '--no-worktree');
      guild(repo, 'agent-a', 'complete', 'GLD-3');
    });
    onBranch(repo, 'b', () => {
      guild(repo, 'agent-b', 'claim', 'GLD-2', '--no-worktree');
      guild(repo, 'agent-b', 'add', 'Write release notes', '--prio', 'low');
      repo.write(repo.read().replace('# Active Tasks\n', '# Active Tasks\n\nTeam notes: ship on Friday.\n'));
    });
    assert.equal(merge(repo, 'a').code, 0);
    const merged = merge(repo, 'b');
    assert.equal(merged.code, 0, merged.output);

    const board = tasks(repo);
    assert.equal(board.get('GLD-3')!.status, 'done');
    assert.equal(board.get('GLD-2')!.status, 'in-progress');
    assert.equal(board.get('GLD-2')!.owner, 'agent-b');
    assert.equal(board.get('GLD-7')!.status, 'ready', 'the task added on b is there');
    assert.equal(board.get('GLD-4')!.status, 'blocked');
    assert.match(repo.read(), /Team notes: ship on Friday\./);
    assert.ok(!repo.read().includes('<<<<<<<'));
    assertNoDuplicateEvents(repo);
    assertReplayAgrees(repo);
  });

  for (const later of ['theirs', 'ours'] as const) {
    test(`the same task changed on both sides: the later event wins (${later}), and the merge says so`, async () => {
      const repo = exampleRepo();
      repos.push(repo);
      const first = later === 'theirs' ? 'a' : 'b';
      const second = later === 'theirs' ? 'b' : 'a';
      const work: Record<string, () => void> = {
        a: () => {
          guild(repo, 'agent-a', 'claim', 'GLD-5', '--no-worktree');
          guild(repo, 'agent-a', 'complete', 'GLD-5');
        },
        b: () => {
          guild(repo, 'agent-b', 'claim', 'GLD-5', '--no-worktree');
          guild(repo, 'agent-b', 'fail', 'GLD-5', '--reason', 'tests fail');
        },
      };
      onBranch(repo, first, work[first]!);
      await new Promise((resolve) => setTimeout(resolve, 5));
      onBranch(repo, second, work[second]!);
      // Merge a first, then b: with `later` = theirs, b (merged second) holds the later events.
      assert.equal(merge(repo, 'a').code, 0);
      const merged = merge(repo, 'b');
      assert.equal(merged.code, 0, merged.output);
      const winner = later === 'theirs' ? 'task.failed by agent-b' : 'task.completed by agent-a';
      assert.match(merged.output, new RegExp(`GLD-5 changed on both branches; took ${later}, whose last event is later \\(${winner}`));
      const task = tasks(repo).get('GLD-5')!;
      if (later === 'theirs') assert.deepEqual([task.status, task.tries], ['ready', 1]);
      else assert.deepEqual([task.status, task.owner], ['done', 'agent-a']);
      assertNoDuplicateEvents(repo);
      assertReplayAgrees(repo);
    });
  }

  test('free text changed on both sides in the same place: a conflict, as git would mark it; tasks still merged', () => {
    const repo = exampleRepo();
    repos.push(repo);
    const intro = 'done. guild-fs keeps every line it does not need to change exactly as you wrote it.';
    onBranch(repo, 'a', () => {
      guild(repo, 'agent-a', 'claim', 'GLD-3', '--no-worktree');
      repo.write(repo.read().replace(intro, 'Our own words.'));
    });
    onBranch(repo, 'b', () => {
      guild(repo, 'agent-b', 'claim', 'GLD-5', '--no-worktree');
      repo.write(repo.read().replace(intro, 'Their own words.'));
    });
    assert.equal(merge(repo, 'a').code, 0);
    const merged = merge(repo, 'b');
    assert.equal(merged.code, 1, 'git stops for the conflict');
    assert.match(merged.output, /CONFLICT \(content\): Merge conflict in ACTIVE_TASKS\.md/);
    const text = repo.read();
    assert.match(text, /<<<<<<< ours\nOur own words\.\n=======\nTheir own words\.\n>>>>>>> theirs\n/);
    const inProgress = /## In Progress\n((?:- .*\n)*)/.exec(text)![1]!;
    assert.match(inProgress, /^- \[ \] GLD-3 .*owner:agent-a$/m, 'both claims are in, outside the conflict');
    assert.match(inProgress, /^- \[ \] GLD-5 .*owner:agent-b$/m);
    assertNoDuplicateEvents(repo);
    const doctor = cli(['doctor', '--json'], { cwd: repo.dir });
    assert.equal(doctor.code, 6, 'doctor names the markers left in the board');
    const mergeCheck = (doctor.json!.error!.data.checks as { name: string; problems: { message: string }[] }[]).find((check) => check.name === 'merge')!;
    assert.match(mergeCheck.problems[0]!.message, /^ACTIVE_TASKS\.md:\d+: a merge conflict marker/);
    assert.equal(mergeCheck.problems.length, 3);

    // Resolving the free text by hand leaves a board that replays.
    repo.write(text.replace(/<<<<<<< ours\n(.*\n)=======\n.*\n>>>>>>> theirs\n/, '$1'));
    assertReplayAgrees(repo);
  });

  test('a task deleted on one side and left alone on the other is deleted; edited on the other, the later event decides', () => {
    const repo = exampleRepo();
    repos.push(repo);
    onBranch(repo, 'a', () => {
      repo.write(repo.read().replace(/- \[ \] GLD-6 .*\n/, ''));
      guild(repo, 'human', 'sync');
    });
    onBranch(repo, 'b', () => {
      guild(repo, 'agent-b', 'claim', 'GLD-3', '--no-worktree');
    });
    assert.equal(merge(repo, 'a').code, 0);
    const merged = merge(repo, 'b');
    assert.equal(merged.code, 0, merged.output);
    const board = tasks(repo);
    assert.equal(board.has('GLD-6'), false);
    assert.equal(board.get('GLD-3')!.status, 'in-progress');
    assertReplayAgrees(repo);
  });

  test('two different tasks given the same ID on two branches: a conflict that names it, neither task lost', () => {
    const repo = exampleRepo();
    repos.push(repo);
    onBranch(repo, 'a', () => guild(repo, 'agent-a', 'add', 'Ours: cache the sessions'));
    onBranch(repo, 'b', () => guild(repo, 'agent-b', 'add', 'Theirs: rate-limit the API'));
    assert.equal(merge(repo, 'a').code, 0);
    const merged = merge(repo, 'b');
    assert.notEqual(merged.code, 0);
    assert.match(merged.output, /GLD-7 was added on both branches as different tasks/);
    const text = repo.read();
    assert.match(text, /GLD-7 Ours: cache the sessions/);
    // Theirs is left in its own section (Ready), without the ID, for sync to give it a new one.
    assert.match(text, /<<<<<<< ours\n=======\n- \[ \] Theirs: rate-limit the API\n>>>>>>> theirs \(guild-fs: another task given GLD-7/);
    assertNoDuplicateEvents(repo);
  });

  test('a rebase goes through the drivers too', () => {
    const repo = exampleRepo();
    repos.push(repo);
    onBranch(repo, 'a', () => guild(repo, 'agent-a', 'claim', 'GLD-3', '--no-worktree'));
    onBranch(repo, 'b', () => guild(repo, 'agent-b', 'claim', 'GLD-5', '--no-worktree'));
    assert.equal(merge(repo, 'a').code, 0);
    git(repo, 'checkout', '-q', 'b');
    const rebase = spawnSync('git', ['rebase', 'main'], { cwd: repo.dir, env: GIT_ENV, encoding: 'utf8' });
    assert.equal(rebase.status, 0, `${rebase.stdout}${rebase.stderr}`);
    const board = tasks(repo);
    assert.equal(board.get('GLD-3')!.owner, 'agent-a');
    assert.equal(board.get('GLD-5')!.owner, 'agent-b');
    assertNoDuplicateEvents(repo);
    assertReplayAgrees(repo);
  });
});

describe('two clones and a shared remote', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  test('a pull merges the other clone\'s claims once each clone has run init', () => {
    const origin = exampleRepo();
    dirs.push(origin.dir);
    const clone = (name: string): TempRepo => {
      const dir = mkdtempSync(join(tmpdir(), `guild-fs-clone-${name}-`));
      dirs.push(dir);
      execFileSync('git', ['clone', '-q', origin.dir, dir], { env: GIT_ENV });
      const repo = { ...origin, dir, board: join(dir, 'ACTIVE_TASKS.md'), log: join(dir, '.guild', 'audit.jsonl'), read: (file = 'ACTIVE_TASKS.md') => readFileSync(join(dir, file), 'utf8'), write: (text: string, file = 'ACTIVE_TASKS.md') => writeFileSync(join(dir, file), text) };
      guild(repo, 'human', 'init');
      return repo;
    };
    // Before init, a fresh clone has the .gitattributes lines but not the driver commands: doctor says so.
    const bare = mkdtempSync(join(tmpdir(), 'guild-fs-clone-fresh-'));
    dirs.push(bare);
    execFileSync('git', ['clone', '-q', origin.dir, bare], { env: GIT_ENV });
    const fresh = cli(['doctor', '--json'], { cwd: bare });
    assert.equal(fresh.code, 0, 'a warning, not a failure');
    const warnings = (fresh.json!.result.checks as { name: string; warnings: string[] }[]).find((check) => check.name === 'merge')!.warnings;
    assert.match(warnings[0]!, /lacks the merge drivers guild-board, guild-log: run `guild-fs init` here/);

    const a = clone('a');
    const b = clone('b');
    guild(a, 'agent-a', 'claim', 'GLD-3', '--no-worktree');
    git(a, 'commit', '-qam', 'a claims GLD-3');
    git(a, 'push', '-q', 'origin', 'HEAD:refs/heads/work-a');
    guild(b, 'agent-b', 'claim', 'GLD-2', '--no-worktree');
    guild(b, 'agent-b', 'complete', 'GLD-2');
    git(b, 'commit', '-qam', 'b finishes GLD-2');
    const pull = spawnSync('git', ['pull', '--no-rebase', '--no-edit', 'origin', 'work-a'], { cwd: b.dir, env: GIT_ENV, encoding: 'utf8' });
    assert.equal(pull.status, 0, `${pull.stdout}${pull.stderr}`);
    const board = tasks(b);
    assert.equal(board.get('GLD-3')!.owner, 'agent-a');
    assert.equal(board.get('GLD-2')!.status, 'done');
    assertNoDuplicateEvents(b);
    assertReplayAgrees(b);
  });
});

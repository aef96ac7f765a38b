// Per-task worktrees, end to end: real repositories, the built CLI as real processes.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cli, type CliResult } from './helpers/cli.js';
import { boardWith, committedRepo, git } from './helpers/git-repo.js';
import { readLog, tempRepo, type TempRepo, worktreePath } from './helpers/repo.js';

function ok(result: CliResult, what: string): any {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result.json?.result;
}

const wtPath = (repo: TempRepo, id: string): string => worktreePath(repo, id);

function setup(t: { after(fn: () => void): void }, front: string[] = [], ready = ['- [ ] GLD-1 Add the login form', '- [ ] GLD-2 Create the users table']): TempRepo {
  const repo = committedRepo(boardWith(front, ready), { 'app.txt': 'one\ntwo\nthree\n' });
  t.after(() => repo.remove());
  return repo;
}

describe('claim makes the task a worktree', () => {
  test('on branch guild/<ID>-<slug>, from main, recorded on the board and in the log', (t) => {
    const repo = setup(t);
    const main = git(repo.dir, 'rev-parse', 'main');
    const claimed = ok(cli(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'a' }), 'claim');
    const path = wtPath(repo, 'GLD-1');
    assert.equal(claimed.worktree.path, path);
    assert.equal(claimed.worktree.branch, 'guild/GLD-1-add-the-login-form');
    assert.equal(claimed.worktree.created, true);
    assert.equal(claimed.task.branch, 'guild/GLD-1-add-the-login-form');
    assert.equal(git(path, 'rev-parse', '--abbrev-ref', 'HEAD'), 'guild/GLD-1-add-the-login-form');
    assert.equal(git(path, 'rev-parse', 'HEAD'), main);
    assert.match(repo.read(), /GLD-1 Add the login form owner:a branch:guild\/GLD-1-add-the-login-form/);
    const created = readLog(repo).find((event) => event.type === 'worktree.created') as any;
    assert.deepEqual(created.data, { branch: 'guild/GLD-1-add-the-login-form', base: main, path: `../${basename(repo.dir)}.worktrees/GLD-1` });
    // The main worktree does not see it, and the board and log still agree.
    assert.equal(git(repo.dir, 'status', '--porcelain', '--untracked-files=all'), ' M .guild/audit.jsonl\n M ACTIVE_TASKS.md');
    ok(cli(['replay', '--check', '--json'], { cwd: repo.dir }), 'replay --check');
    ok(cli(['doctor', '--json'], { cwd: repo.dir }), 'doctor');
    // Claiming again is idempotent: the same worktree, nothing new logged.
    const again = ok(cli(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'a' }), 'claim again');
    assert.equal(again.alreadyHeld, true);
    assert.equal(again.worktree.created, false);
    assert.equal(readLog(repo).filter((event) => event.type === 'worktree.created').length, 1);
  });

  test('--no-worktree and `worktrees: false` make none', (t) => {
    const repo = setup(t);
    const claimed = ok(cli(['claim', 'GLD-1', '--no-worktree', '--json'], { cwd: repo.dir, agent: 'a' }), 'claim');
    assert.equal(claimed.worktree, null);
    assert.equal(existsSync(wtPath(repo, 'GLD-1')), false);
    const off = setup(t, ['worktrees: false']);
    assert.equal(ok(cli(['claim', '--json'], { cwd: off.dir, agent: 'a' }), 'claim').worktree, null);
    assert.equal(existsSync(worktreePath(off, '')), false);
  });

  test('in a repository without a commit the claim stands, without a worktree, and says why', (t) => {
    const repo = tempRepo(boardWith([], ['- [ ] GLD-1 First']));
    t.after(() => repo.remove());
    const result = cli(['claim', '--json'], { cwd: repo.dir, agent: 'a' });
    assert.equal(ok(result, 'claim').worktree, null);
    assert.match(result.stderr, /no worktree for GLD-1: the repository has no commit yet/);
    assert.match(repo.read(), /GLD-1 First owner:a$/m);
  });

  test('a title with quotes, $(), ;, spaces and Unicode makes a plain branch name, and nothing runs', (t) => {
    const title = `Fix "it" $(touch pwned) ; rm -rf x && \`touch pwned2\` Ünïcødé 日本 'q'`;
    const repo = setup(t, [], [`- [ ] GLD-1 ${title}`]);
    const claimed = ok(cli(['claim', '--json'], { cwd: repo.dir, agent: 'a' }), 'claim');
    assert.equal(claimed.worktree.branch, 'guild/GLD-1-fix-it-touch-pwned-rm-rf-x-touch-pwned2');
    assert.match(claimed.worktree.branch, /^guild\/GLD-1-[a-z0-9-]{1,40}$/);
    assert.equal(git(repo.dir, 'check-ref-format', '--branch', claimed.worktree.branch), claimed.worktree.branch);
    for (const dir of [repo.dir, wtPath(repo, 'GLD-1'), process.cwd()]) {
      assert.equal(existsSync(join(dir, 'pwned')) || existsSync(join(dir, 'pwned2')), false, `something ran in ${dir}`);
    }
    const blank = setup(t, [], ['- [ ] GLD-7 日本語のタスク']);
    assert.equal(ok(cli(['claim', '--json'], { cwd: blank.dir, agent: 'a' }), 'claim').worktree.branch, 'guild/GLD-7-task');
  });
});

describe('complete checks the work', () => {
  test('refuses uncommitted changes (exit 2, naming them); --commit-all commits them first', (t) => {
    const repo = setup(t);
    ok(cli(['claim', 'GLD-1'], { cwd: repo.dir, agent: 'a' }), 'claim');
    const path = wtPath(repo, 'GLD-1');
    writeFileSync(join(path, 'app.txt'), 'ONE\ntwo\nthree\n');
    writeFileSync(join(path, 'new file.txt'), 'new\n');
    const refused = cli(['complete', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'a' });
    assert.equal(refused.code, 2);
    assert.equal(refused.json?.error?.code, 'EDIRTY');
    assert.deepEqual(refused.json?.error?.data.files.map((f: any) => f.path).sort(), ['app.txt', 'new file.txt']);
    assert.match(repo.read(), /## In Progress\n- \[ \] GLD-1/);
    const done = ok(cli(['complete', 'GLD-1', '--commit-all', 'login form', '--json'], { cwd: repo.dir, agent: 'a' }), 'complete --commit-all');
    assert.equal(git(path, 'log', '-1', '--format=%s'), 'login form');
    assert.equal(git(path, 'status', '--porcelain'), '');
    assert.equal(done.work.head, git(path, 'rev-parse', 'HEAD'));
    const completed = readLog(repo).find((event) => event.type === 'task.completed') as any;
    assert.deepEqual(completed.data, { to: 'done', branch: 'guild/GLD-1-add-the-login-form', head: done.work.head });
  });

  test('a failing `verify` refuses completion (exit 6); run as argv, never through a shell', (t) => {
    // YAML single quotes ('' is one '); inside, the command line's own double quotes.
    const repo = setup(t, [`verify: 'node -e "process.exit(require(''fs'').existsSync(''ok.txt'') ? 0 : 3)" ; touch pwned'`]);
    ok(cli(['trust'], { cwd: repo.dir }), 'trust'); // a clone runs the board's commands only once trusted
    ok(cli(['claim', 'GLD-1'], { cwd: repo.dir, agent: 'a' }), 'claim');
    const path = wtPath(repo, 'GLD-1');
    const refused = cli(['complete', '--json'], { cwd: path, agent: 'a' });
    assert.equal(refused.code, 6, refused.stderr);
    assert.equal(refused.json?.error?.code, 'EVERIFY');
    assert.equal(refused.json?.error?.data.exitCode, 3);
    assert.match(repo.read(), /## In Progress\n- \[ \] GLD-1/);
    writeFileSync(join(path, 'ok.txt'), 'fine\n');
    git(path, 'add', 'ok.txt');
    git(path, 'commit', '-q', '-m', 'ok');
    ok(cli(['complete'], { cwd: path, agent: 'a' }), 'complete after the fix');
    assert.match(repo.read(), /## Done\n- \[x\] GLD-1/);
    // `; touch pwned` reached node as three more arguments: no shell ever saw it.
    assert.equal(existsSync(join(path, 'pwned')) || existsSync(join(repo.dir, 'pwned')), false);
  });
});

describe('commands inside a worktree', () => {
  test('find the main board and infer the task from the branch', (t) => {
    const repo = setup(t);
    ok(cli(['claim', 'GLD-1'], { cwd: repo.dir, agent: 'a' }), 'claim 1');
    ok(cli(['claim', 'GLD-2'], { cwd: repo.dir, agent: 'a' }), 'claim 2');
    const path = wtPath(repo, 'GLD-2');
    // The agent holds two tasks: only the worktree says which one is meant.
    assert.equal(ok(cli(['heartbeat', '--json'], { cwd: join(path), agent: 'a' }), 'heartbeat').task, 'GLD-2');
    assert.equal(ok(cli(['list', '--json'], { cwd: path }), 'list').tasks.length, 2);
    ok(cli(['fail', '--reason', 'stuck', '--json'], { cwd: path, agent: 'a' }), 'fail');
    assert.match(repo.read(), /## Ready\n- \[ \] GLD-2 Create the users table branch:guild\/GLD-2-create-the-users-table tries:1/);
    ok(cli(['complete', '--json'], { cwd: wtPath(repo, 'GLD-1'), agent: 'a' }), 'complete');
    assert.match(repo.read(), /## Done\n- \[x\] GLD-1/);
    assert.equal(existsSync(join(path, 'ACTIVE_TASKS.md')), true, 'the worktree has its own checkout');
    ok(cli(['replay', '--check'], { cwd: path }), 'replay --check from the worktree');
  });

  test('a re-claim after a failure reuses the branch and its commits', (t) => {
    const repo = setup(t, ['retry_base: 1ms']);
    ok(cli(['claim', 'GLD-1'], { cwd: repo.dir, agent: 'a' }), 'claim');
    const path = wtPath(repo, 'GLD-1');
    writeFileSync(join(path, 'work.txt'), 'half done\n');
    git(path, 'add', 'work.txt');
    git(path, 'commit', '-q', '-m', 'half');
    const head = git(path, 'rev-parse', 'HEAD');
    ok(cli(['fail', 'GLD-1', '--reason', 'stuck'], { cwd: repo.dir, agent: 'a' }), 'fail');
    // Even with its worktree gone, the branch is found again and checked out, not re-made.
    git(repo.dir, 'worktree', 'remove', path);
    const again = ok(cli(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'b' }), 're-claim');
    assert.equal(again.worktree.reusedBranch, true);
    assert.equal(again.worktree.branch, 'guild/GLD-1-add-the-login-form');
    assert.equal(git(again.worktree.path, 'rev-parse', 'HEAD'), head);
    assert.equal(readFileSync(join(again.worktree.path, 'work.txt'), 'utf8'), 'half done\n');
    ok(cli(['doctor'], { cwd: repo.dir }), 'doctor');
  });
});

describe('worktree prune never loses work', () => {
  test('removes a Done, merged, clean worktree; keeps unmerged, dirty and unfinished ones', (t) => {
    const repo = setup(t, [], ['- [ ] GLD-1 Merged', '- [ ] GLD-2 Unmerged', '- [ ] GLD-3 Dirty', '- [ ] GLD-4 Unfinished']);
    for (const id of ['GLD-1', 'GLD-2', 'GLD-3', 'GLD-4']) ok(cli(['claim', id], { cwd: repo.dir, agent: 'a' }), `claim ${id}`);
    for (const id of ['GLD-1', 'GLD-2', 'GLD-3']) {
      writeFileSync(join(wtPath(repo, id), `${id}.txt`), `${id}\n`);
      ok(cli(['complete', id, '--commit-all', `work of ${id}`], { cwd: repo.dir, agent: 'a' }), `complete ${id}`);
    }
    git(repo.dir, 'merge', '-q', '--no-edit', 'guild/GLD-1-merged');
    git(repo.dir, 'merge', '-q', '--no-edit', 'guild/GLD-3-dirty');
    writeFileSync(join(wtPath(repo, 'GLD-3'), 'after.txt'), 'written after complete\n');
    const listed = ok(cli(['worktree', 'list', '--json'], { cwd: repo.dir }), 'list').worktrees;
    assert.deepEqual(
      listed.map((w: any) => [w.task, w.status, w.ahead, w.dirty, w.merged]),
      [
        ['GLD-1', 'done', 0, 0, true],
        ['GLD-2', 'done', 1, 0, false],
        ['GLD-3', 'done', 0, 1, true],
        ['GLD-4', 'in-progress', 0, 0, true],
      ],
    );
    const pruned = ok(cli(['worktree', 'prune', '--json'], { cwd: repo.dir }), 'prune');
    assert.deepEqual(pruned.removed.map((r: any) => r.task), ['GLD-1']);
    assert.deepEqual(pruned.kept.map((k: any) => k.task), ['GLD-2', 'GLD-3', 'GLD-4']);
    assert.equal(existsSync(wtPath(repo, 'GLD-1')), false);
    assert.equal(git(repo.dir, 'branch', '--list', 'guild/GLD-1-*'), '');
    assert.equal(readFileSync(join(wtPath(repo, 'GLD-3'), 'after.txt'), 'utf8'), 'written after complete\n');
    assert.equal(git(repo.dir, 'rev-parse', 'guild/GLD-2-unmerged') !== '', true);
    const removed = readLog(repo).filter((event) => event.type === 'worktree.removed') as any[];
    assert.deepEqual(removed.map((event) => [event.task, event.data.branch]), [['GLD-1', 'guild/GLD-1-merged']]);
    ok(cli(['replay', '--check'], { cwd: repo.dir }), 'replay --check');
    const doctor = cli(['doctor', '--json'], { cwd: repo.dir });
    const section = doctor.json?.result?.checks?.find((c: any) => c.name === 'worktrees') ?? doctor.json?.error?.data?.checks?.find((c: any) => c.name === 'worktrees');
    assert.equal(section.ok, true);
    assert.equal(section.warnings.length, 2, JSON.stringify(section.warnings));
  });

  test('doctor names a task In Progress whose worktree is gone', (t) => {
    const repo = setup(t);
    ok(cli(['claim', 'GLD-1'], { cwd: repo.dir, agent: 'a' }), 'claim');
    git(repo.dir, 'worktree', 'remove', wtPath(repo, 'GLD-1'));
    const doctor = cli(['doctor', '--json'], { cwd: repo.dir });
    assert.equal(doctor.code, 6);
    assert.match(JSON.stringify(doctor.json?.error?.data), /GLD-1: In Progress on branch guild\/GLD-1-add-the-login-form, but it has no worktree/);
    ok(cli(['claim', 'GLD-1'], { cwd: repo.dir, agent: 'a' }), 'claim again makes it again');
    ok(cli(['doctor'], { cwd: repo.dir }), 'doctor after');
  });
});

describe('worktree setup and auto-commit', () => {
  test('worktree_copy copies ignored files in; worktree_setup runs once, without a shell', (t) => {
    const repo = setup(t, ['worktree_copy: [".env", "config/local.json", "missing.txt"]', `worktree_setup: node -e "require('fs').writeFileSync('setup-ran', process.argv.slice(1).join(','))" "$(whoami)" ';'`]);
    ok(cli(['trust'], { cwd: repo.dir }), 'trust');
    writeFileSync(join(repo.dir, '.gitignore'), '.env\nconfig/\nsetup-ran\n');
    git(repo.dir, 'add', '.gitignore');
    git(repo.dir, 'commit', '-q', '-m', 'ignore');
    writeFileSync(join(repo.dir, '.env'), 'SECRET=1\n');
    git(repo.dir, 'init', '-q', join(repo.dir, 'config')); // any directory: here an ignored one
    writeFileSync(join(repo.dir, 'config', 'local.json'), '{"local":true}\n');
    const result = cli(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'a' });
    const claimed = ok(result, 'claim');
    const path = claimed.worktree.path;
    assert.deepEqual(claimed.worktree.copied, ['.env', 'config/local.json']);
    assert.match(result.stderr, /worktree_copy: missing.txt does not exist/);
    assert.equal(readFileSync(join(path, '.env'), 'utf8'), 'SECRET=1\n');
    assert.equal(readFileSync(join(path, 'config', 'local.json'), 'utf8'), '{"local":true}\n');
    assert.equal(claimed.worktree.setup.ok, true);
    assert.equal(readFileSync(join(path, 'setup-ran'), 'utf8'), '$(whoami),;');
    // Reused, not made: setup does not run again.
    writeFileSync(join(path, 'setup-ran'), 'kept');
    ok(cli(['claim', 'GLD-1'], { cwd: repo.dir, agent: 'a' }), 'claim again');
    assert.equal(readFileSync(join(path, 'setup-ran'), 'utf8'), 'kept');
  });

  test('worktree_copy refuses paths that leave the repository', (t) => {
    for (const bad of ['"../secret"', '"/etc/passwd"', '"a/../../b"', '".git/config"']) {
      const repo = setup(t);
      repo.write(boardWith([`worktree_copy: [${bad}]`], ['- [ ] GLD-1 Anything']));
      const result = cli(['claim', '--json'], { cwd: repo.dir, agent: 'a' });
      assert.equal(result.code, 2, `${bad}: ${result.stderr}`);
      assert.equal(result.json?.error?.code, 'EFRONTMATTER');
    }
  });

  test('commit: true commits the board and the log after each change, and nothing else', (t) => {
    const repo = setup(t, ['commit: true']);
    writeFileSync(join(repo.dir, 'app.txt'), 'staged by a person\n');
    git(repo.dir, 'add', 'app.txt');
    ok(cli(['claim', 'GLD-1'], { cwd: repo.dir, agent: 'a' }), 'claim');
    assert.equal(git(repo.dir, 'log', '-1', '--format=%s', 'main'), 'guild: GLD-1 claimed by a');
    assert.deepEqual(git(repo.dir, 'show', '--name-only', '--format=', 'HEAD').split('\n').sort(), ['.guild/audit.jsonl', 'ACTIVE_TASKS.md']);
    // What the person staged is still staged, and uncommitted.
    assert.equal(git(repo.dir, 'diff', '--cached', '--name-only'), 'app.txt');
    ok(cli(['complete', 'GLD-1'], { cwd: wtPath(repo, 'GLD-1'), agent: 'a' }), 'complete');
    assert.equal(git(repo.dir, 'log', '-1', '--format=%s', 'main'), 'guild: GLD-1 done by a');
    assert.equal(git(repo.dir, 'status', '--porcelain', '--', 'ACTIVE_TASKS.md', '.guild'), '');
    assert.equal(readdirSync(join(repo.dir, '.git')).includes('index.lock'), false);
  });
});

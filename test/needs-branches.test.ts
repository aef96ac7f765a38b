// Work that builds on work (issue 12, item 3): a task whose needs are Done but not merged into
// main gets a worktree that starts from main with their branches merged in. Real repositories,
// the built CLI as real processes.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cli, type CliResult } from './helpers/cli.js';
import { boardWith, committedRepo, git } from './helpers/git-repo.js';
import { readLog, type TempRepo, worktreePath } from './helpers/repo.js';

function ok(result: CliResult, what: string): any {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result.json?.result;
}

const wtPath = (repo: TempRepo, id: string): string => worktreePath(repo, id);

function setup(t: { after(fn: () => void): void }, ready: string[]): TempRepo {
  const repo = committedRepo(boardWith([], ready), { 'app.txt': 'one\ntwo\nthree\n' });
  t.after(() => repo.remove());
  return repo;
}

/** `agent` claims `id`, commits `files` on its branch, and completes it (not merged): returns the branch's head. */
function doTask(repo: TempRepo, id: string, agent: string, files: Record<string, string>): string {
  ok(cli(['claim', id, '--json'], { cwd: repo.dir, agent }), `claim ${id}`);
  const path = wtPath(repo, id);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(path, name), text);
  git(path, 'add', '-A');
  git(path, 'commit', '-q', '-m', `work of ${id}`);
  ok(cli(['complete', id, '--json'], { cwd: repo.dir, agent }), `complete ${id}`);
  return git(path, 'rev-parse', 'HEAD');
}

const createdOf = (repo: TempRepo, id: string): any[] => readLog(repo).filter((event) => event.type === 'worktree.created' && event.task === id).map((event) => event.data);

describe('a worktree starts with the work of its needs', () => {
  test('one need Done, not merged: its branch is merged in, said by claim and by worktree.created', (t) => {
    const repo = setup(t, ['- [ ] GLD-1 Make A', '- [ ] GLD-2 Make B needs:GLD-1']);
    const main = git(repo.dir, 'rev-parse', 'main');
    const a = doTask(repo, 'GLD-1', 'a', { 'a.txt': 'from A\n' });
    assert.equal(git(repo.dir, 'rev-parse', 'main'), main, 'A is not merged into main');

    const claimed = cli(['claim', 'GLD-2'], { cwd: repo.dir, agent: 'b' });
    ok(claimed, 'claim GLD-2');
    assert.match(claimed.stdout, /merged in: GLD-1 \(guild\/GLD-1-make-a\)/);
    const path = wtPath(repo, 'GLD-2');
    assert.equal(readFileSync(join(path, 'a.txt'), 'utf8'), 'from A\n');
    // One ordinary merge commit: parents main and A's head, a message naming the task and its need.
    const head = git(path, 'rev-parse', 'HEAD');
    assert.equal(git(path, 'rev-parse', 'HEAD^1'), main);
    assert.equal(git(path, 'rev-parse', 'HEAD^2'), a);
    assert.deepEqual(git(path, 'log', '-1', '--format=%P').split(' '), [main, a]);
    const message = git(path, 'log', '-1', '--format=%B');
    assert.match(message, /GLD-2/);
    assert.match(message, /GLD-1 \(guild\/GLD-1-make-a\)/);
    assert.equal(git(path, 'status', '--porcelain'), '', 'the worktree is clean, nothing half-merged');
    assert.equal(git(path, 'rev-parse', '--abbrev-ref', 'HEAD'), 'guild/GLD-2-make-b');

    const [created] = createdOf(repo, 'GLD-2');
    assert.deepEqual(created, { branch: 'guild/GLD-2-make-b', base: head, path: `../${basename(repo.dir)}.worktrees/GLD-2`, main, merged: [{ task: 'GLD-1', branch: 'guild/GLD-1-make-a', commit: a }] });

    // Claiming again: the same branch, nothing merged again, nothing lacking.
    const again = ok(cli(['claim', 'GLD-2', '--json'], { cwd: repo.dir, agent: 'b' }), 'claim again');
    assert.deepEqual(again.worktree.needs, { merged: [], conflicts: [], missing: [] });
    assert.equal(git(path, 'rev-parse', 'HEAD'), head);

    // A need's branch that moved since (work added after its completion) is named, not merged.
    git(wtPath(repo, 'GLD-1'), 'commit', '-q', '--allow-empty', '-m', 'late work of GLD-1');
    const moved = ok(cli(['claim', 'GLD-2', '--json'], { cwd: repo.dir, agent: 'b' }), 'claim after A moved');
    assert.deepEqual(moved.worktree.needs.missing.map((need: any) => need.task), ['GLD-1']);
    assert.equal(git(path, 'rev-parse', 'HEAD'), head, 'a re-claim does not re-merge');
    const human = cli(['claim', 'GLD-2'], { cwd: repo.dir, agent: 'b' });
    assert.match(human.stdout, /lacks work of GLD-2's needs.*GLD-1 \(guild\/GLD-1-make-a\)/);

    ok(cli(['replay', '--check', '--json'], { cwd: repo.dir }), 'replay --check');
  });

  test('two needs: each merged in its own merge commit, in the order of needs', (t) => {
    const repo = setup(t, ['- [ ] GLD-1 Make A', '- [ ] GLD-2 Make B', '- [ ] GLD-3 Use both needs:GLD-1,GLD-2']);
    const main = git(repo.dir, 'rev-parse', 'main');
    const a = doTask(repo, 'GLD-1', 'a', { 'a.txt': 'from A\n' });
    const b = doTask(repo, 'GLD-2', 'b', { 'b.txt': 'from B\n' });
    const claimed = ok(cli(['claim', 'GLD-3', '--json'], { cwd: repo.dir, agent: 'c' }), 'claim GLD-3');
    assert.deepEqual(claimed.worktree.needs.merged.map((need: any) => [need.task, need.commit]), [['GLD-1', a], ['GLD-2', b]]);
    assert.deepEqual(claimed.worktree.needs.conflicts, []);
    const path = wtPath(repo, 'GLD-3');
    assert.equal(readFileSync(join(path, 'a.txt'), 'utf8'), 'from A\n');
    assert.equal(readFileSync(join(path, 'b.txt'), 'utf8'), 'from B\n');
    assert.equal(git(path, 'rev-parse', 'HEAD^2'), b);
    assert.equal(git(path, 'rev-parse', 'HEAD^1^2'), a);
    assert.equal(git(path, 'rev-parse', 'HEAD^1^1'), main);
    assert.equal(claimed.worktree.base, git(path, 'rev-parse', 'HEAD'));
    assert.deepEqual(createdOf(repo, 'GLD-3')[0].merged.map((need: any) => need.task), ['GLD-1', 'GLD-2']);
  });

  test('a need built on another need: one merge brings both', (t) => {
    const repo = setup(t, ['- [ ] GLD-1 Make A', '- [ ] GLD-2 Make B needs:GLD-1', '- [ ] GLD-3 Use both needs:GLD-1,GLD-2']);
    const main = git(repo.dir, 'rev-parse', 'main');
    const a = doTask(repo, 'GLD-1', 'a', { 'a.txt': 'from A\n' });
    const b = doTask(repo, 'GLD-2', 'b', { 'b.txt': 'from B, on A\n' });
    assert.equal(git(repo.dir, 'merge-base', '--is-ancestor', a, b), '', "B's branch holds A's work");
    const claimed = ok(cli(['claim', 'GLD-3', '--json'], { cwd: repo.dir, agent: 'c' }), 'claim GLD-3');
    assert.deepEqual(claimed.worktree.needs.merged.map((need: any) => need.task), ['GLD-1', 'GLD-2']);
    const path = wtPath(repo, 'GLD-3');
    assert.deepEqual(git(path, 'log', '-1', '--format=%P').split(' '), [main, b]);
    assert.equal(readFileSync(join(path, 'a.txt'), 'utf8'), 'from A\n');
    assert.equal(readFileSync(join(path, 'b.txt'), 'utf8'), 'from B, on A\n');
  });

  test('needs whose branches conflict: the worktree starts from main alone, and claim says which', (t) => {
    const repo = setup(t, ['- [ ] GLD-1 Make A', '- [ ] GLD-2 Make B', '- [ ] GLD-3 Use both needs:GLD-1,GLD-2', '- [ ] GLD-4 Also both needs:GLD-2,GLD-1']);
    const main = git(repo.dir, 'rev-parse', 'main');
    doTask(repo, 'GLD-1', 'a', { 'app.txt': 'one\nA\nthree\n' });
    const b = doTask(repo, 'GLD-2', 'b', { 'app.txt': 'one\nB\nthree\n' });
    const branchesBefore = git(repo.dir, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads/');

    const claimed = ok(cli(['claim', 'GLD-3', '--json'], { cwd: repo.dir, agent: 'c' }), 'claim GLD-3');
    assert.deepEqual(claimed.worktree.needs.merged, []);
    assert.deepEqual(claimed.worktree.needs.conflicts, [{ task: 'GLD-2', branch: 'guild/GLD-2-make-b', commit: b, files: ['app.txt'] }]);
    const path = wtPath(repo, 'GLD-3');
    assert.equal(git(path, 'rev-parse', 'HEAD'), main);
    assert.equal(readFileSync(join(path, 'app.txt'), 'utf8'), 'one\ntwo\nthree\n');
    assert.equal(git(path, 'status', '--porcelain'), '');
    assert.equal(existsSync(join(repo.dir, '.git', 'worktrees', 'GLD-3', 'MERGE_HEAD')), false);
    const [created] = createdOf(repo, 'GLD-3');
    assert.equal(created.base, main);
    assert.equal(created.merged, undefined);
    assert.deepEqual(created.conflicts, [{ task: 'GLD-2', branch: 'guild/GLD-2-make-b', commit: b, files: ['app.txt'] }]);
    // No branch but the task's own was made or moved.
    const branchesAfter = git(repo.dir, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads/');
    assert.deepEqual(branchesAfter.split('\n').filter((line) => !line.includes('GLD-3')), branchesBefore.split('\n'));

    // In words, the other way round (GLD-4 needs B first, so A is the one that conflicts).
    const human = cli(['claim', 'GLD-4'], { cwd: repo.dir, agent: 'd' });
    ok(human, 'claim GLD-4');
    assert.match(human.stdout, /does not merge cleanly: GLD-1 \(guild\/GLD-1-make-a\) \(app\.txt\)/);
    assert.match(human.stdout, /starts from the main branch alone/);
    assert.doesNotMatch(human.stdout, /merged in:/);

    // A re-claim merges nothing and names the needs' work the branch lacks.
    const again = ok(cli(['claim', 'GLD-3', '--json'], { cwd: repo.dir, agent: 'c' }), 'claim GLD-3 again');
    assert.deepEqual(again.worktree.needs.missing.map((need: any) => need.task), ['GLD-1', 'GLD-2']);
    assert.equal(git(path, 'rev-parse', 'HEAD'), main);
  });

  test('a need already merged into main, or without a branch, merges nothing', (t) => {
    const repo = setup(t, ['- [ ] GLD-1 Make A', '- [ ] GLD-2 Make B', '- [ ] GLD-3 Use both needs:GLD-1,GLD-2']);
    const a = doTask(repo, 'GLD-1', 'a', { 'a.txt': 'from A\n' });
    // A is merged into main by hand; B is done without a worktree (no branch: field).
    git(repo.dir, 'merge', '-q', '--no-ff', '--no-edit', 'guild/GLD-1-make-a');
    ok(cli(['claim', 'GLD-2', '--no-worktree', '--json'], { cwd: repo.dir, agent: 'b' }), 'claim GLD-2');
    ok(cli(['complete', 'GLD-2', '--json'], { cwd: repo.dir, agent: 'b' }), 'complete GLD-2');
    const main = git(repo.dir, 'rev-parse', 'main');

    const claimed = ok(cli(['claim', 'GLD-3', '--json'], { cwd: repo.dir, agent: 'c' }), 'claim GLD-3');
    assert.deepEqual(claimed.worktree.needs, { merged: [], conflicts: [], missing: [] });
    const path = wtPath(repo, 'GLD-3');
    assert.equal(git(path, 'rev-parse', 'HEAD'), main);
    assert.equal(git(path, 'merge-base', '--is-ancestor', a, 'HEAD'), '');
    const [created] = createdOf(repo, 'GLD-3');
    assert.deepEqual(created, { branch: 'guild/GLD-3-use-both', base: main, path: `../${basename(repo.dir)}.worktrees/GLD-3` });
  });

  test('when git cannot make the merge commit (no identity), the worktree starts from main alone and says why', (t) => {
    const repo = setup(t, ['- [ ] GLD-1 Make A', '- [ ] GLD-2 Make B needs:GLD-1']);
    doTask(repo, 'GLD-1', 'a', { 'a.txt': 'from A\n' });
    const main = git(repo.dir, 'rev-parse', 'main');
    // No identity git may use: no user.* in any config it reads, and no guessing.
    const home = join(repo.dir, '.git', 'empty-home');
    mkdirSync(home);
    git(repo.dir, 'config', '--unset', 'user.name');
    git(repo.dir, 'config', '--unset', 'user.email');
    git(repo.dir, 'config', 'user.useConfigOnly', 'true');
    const env = { HOME: home, XDG_CONFIG_HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: '', GIT_AUTHOR_EMAIL: '', GIT_COMMITTER_NAME: '', GIT_COMMITTER_EMAIL: '', EMAIL: '' };
    const claimed = cli(['claim', 'GLD-2'], { cwd: repo.dir, agent: 'b', env });
    ok(claimed, 'claim GLD-2');
    assert.match(claimed.stdout, /could not be merged \(.*\): the worktree starts from the main branch alone/);
    assert.equal(git(wtPath(repo, 'GLD-2'), 'rev-parse', 'HEAD'), main);
    assert.match(createdOf(repo, 'GLD-2')[0].mergeError, /^git commit-tree: fatal: .*ident/);
  });

  test('a clone that signs its commits (commit.gpgSign) gets a signed merge commit', (t) => {
    const repo = setup(t, ['- [ ] GLD-1 Make A', '- [ ] GLD-2 Make B needs:GLD-1']);
    doTask(repo, 'GLD-1', 'a', { 'a.txt': 'from A\n' });
    // A stand-in for gpg: git wants SIG_CREATED on the status fd (2) and a signature on stdout.
    const fakeGpg = join(repo.dir, '.git', 'fake-gpg');
    writeFileSync(fakeGpg, '#!/bin/sh\ncat >/dev/null\necho "[GNUPG:] SIG_CREATED D 1 8 00 0 0" >&2\nprintf -- "-----BEGIN PGP SIGNATURE-----\\nfake\\n-----END PGP SIGNATURE-----\\n"\n');
    chmodSync(fakeGpg, 0o755);
    git(repo.dir, 'config', 'gpg.program', fakeGpg);
    git(repo.dir, 'config', 'commit.gpgSign', 'true');
    const claimed = ok(cli(['claim', 'GLD-2', '--json'], { cwd: repo.dir, agent: 'b' }), 'claim GLD-2');
    assert.deepEqual(claimed.worktree.needs.merged.map((need: any) => need.task), ['GLD-1']);
    assert.match(git(repo.dir, 'cat-file', 'commit', claimed.worktree.base), /^gpgsig -----BEGIN PGP SIGNATURE-----/m);
  });
});

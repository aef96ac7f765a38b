// The board's commands (verify, worktree_setup) run only where this clone trusted them with
// `guild-fs trust`, as direnv and mise do; and a clone that never ran `init` gets its merge
// drivers from its first write. Real repositories, the built CLI as real processes.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cli, type CliResult } from './helpers/cli.js';
import { boardWith, committedRepo, git, GIT_ENV } from './helpers/git-repo.js';
import { readLog, tempRepo, type TempRepo, worktreePath } from './helpers/repo.js';
import { initGuild } from '../src/health/init-guild.js';

function ok(result: CliResult, what: string): any {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result.json?.result;
}

/** A command that proves it ran by leaving a file named `name` where it ran. */
const touch = (name: string): string => `node -e "require('fs').writeFileSync('${name}', '')"`;

function setup(t: { after(fn: () => void): void }, front: string[]): TempRepo {
  const repo = committedRepo(boardWith(front, ['- [ ] GLD-1 Add the login form', '- [ ] GLD-2 Create the users table']), { '.gitignore': 'setup-ran\nverify-ran*\n' });
  t.after(() => repo.remove());
  return repo;
}

const worktreeOf = (repo: TempRepo, id: string): string => worktreePath(repo, id);
const claimEvents = (repo: TempRepo): number => readLog(repo).filter((event) => event.type === 'task.claimed').length;

describe('verify runs only once trusted', () => {
  test('untrusted: complete exits 2 naming the argv and runs nothing; trusted: it runs; changed: untrusted again', (t) => {
    const repo = setup(t, [`verify: ${touch('verify-ran')}`]);
    ok(cli(['claim', 'GLD-1'], { cwd: repo.dir, agent: 'a' }), 'claim (no worktree_setup: no trust needed)');
    const path = worktreeOf(repo, 'GLD-1');
    const boardBefore = repo.read();

    const refused = cli(['complete', '--json'], { cwd: path, agent: 'a' });
    assert.equal(refused.code, 2, refused.stderr);
    assert.equal(refused.json!.error!.code, 'EUNTRUSTED');
    assert.match(refused.json!.error!.message, /^ACTIVE_TASKS\.md:4: verify is not trusted in this clone; complete ran nothing/);
    assert.match(refused.json!.error!.message, /verify would run \["node","-e","require\('fs'\)\.writeFileSync\('verify-ran', ''\)"\]/);
    assert.match(refused.json!.error!.message, /`guild-fs trust`/);
    assert.deepEqual(refused.json!.error!.data.commands.map((c: { key: string }) => c.key), ['verify']);
    assert.match(refused.stderr, /^guild-fs: ACTIVE_TASKS\.md:4: /);
    assert.doesNotMatch(refused.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(existsSync(join(path, 'verify-ran')), false, 'verify did not run');
    assert.equal(repo.read(), boardBefore, 'nothing recorded');
    // --commit-all commits nothing either: the refusal comes first.
    const head = git(path, 'rev-parse', 'HEAD');
    writeFileSync(join(path, 'work.txt'), 'work\n');
    assert.equal(cli(['complete', '--commit-all', 'work'], { cwd: path, agent: 'a' }).code, 2);
    assert.equal(git(path, 'rev-parse', 'HEAD'), head);

    const trusted = ok(cli(['trust', '--json'], { cwd: repo.dir }), 'trust');
    assert.deepEqual(trusted.commands.map((c: { key: string; was: string }) => [c.key, c.was]), [['verify', 'new']]);
    const record = JSON.parse(readFileSync(join(repo.dir, '.git', 'guild', 'trust.json'), 'utf8'));
    assert.match(record.commands.verify.sha256, /^[0-9a-f]{64}$/);
    assert.match(cli(['trust'], { cwd: repo.dir }).stdout, /trusted verify: .* \(already trusted\)/);
    ok(cli(['complete', '--commit-all', 'work'], { cwd: path, agent: 'a' }), 'complete once trusted');
    assert.equal(existsSync(join(path, 'verify-ran')), true, 'verify ran');
    assert.match(repo.read(), /## Done\n- \[x\] GLD-1/);

    // Someone changes verify (a pull, a hand edit): this clone trusts it no more.
    repo.write(repo.read().replace("'verify-ran'", "'verify-ran-2'"));
    ok(cli(['claim', 'GLD-2'], { cwd: repo.dir, agent: 'a' }), 'claim GLD-2');
    const changed = cli(['complete', '--json'], { cwd: worktreeOf(repo, 'GLD-2'), agent: 'a' });
    assert.equal(changed.code, 2, changed.stderr);
    assert.match(changed.json!.error!.message, /verify changed since this clone trusted it: it would run .*verify-ran-2.* \(trusted: .*'verify-ran'/);
    assert.equal(existsSync(join(worktreeOf(repo, 'GLD-2'), 'verify-ran-2')), false);
    const again = ok(cli(['trust', '--json'], { cwd: repo.dir }), 'trust again');
    assert.equal(again.commands[0].was, 'changed');
    ok(cli(['complete'], { cwd: worktreeOf(repo, 'GLD-2'), agent: 'a' }), 'complete GLD-2');
    assert.equal(existsSync(join(worktreeOf(repo, 'GLD-2'), 'verify-ran-2')), true);

    // --revoke: nothing runs until trusted again.
    assert.deepEqual(ok(cli(['trust', '--revoke', '--json'], { cwd: repo.dir }), 'revoke').dropped, ['verify']);
    assert.equal(existsSync(join(repo.dir, '.git', 'guild', 'trust.json')), false);
    ok(cli(['replay', '--check'], { cwd: repo.dir }), 'replay --check');
  });
});

describe('worktree_setup runs only once trusted', () => {
  test('untrusted: claim exits 2 before its lock: no lock, no event, no worktree, the board as it was', (t) => {
    const repo = setup(t, [`worktree_setup: ${touch('setup-ran')}`]);
    const boardBefore = repo.read();
    const events = readLog(repo).length;
    for (const args of [['claim'], ['claim', 'GLD-1']]) {
      const refused = cli([...args, '--json'], { cwd: repo.dir, agent: 'a' });
      assert.equal(refused.code, 2, refused.stderr);
      assert.equal(refused.json!.error!.code, 'EUNTRUSTED');
      assert.match(refused.json!.error!.message, /^ACTIVE_TASKS\.md:4: worktree_setup is not trusted in this clone; claim took no lock and ran nothing:\n {2}worktree_setup would run \["node","-e",/);
      assert.match(refused.json!.error!.message, /\(or claim --no-worktree\)/);
    }
    const locks = join(repo.dir, '.git', 'guild', 'locks');
    assert.deepEqual(existsSync(locks) ? readdirSync(locks) : [], [], 'no lock taken');
    assert.equal(readLog(repo).length, events);
    assert.equal(repo.read(), boardBefore);
    assert.equal(existsSync(worktreePath(repo, '')), false);

    // --no-worktree runs no setup, so it needs no trust.
    ok(cli(['claim', 'GLD-2', '--no-worktree'], { cwd: repo.dir, agent: 'b' }), 'claim --no-worktree');

    ok(cli(['trust'], { cwd: repo.dir }), 'trust');
    const claimed = ok(cli(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'a' }), 'claim once trusted');
    assert.equal(claimed.worktree.setup.ok, true);
    assert.equal(existsSync(join(worktreeOf(repo, 'GLD-1'), 'setup-ran')), true);
    assert.equal(claimEvents(repo), 2);
    // That check is remembered (bound to the front matter and trust.json), never beyond a change of either:
    assert.equal(existsSync(join(repo.dir, '.git', 'guild', 'cache', 'trusted-front-matter')), true);
    ok(cli(['trust', '--revoke'], { cwd: repo.dir }), 'revoke');
    assert.equal(cli(['claim', 'GLD-2'], { cwd: repo.dir, agent: 'b' }).code, 2, 'revoked: refused again');
    ok(cli(['trust'], { cwd: repo.dir }), 'trust again');
    repo.write(repo.read().replace("'setup-ran'", "'setup-ran-2'"));
    const changed = cli(['claim', 'GLD-2', '--json'], { cwd: repo.dir, agent: 'b' });
    assert.equal(changed.code, 2, changed.stderr);
    assert.match(changed.json!.error!.message, /worktree_setup changed since this clone trusted it/);
    assert.equal(existsSync(worktreeOf(repo, 'GLD-2')), false);
    ok(cli(['replay', '--check'], { cwd: repo.dir }), 'replay --check');
  });

  test('a key spelled with a YAML escape is still seen and refused', (t) => {
    // "worktree\x5fsetup" is worktree_setup to YAML, without those letters in a row.
    const repo = setup(t, [`"worktree\\x5fsetup": ${touch('setup-ran')}`]);
    const refused = cli(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'a' });
    assert.equal(refused.code, 2, refused.stderr);
    assert.equal(refused.json!.error!.code, 'EUNTRUSTED');
    assert.equal(existsSync(worktreePath(repo, '')), false);
  });
});

describe('init and trust', () => {
  test('init trusts the commands of a board it writes itself, never those of a board it finds', async (t) => {
    const templates = mkdtempSync(join(tmpdir(), 'guild-fs-templates-'));
    t.after(() => rmSync(templates, { recursive: true, force: true }));
    writeFileSync(join(templates, 'ACTIVE_TASKS.md'), boardWith(['verify: npm test'], []).replace('prefix: GLD', 'prefix: {{prefix}}'));
    const written = tempRepo();
    t.after(() => written.remove());
    const made = await initGuild(written.dir, { agent: 'human', templatesDir: templates });
    assert.equal(made.boardCreated, true);
    assert.equal(made.untrusted, undefined);
    assert.match(readFileSync(join(written.dir, '.git', 'guild', 'trust.json'), 'utf8'), /"verify"/);

    const found = tempRepo(boardWith(['verify: npm test'], []));
    t.after(() => found.remove());
    const kept = await initGuild(found.dir, { agent: 'human', templatesDir: templates });
    assert.equal(kept.boardCreated, false);
    assert.deepEqual(kept.untrusted, [{ key: 'verify', argv: ['npm', 'test'] }]);
    assert.equal(existsSync(join(found.dir, '.git', 'guild', 'trust.json')), false);
  });
});

describe('merge drivers on every write', () => {
  test('a fresh clone that never ran init registers them on its first add', (t) => {
    const origin = committedRepo(boardWith([], ['- [ ] GLD-1 First']));
    t.after(() => origin.remove());
    ok(cli(['init'], { cwd: origin.dir }), 'init in the origin');
    git(origin.dir, 'add', '-A');
    git(origin.dir, 'commit', '-qm', 'gitattributes');
    const dir = mkdtempSync(join(tmpdir(), 'guild-fs-trust-clone-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync('git', ['clone', '-q', origin.dir, dir], { env: GIT_ENV });
    const config = (): string => readFileSync(join(dir, '.git', 'config'), 'utf8');
    assert.doesNotMatch(config(), /guild-board/);
    // Reading commands write nothing and register nothing.
    ok(cli(['list'], { cwd: dir }), 'list');
    assert.doesNotMatch(config(), /guild-board/);
    const added = cli(['add', 'Second'], { cwd: dir, agent: 'a' });
    ok(added, 'add');
    assert.match(added.stderr, /registered the merge drivers guild-board, guild-log in this clone's \.git\/config/);
    assert.match(config(), /\[merge "guild-board"\]\n\tname = .*\n\tdriver = .* merge-driver board %O %A %B %P/);
    assert.match(config(), /\[merge "guild-log"\]\n\tname = .*\n\tdriver = .* merge-driver log %O %A %B %P/);
    // Once there, nothing more is said or run.
    const second = cli(['add', 'Third'], { cwd: dir, agent: 'a' });
    ok(second, 'add again');
    assert.equal(second.stderr, '');
    const doctor = cli(['doctor', '--json'], { cwd: dir });
    assert.equal(doctor.code, 0, doctor.stdout);
    const merge = doctor.json!.result.checks.find((check: { name: string }) => check.name === 'merge');
    assert.deepEqual(merge.warnings, []);
  });
});

// doctor says the right fix for each problem (heal only for lock problems), says when there is
// no log yet, and fails when guild-fs cannot write .git (its locks, or the merge drivers in its
// config); status shows the board as it is once a person fixed what the daemon complained about.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BIN, cli, type CliResult } from './helpers/cli.js';
import { killAllDaemons, startDaemon, waitFor } from './helpers/daemon.js';
import { git } from './helpers/git-repo.js';
import { tempRepo, type TempRepo } from './helpers/repo.js';

after(() => killAllDaemons());

function exampleRepo(t: { after(fn: () => void): void }): TempRepo {
  const repo = tempRepo();
  t.after(() => repo.remove());
  assert.equal(cli(['init', '--example'], { cwd: repo.dir }).code, 0);
  return repo;
}

const checkOf = (result: CliResult, name: string): any => (result.json!.ok ? result.json!.result : result.json!.error!.data).checks.find((check: { name: string }) => check.name === name);

describe('doctor names the fix that fits', () => {
  test('a board problem alone: no word of heal; a lock problem: heal; both: both', (t) => {
    const repo = exampleRepo(t);
    const good = repo.read();
    repo.write(good.replace('- [ ] GLD-3 ', '- [ ] GLD-2 '));
    const board = cli(['doctor', '--json'], { cwd: repo.dir });
    assert.equal(board.code, 6);
    assert.equal(board.json!.error!.message, 'doctor found 1 problem; board: edit ACTIVE_TASKS.md at the line named and save (no tool writes a board it cannot read)');
    assert.doesNotMatch(cli(['doctor'], { cwd: repo.dir }).stderr, /heal/);

    repo.write(good.replace('## In Progress\n', '## In Progress\n- [ ] GLD-7 Nobody holds this owner:agent-x\n'));
    const locks = cli(['doctor', '--json'], { cwd: repo.dir });
    assert.equal(locks.json!.error!.message, 'doctor found 1 problem; `guild-fs heal` repairs lock problems');

    repo.write(`${repo.read()}\n<<<<<<< ours\n=======\n>>>>>>> theirs\n`);
    const both = cli(['doctor', '--json'], { cwd: repo.dir });
    assert.equal(both.json!.error!.message, 'doctor found 4 problems; `guild-fs heal` repairs lock problems; merge: resolve the conflict in ACTIVE_TASKS.md, then commit');
  });

  test('no board: init is the fix; no log yet: said, not "ok", and not a failure', (t) => {
    const repo = tempRepo();
    t.after(() => repo.remove());
    const none = cli(['doctor', '--json'], { cwd: repo.dir });
    assert.equal(none.code, 6);
    assert.equal(none.json!.error!.message, 'doctor found 1 problem; board: run `guild-fs init` to make the board');
    assert.match(checkOf(none, 'log').missing, /^no log yet: \.guild\/audit\.jsonl does not exist/);

    repo.write('# Active Tasks\n\n## Ready\n- [ ] T-1 First\n');
    const human = cli(['doctor'], { cwd: repo.dir });
    assert.equal(human.code, 0, human.stdout + human.stderr);
    assert.match(human.stdout, /^none {2}log: no log yet/m);
    assert.doesNotMatch(human.stdout, /^ok {4}log/m);
  });
});

// guild-fs cannot write a path: as root (which may write anywhere) the CLI runs as `nobody`
// over a repository it owns, except the paths made read-only, which stay root's.
const root = process.getuid?.() === 0;
const NOBODY = 65534;

function readOnly(repo: TempRepo, paths: string[]): { run(args: string[]): CliResult } {
  let env: NodeJS.ProcessEnv = { ...process.env };
  delete env.GUILD_AGENT;
  if (root) {
    // git refuses a repository another user owns unless told it is safe; the home says so.
    const home = mkdtempSync(join(tmpdir(), 'guild-fs-home-'));
    writeFileSync(join(home, '.gitconfig'), '[safe]\n\tdirectory = *\n');
    chmodSync(home, 0o755);
    chmodSync(repo.dir, 0o755);
    env = { ...env, HOME: home, XDG_CONFIG_HOME: home };
    spawnSync('chown', ['-R', `${NOBODY}:${NOBODY}`, repo.dir]);
    for (const path of paths) chownSync(path, 0, 0);
    const remove = repo.remove;
    repo.remove = () => {
      remove();
      rmSync(home, { recursive: true, force: true });
    };
  }
  for (const path of paths) chmodSync(path, statSync(path).isDirectory() ? 0o555 : 0o444);
  const restore = repo.remove;
  repo.remove = () => {
    for (const path of paths) chmodSync(path, statSync(path).isDirectory() ? 0o755 : 0o644);
    restore();
  };
  return {
    run(args) {
      const ran = spawnSync(process.execPath, [BIN, ...args], { cwd: repo.dir, env, encoding: 'utf8', ...(root ? { uid: NOBODY, gid: NOBODY } : {}) });
      const result: CliResult = { code: ran.status ?? -1, stdout: ran.stdout, stderr: ran.stderr };
      if (args.includes('--json')) result.json = JSON.parse(ran.stdout);
      return result;
    },
  };
}

// As root these tests run the CLI as `nobody`, which must be able to reach this checkout: a clone
// under a private directory (mktemp -d is 0700) cannot be, and there they are skipped, saying why.
const nobodyReaches = !root || spawnSync(process.execPath, [BIN, '--version'], { uid: NOBODY, gid: NOBODY, stdio: 'ignore' }).status === 0;

describe('doctor fails where guild-fs cannot write', { skip: nobodyReaches ? false : 'running as root, and user nobody cannot reach this checkout (a parent directory is private) to run the CLI as another user' }, () => {
  test('missing merge drivers and a read-only .git/config: exit 6 naming it; writes still work and say so', (t) => {
    const repo = exampleRepo(t);
    git(repo.dir, 'config', '--remove-section', 'merge.guild-board');
    git(repo.dir, 'config', '--remove-section', 'merge.guild-log');
    const gitDir = join(repo.dir, '.git');
    const as = readOnly(repo, [gitDir, join(gitDir, 'config')]);
    const doctor = as.run(['doctor', '--json']);
    assert.equal(doctor.code, 6, doctor.stdout + doctor.stderr);
    const merge = checkOf(doctor, 'merge');
    assert.equal(merge.ok, false);
    assert.match(merge.problems[0].message, /lacks the merge drivers guild-board, guild-log, and they cannot be registered: .* is not writable/);
    assert.match(doctor.json!.error!.message, /merge: make \.git\/config writable for this user, then run `guild-fs init`/);
    assert.doesNotMatch(doctor.json!.error!.message, /heal/);
    assert.equal(checkOf(doctor, 'access').ok, true, '.git/guild is still writable');
    // The write goes ahead (its locks are in .git/guild), says why the drivers are missing, and does not wait on git.
    const added = as.run(['add', 'Still works', '--agent', 'a']);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stderr, /cannot register the merge drivers guild-board, guild-log: .* is not writable/);
  });

  test('a read-only .git: doctor says guild-fs cannot write its locks there (exit 6), not "ok"', (t) => {
    const repo = exampleRepo(t);
    const gitDir = join(repo.dir, '.git');
    mkdirSync(join(gitDir, 'guild', 'locks'), { recursive: true });
    const as = readOnly(repo, [gitDir, join(gitDir, 'guild'), join(gitDir, 'guild', 'locks')]);
    const doctor = as.run(['doctor', '--json']);
    assert.equal(doctor.code, 6, doctor.stdout + doctor.stderr);
    const access = checkOf(doctor, 'access');
    assert.equal(access.ok, false);
    assert.match(access.problems[0].message, /^guild-fs cannot write .*\.git\/guild \(E[A-Z]+\), where it keeps locks and the board mutex$/);
    assert.match(doctor.json!.error!.message, /access: make the paths named writable/);
    assert.doesNotMatch(doctor.json!.error!.message, /heal/);
  });
});

describe('status after a fix', () => {
  test('the daemon\'s complaint about a broken board goes once the person fixed it', async (t) => {
    const repo = exampleRepo(t);
    const good = repo.read();
    const daemon = await startDaemon(repo);
    t.after(() => void daemon.kill('SIGKILL'));
    repo.write(good.replace('- [ ] GLD-3 ', '- [ ] GLD-2 '));
    const broken = await waitFor('status to show the daemon\'s error', () => {
      const status = cli(['status', '--json'], { cwd: repo.dir }).json!.result;
      return status.daemon.lastError ? status : undefined;
    }, 15_000, daemon.stderr);
    assert.match(broken.board.error, /ACTIVE_TASKS\.md:\d+: duplicate task ID GLD-2/);
    assert.match(broken.daemon.lastError.message, /duplicate task ID GLD-2/);

    repo.write(good);
    const fixed = await waitFor('status to drop the error', () => {
      const status = cli(['status', '--json'], { cwd: repo.dir }).json!.result;
      return status.daemon.lastError === null ? status : undefined;
    }, 15_000, daemon.stderr);
    assert.equal(fixed.board.error, null);
    assert.equal(fixed.board.tasks, 6);
    const human = cli(['status'], { cwd: repo.dir }).stdout;
    assert.doesNotMatch(human, /last error|duplicate/);
    assert.match(human, /^board: 6 tasks/m);
    await daemon.kill('SIGTERM');
  });
});

// Things at guild-fs's names that guild-fs did not make (issue 11): a symlink planted as a lock
// must never lead a remover into its target, and a person's backup of the board is not a temp
// file. Real repos and the built CLI, as users meet them.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { lutimesSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './helpers/cli.js';
import { age, doctor, heal, lockDir, locksDir, mutexDir, repoFor } from './helpers/heal-cases.js';

const PRECIOUS = ['notes.txt', 'thesis.tex', 'photo.jpg'];

/** A directory of someone's files, old enough that any age test of a lock would pass. */
function preciousDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'guild-precious-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of PRECIOUS) {
    writeFileSync(join(dir, name), `keep ${name}\n`);
    age(join(dir, name), 3600);
  }
  age(dir, 3600);
  return dir;
}

const untouched = (dir: string): void => assert.deepEqual(readdirSync(dir).sort(), [...PRECIOUS].sort(), `${dir} was changed`);

test('board.lock a symlink to a directory of old files: add refuses with exit 2 naming it, and deletes nothing', (t) => {
  const repo = repoFor(t);
  const target = preciousDir(t);
  symlinkSync(target, mutexDir(repo));
  const added = cli(['add', 'A task added under a planted mutex'], { cwd: repo.dir, agent: 'agent-a' });
  assert.equal(added.code, 2, added.stderr);
  assert.match(added.stderr, /board\.lock: a symlink, not guild-fs's lock/);
  untouched(target);
  // heal names it and still leaves it alone.
  const healed = heal(repo);
  assert.deepEqual(
    healed.actions.map((action) => [action.task, action.action]),
    [['board.lock', 'refused']],
  );
  untouched(target);
});

test('locks/GLD-3.lock a symlink to a directory of old files: heal and doctor report it, claim refuses, nothing is deleted', (t) => {
  const repo = repoFor(t);
  const target = preciousDir(t);
  mkdirSync(locksDir(repo), { recursive: true });
  symlinkSync(target, lockDir(repo, 'GLD-3'));
  age(target, 3600);

  // heal exits 0: it did all it may, and says what it left for a person.
  const healed = heal(repo);
  const refused = healed.actions.find((action) => action.task === 'GLD-3');
  assert.equal(refused?.action, 'refused');
  assert.match(refused.reason, /GLD-3\.lock: a symlink, not guild-fs's lock: refused/);
  untouched(target);

  // doctor exits 6 while it stands. It judges a lock without an owner by age: the link's own.
  const linkAge = new Date(Date.now() - 600_000);
  lutimesSync(lockDir(repo, 'GLD-3'), linkAge, linkAge);
  const checked = doctor(repo);
  assert.equal(checked.code, 6, checked.result.stdout);
  assert.ok(checked.problems.some((problem) => /GLD-3: .*a symlink, not guild-fs's lock/.test(problem)), checked.problems.join('\n'));
  untouched(target);

  const claimed = cli(['claim', 'GLD-3'], { cwd: repo.dir, agent: 'agent-a' });
  assert.equal(claimed.code, 2, claimed.stderr);
  assert.match(claimed.stderr, /GLD-3\.lock: a symlink, not guild-fs's lock/);
  untouched(target);

  // A second heal, once the target has aged further, still touches nothing.
  heal(repo);
  untouched(target);
  assert.equal(readdirSync(locksDir(repo)).includes('GLD-3.lock'), true, 'the link itself is left for a person');
});

test("a person's backups of the board survive heal; a marked temp left by a killed writer is swept", (t) => {
  const repo = repoFor(t);
  const backups = ['ACTIVE_TASKS.md.20261130', 'ACTIVE_TASKS.md.1'];
  for (const name of backups) {
    writeFileSync(join(repo.dir, name), 'a copy someone made\n');
    age(join(repo.dir, name), 600);
  }
  const temp = `.ACTIVE_TASKS.md.guild-tmp-${999_999}-0badc0de`;
  writeFileSync(join(repo.dir, temp), 'half a board from a writer killed before its rename\n');
  age(join(repo.dir, temp), 120);

  const healed = heal(repo);
  assert.deepEqual(healed.swept, [temp]);
  const left = readdirSync(repo.dir);
  for (const name of backups) assert.ok(left.includes(name), `${name} was removed`);
  assert.ok(!left.includes(temp));
});

test('a board write leaves no temp behind', (t) => {
  const repo = repoFor(t);
  assert.equal(cli(['add', 'One more task'], { cwd: repo.dir, agent: 'agent-a' }).code, 0);
  assert.deepEqual(
    readdirSync(repo.dir).filter((name) => name.includes('ACTIVE_TASKS.md.')),
    [],
  );
});

test('daemon.lock a symlink: watch refuses with exit 2, heal and doctor report it, nothing is deleted', (t) => {
  const repo = repoFor(t);
  const target = preciousDir(t);
  const path = join(repo.dir, '.git', 'guild', 'daemon.lock');
  symlinkSync(target, path);
  const watched = cli(['watch'], { cwd: repo.dir, agent: 'agent-a' });
  assert.equal(watched.code, 2, watched.stderr);
  assert.match(watched.stderr, /daemon\.lock: a symlink, not guild-fs's lock/);
  assert.deepEqual(
    heal(repo).actions.map((action) => [action.task, action.action]),
    [['daemon.lock', 'refused']],
  );
  const checked = doctor(repo);
  assert.equal(checked.code, 6);
  assert.ok(checked.problems.some((problem) => /daemon: .*a symlink, not guild-fs's lock/.test(problem)), checked.problems.join('\n'));
  untouched(target);
});

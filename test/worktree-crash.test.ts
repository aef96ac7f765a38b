// SIGKILL a claim at moments spread over its whole run (lock, log, board, git worktree add and
// its checkout, the branch: field): heal, then the holder's `claim` again, always ends with the
// task claimed, one clean worktree on its branch, and board, log and git in agreement.
import { worktreePath } from './helpers/repo.js';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BIN, cli } from './helpers/cli.js';
import { boardWith, committedRepo, git } from './helpers/git-repo.js';

const KILLS = 8;

function ownerReadable(path: string): boolean {
  try {
    JSON.parse(readFileSync(path, 'utf8'));
    return true;
  } catch {
    return false;
  }
}

function claimKilledAfter(cwd: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'claim', 'GLD-1'], { cwd, env: { ...process.env, GUILD_AGENT: 'a' }, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

test(`a claim killed at ${KILLS} moments is repaired by heal and claiming again`, { timeout: 120_000 }, async () => {
  const files = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`f${i}.txt`, `file ${i}\n`]));
  // How long a whole claim takes here, to spread the kills over it.
  const probe = committedRepo(boardWith([], ['- [ ] GLD-1 Crash me']), files);
  const t0 = Date.now();
  assert.equal(cli(['claim', 'GLD-1'], { cwd: probe.dir, agent: 'a' }).code, 0);
  const whole = Date.now() - t0;
  probe.remove();
  let repairedAfterKill = 0;
  for (let k = 0; k < KILLS; k++) {
    const repo = committedRepo(boardWith([], ['- [ ] GLD-1 Crash me', '- [ ] GLD-2 Bystander']), files);
    try {
      const delay = Math.round((whole * 1.1 * k) / KILLS);
      await claimKilledAfter(repo.dir, delay);
      // A git the killed claim started may still be finishing its checkout.
      await new Promise((resolve) => setTimeout(resolve, 250));
      const where = `kill after ${delay} ms of ~${whole}`;
      const healed = cli(['heal'], { cwd: repo.dir, env: { GUILD_DEBUG: '1' } });
      assert.equal(healed.code, 0, `${where}: heal: ${healed.stderr}`);
      const again = cli(['claim', 'GLD-1', '--json'], { cwd: repo.dir, agent: 'a' });
      // Killed between the lock's mkdir and a complete owner.json (none yet, or opened and not yet
      // written): heal waits out its grace period before it may call that lock abandoned.
      if (again.code === 3 && !ownerReadable(join(repo.dir, '.git', 'guild', 'locks', 'GLD-1.lock', 'owner.json'))) continue;
      assert.equal(again.code, 0, `${where}: ${again.stderr}`);
      repairedAfterKill++;
      const path = worktreePath(repo, 'GLD-1');
      assert.equal(again.json!.result.worktree.path, path, where);
      assert.equal(git(path, 'rev-parse', '--abbrev-ref', 'HEAD'), 'guild/GLD-1-crash-me', where);
      assert.equal(git(path, 'status', '--porcelain'), '', `${where}: the worktree is clean`);
      assert.equal(readdirSync(path).filter((name) => name.endsWith('.txt')).length, 300, `${where}: the whole checkout`);
      assert.equal(git(repo.dir, 'worktree', 'list', '--porcelain').split('\n').filter((line) => line.startsWith('worktree ')).length, 2, where);
      assert.match(repo.read(), /GLD-1 Crash me owner:a branch:guild\/GLD-1-crash-me$/m, where);
      assert.equal(cli(['replay', '--check'], { cwd: repo.dir }).code, 0, where);
      const doctor = cli(['doctor'], { cwd: repo.dir });
      assert.equal(doctor.code, 0, `${where}: ${doctor.stdout}`);
    } finally {
      repo.remove();
    }
  }
  assert.ok(repairedAfterKill >= KILLS - 2, `only ${repairedAfterKill} of ${KILLS} runs got past the lock's grace period`);
});

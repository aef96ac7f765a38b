// Claims through the git remote (SPEC section 7, issue 13 items 1-3): real clones of a bare
// repository served by a real `git daemon` on 127.0.0.1 (and over file://), the built CLI run as
// real processes. Races run many trials; time is injected by backdating what the observing clone
// noted (<git-common-dir>/guild/remote/origin.json), never by sleeping.
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { cli, cliAsync, type CliResult } from './helpers/cli.js';
import { Clones, IDENTITY, git, must } from './helpers/clones.js';
import { startGitServer, type GitServer } from './helpers/git-server.js';
import { killAllDaemons, startDaemon, waitFor } from './helpers/daemon.js';
import type { TempRepo } from './helpers/repo.js';

let server: GitServer;
let clones: Clones;
before(async () => {
  server = await startGitServer();
  clones = new Clones(server);
});
after(async () => {
  killAllDaemons();
  await server.close();
});
afterEach(async () => {
  await server.start().catch(() => {}); // a test that stopped it
  clones.removeAll();
});

const run = (repo: TempRepo, args: string[], agent?: string): CliResult => cli(args, { cwd: repo.dir, env: IDENTITY, ...(agent ? { agent } : {}) });
const runAsync = (repo: TempRepo, args: string[], agent?: string): Promise<CliResult> => cliAsync(args, { cwd: repo.dir, env: IDENTITY, ...(agent ? { agent } : {}) });

/** The claim refs on the bare repository behind `url`, by task. */
function claimRefs(url: string): Map<string, string> {
  const bare = server.pathOf(url);
  const refs = new Map<string, string>();
  const out = git(bare, 'for-each-ref', '--format=%(objectname) %(refname)', 'refs/guild/claims/');
  for (const line of out.split('\n').filter(Boolean)) {
    const [oid, ref] = line.split(' ');
    refs.set(ref!.slice('refs/guild/claims/'.length), oid!);
  }
  return refs;
}

function claimJson(url: string, task: string): Record<string, unknown> {
  const bare = server.pathOf(url);
  return JSON.parse(git(bare, 'show', `refs/guild/claims/${task}:claim.json`)) as Record<string, unknown>;
}

function locksOf(repo: TempRepo): string[] {
  const dir = join(repo.dir, '.git', 'guild', 'locks');
  return existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.lock')) : [];
}

/** Moves every claim this clone has noted back by `ms`: its clock says they have not moved for that long. */
function backdateSeen(repo: TempRepo, ms: number): void {
  const path = join(repo.dir, '.git', 'guild', 'remote', 'origin.json');
  const seen = JSON.parse(readFileSync(path, 'utf8')) as { refs: Record<string, { since: string }> };
  for (const entry of Object.values(seen.refs)) entry.since = new Date(Date.parse(entry.since) - ms).toISOString();
  writeFileSync(path, JSON.stringify(seen));
}

describe('six clones racing', () => {
  for (const transport of ['git', 'file'] as const) {
    const trials = transport === 'git' ? 30 : 10;
    test(`${trials} trials of six clones claiming one task: exactly one wins each, the others exit 3 and keep nothing (${transport}://)`, async () => {
      const url = clones.seeded(transport, { tasks: trials });
      const racers = Array.from({ length: 6 }, () => clones.clone(url));
      for (let trial = 1; trial <= trials; trial++) {
        const id = `GLD-${trial}`;
        const results = await Promise.all(racers.map((repo, i) => runAsync(repo, ['claim', id, '--no-worktree', '--json'], `agent-${i}`)));
        const winners = results.flatMap((result, i) => (result.code === 0 ? [i] : []));
        assert.equal(winners.length, 1, `trial ${trial}: ${results.map((r) => `${r.code} ${r.stderr.trim()}`).join('\n')}`);
        for (const [i, result] of results.entries()) {
          if (i === winners[0]) continue;
          assert.equal(result.code, 3, `trial ${trial}, clone ${i}: ${result.stderr}`);
          assert.equal(result.json!.error!.code, 'EHELD');
          assert.ok(!locksOf(racers[i]!).includes(`${id}.lock`), 'a lost claim leaves no lock');
          assert.doesNotMatch(racers[i]!.read(), new RegExp(`${id} .*owner:`), 'nor a board change');
        }
        const ref = claimJson(url, id);
        assert.equal(ref.agent, `agent-${winners[0]}`);
        assert.equal(ref.state, 'claimed');
      }
    });
  }

  test('six clones claiming the next task over 20 tasks: every task claimed once, none twice', async () => {
    const url = clones.seeded('git', { tasks: 20 });
    const racers = Array.from({ length: 6 }, () => clones.clone(url));
    const claimed: string[] = [];
    await Promise.all(
      racers.map(async (repo, i) => {
        for (;;) {
          const result = await runAsync(repo, ['claim', '--no-worktree', '--json'], `agent-${i}`);
          if (result.code === 5) return;
          assert.equal(result.code, 0, `clone ${i}: ${result.stderr}`);
          claimed.push(result.json!.result.task.id);
        }
      }),
    );
    assert.equal(claimed.length, 20, `claimed: ${claimed.join(' ')}`);
    assert.equal(new Set(claimed).size, 20, 'no task twice');
    assert.equal(claimRefs(url).size, 20);
  });
});

describe('claims on the remote', () => {
  test('ready, next and list see another clone\'s claim; a claim of it is exit 3 naming the ref', () => {
    const url = clones.seeded('git');
    const a = clones.clone(url);
    const b = clones.clone(url);
    must(run(a, ['claim', 'GLD-1', '--no-worktree'], 'alice'), 'claim in a');
    const ready = must(run(b, ['ready', '--json']), 'ready in b').json!.result.tasks.map((task: { id: string }) => task.id);
    assert.deepEqual(ready, ['GLD-2', 'GLD-3', 'GLD-4']);
    assert.equal(must(run(b, ['next', '--json']), 'next').json!.result.task.id, 'GLD-2');
    const listed = must(run(b, ['list', '--json']), 'list').json!.result.tasks.find((task: { id: string }) => task.id === 'GLD-1');
    assert.equal(listed.elsewhere, 'claimed');
    const status = must(run(b, ['status', '--json']), 'status').json!.result;
    assert.deepEqual(status.elsewhere, { claimed: ['GLD-1'], done: [] });
    assert.match(must(run(b, ['status']), 'status').stdout, /other clones: hold GLD-1/);
    assert.equal(must(run(b, ['show', 'GLD-1', '--json']), 'show').json!.result.task.elsewhere, 'claimed');
    assert.match(must(run(b, ['show', 'GLD-1']), 'show').stdout, /on the remote: claimed by another clone/);
    const lost = run(b, ['claim', 'GLD-1', '--no-worktree', '--json'], 'bob');
    assert.equal(lost.code, 3);
    assert.match(lost.json!.error!.message, /another clone \(refs\/guild\/claims\/GLD-1 on origin\)/);
    // claim without an ID skips it.
    assert.equal(must(run(b, ['claim', '--no-worktree', '--json'], 'bob'), 'claim next').json!.result.task.id, 'GLD-2');
  });

  test('complete leaves the done marker: a clone whose board is behind cannot take the task again; fail and release free it', () => {
    const url = clones.seeded('git');
    const a = clones.clone(url);
    const b = clones.clone(url);
    must(run(a, ['claim', 'GLD-1', '--no-worktree'], 'alice'), 'claim 1');
    must(run(a, ['complete', 'GLD-1'], 'alice'), 'complete 1');
    assert.equal(claimJson(url, 'GLD-1').state, 'done');
    assert.equal(locksOf(a).length, 0);
    const listed = must(run(b, ['list', '--json']), 'list').json!.result.tasks.find((task: { id: string }) => task.id === 'GLD-1');
    assert.equal(listed.status, 'ready', 'b has not synced');
    assert.equal(listed.elsewhere, 'done');
    assert.equal(run(b, ['claim', 'GLD-1', '--no-worktree'], 'bob').code, 3);

    must(run(a, ['claim', 'GLD-2', '--no-worktree'], 'alice'), 'claim 2');
    must(run(a, ['fail', 'GLD-2', '--reason', 'broke'], 'alice'), 'fail 2');
    must(run(a, ['claim', 'GLD-3', '--no-worktree'], 'alice'), 'claim 3');
    must(run(a, ['release', 'GLD-3'], 'alice'), 'release 3');
    assert.deepEqual([...claimRefs(url).keys()], ['GLD-1']);
    must(run(b, ['claim', 'GLD-3', '--no-worktree'], 'bob'), 'b takes the released task');
  });

  test('heartbeat moves the claim ref; the claim commit holds agent, host, clone, acquired, token and the claim event', () => {
    const url = clones.seeded('git');
    const a = clones.clone(url);
    must(run(a, ['claim', 'GLD-1', '--no-worktree'], 'alice'), 'claim');
    const before = claimRefs(url).get('GLD-1');
    const record = claimJson(url, 'GLD-1');
    for (const key of ['agent', 'host', 'clone', 'acquired', 'token', 'claimEvent']) assert.ok(typeof record[key] === 'string' && record[key] !== '', `${key} in ${JSON.stringify(record)}`);
    const event = readFileSync(a.log, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line)).find((e) => e.type === 'task.claimed');
    assert.equal(record.claimEvent, event.id);
    must(run(a, ['heartbeat', 'GLD-1'], 'alice'), 'heartbeat');
    assert.notEqual(claimRefs(url).get('GLD-1'), before);
  });

  test('the server stopped: claim is exit 7 with nothing claimed anywhere; --offline claims here alone and says so', async () => {
    const url = clones.seeded('git');
    const a = clones.clone(url);
    const board = a.read();
    const log = readFileSync(a.log, 'utf8');
    await server.stop();
    for (const args of [['claim', 'GLD-1', '--no-worktree', '--json'], ['claim', '--no-worktree', '--json'], ['ready', '--json']]) {
      const result = run(a, args, 'alice');
      assert.equal(result.code, 7, `${args.join(' ')}: ${result.stderr}`);
      assert.equal(result.json!.error!.code, 'EREMOTE');
    }
    assert.equal(a.read(), board);
    assert.equal(readFileSync(a.log, 'utf8'), log);
    assert.deepEqual(locksOf(a), []);
    const offline = must(run(a, ['claim', 'GLD-1', '--no-worktree', '--offline'], 'alice'), 'offline claim');
    assert.match(offline.stderr, /--offline: origin was not asked/);
    await server.start();
    assert.equal(claimRefs(url).size, 0, 'nothing reached the remote');
  });

  test('the server stopped while six claims are under way: each clone either claimed (lock, board, log, ref) or exit 7 with nothing here', async () => {
    for (let trial = 0; trial < 4; trial++) {
      const url = clones.seeded('git', { tasks: 6 });
      const racers = Array.from({ length: 6 }, () => clones.clone(url));
      const boards = racers.map((repo) => repo.read());
      const pending = racers.map((repo, i) => runAsync(repo, ['claim', `GLD-${i + 1}`, '--no-worktree', '--json'], `agent-${i}`));
      await new Promise((resolve) => setTimeout(resolve, 60 + trial * 60));
      await server.stop();
      const results = await Promise.all(pending);
      await server.start();
      const refs = claimRefs(url);
      for (const [i, result] of results.entries()) {
        const repo = racers[i]!;
        const id = `GLD-${i + 1}`;
        if (result.code === 0) {
          assert.deepEqual(locksOf(repo), [`${id}.lock`]);
          assert.match(repo.read(), new RegExp(`${id} task ${i + 1} .*owner:agent-${i}`));
          assert.ok(refs.has(id), `${id} claimed without its ref`);
        } else {
          assert.equal(result.code, 7, `${id}: ${result.stderr}`);
          assert.deepEqual(locksOf(repo), [], `${id}: exit 7 left a lock`);
          assert.equal(repo.read(), boards[i], `${id}: exit 7 changed the board`);
          assert.ok(!readFileSync(repo.log, 'utf8').includes('task.claimed'), `${id}: exit 7 logged a claim`);
        }
      }
      clones.removeAll();
    }
  });

  test('ready --offline answers from what the remote showed last', async () => {
    const url = clones.seeded('git');
    const a = clones.clone(url);
    const b = clones.clone(url);
    must(run(a, ['claim', 'GLD-1', '--no-worktree'], 'alice'), 'claim');
    must(run(b, ['ready']), 'ready online');
    await server.stop();
    const ready = must(run(b, ['ready', '--offline', '--json']), 'ready offline');
    assert.deepEqual(ready.json!.result.tasks.map((task: { id: string }) => task.id), ['GLD-2', 'GLD-3', 'GLD-4']);
    assert.match(ready.stderr, /as origin showed them 20/);
  });

  test('complete while the server is down: done here, the ref stays; heal finishes it once the server is back', async () => {
    const url = clones.seeded('git');
    const a = clones.clone(url);
    must(run(a, ['claim', 'GLD-1', '--no-worktree'], 'alice'), 'claim');
    await server.stop();
    const done = must(run(a, ['complete', 'GLD-1', '--json'], 'alice'), 'complete offline');
    assert.equal(done.json!.result.lock, 'remote-pending');
    assert.match(done.stderr, /could not be reached/);
    assert.deepEqual(locksOf(a), ['GLD-1.lock'], 'the lock stays, saying what is left');
    const doctor = run(a, ['doctor', '--json']);
    const remoteCheck = (doctor.json!.ok ? doctor.json!.result : doctor.json!.error!.data).checks.find((check: { name: string }) => check.name === 'remote');
    assert.ok(remoteCheck.warnings.some((warning: string) => /GLD-1: finished here, but its claim ref on origin still waits/.test(warning)), JSON.stringify(remoteCheck));
    const heal = must(run(a, ['heal', '--offline']), 'heal while down');
    void heal;
    await server.start();
    must(run(a, ['heal']), 'heal');
    assert.deepEqual(locksOf(a), []);
    assert.equal(claimJson(url, 'GLD-1').state, 'done');
  });

  test('a claim push that got no answer but landed: exit 7, and the ref left is this clone\'s to remove, not another clone\'s claim', async () => {
    const url = clones.seeded('git');
    const a = clones.clone(url);
    // The server updates the ref, then its post-receive hook keeps the connection past the client's timeout.
    const hook = join(server.pathOf(url), 'hooks', 'post-receive');
    writeFileSync(hook, '#!/bin/sh\nsleep 4\n', { mode: 0o755 });
    const slow = { ...IDENTITY, GUILD_REMOTE_TIMEOUT: '1s' };
    for (const task of ['GLD-1', 'GLD-2']) {
      const lost = cli(['claim', task, '--no-worktree', '--json'], { cwd: a.dir, agent: 'alice', env: slow });
      assert.equal(lost.code, 7, lost.stdout + lost.stderr);
      assert.equal(claimRefs(url).has(task), true, `the push of ${task} landed all the same`);
    }
    rmSync(hook);
    assert.deepEqual(locksOf(a), [], 'nothing claimed here');
    // Not another clone's claim: still offered here.
    const ready = must(run(a, ['ready', '--json']), 'ready').json!.result.tasks.map((task: { id: string }) => task.id);
    assert.ok(ready.includes('GLD-1') && ready.includes('GLD-2'), ready.join(' '));
    // Claimed again: the abandoned ref is removed with a lease on its id, and the claim is made.
    must(run(a, ['claim', 'GLD-1', '--no-worktree'], 'alice'), 'claim again');
    assert.equal(claimJson(url, 'GLD-1').agent, 'alice');
    assert.equal(claimJson(url, 'GLD-1').state, 'claimed');
    // heal removes the other at once (not after lock_ttl).
    const heal = must(run(a, ['heal', '--json']), 'heal');
    assert.deepEqual(heal.json!.result.remote.actions.map((action: { task: string; action: string }) => `${action.task} ${action.action}`), ['GLD-2 abandoned-removed']);
    assert.equal(claimRefs(url).has('GLD-2'), false);
    assert.equal(existsSync(join(a.dir, '.git', 'guild', 'remote', 'abandoned', 'origin', 'GLD-2')), false, 'the note is gone with the ref');
  });

  test('a lock left behind on a completed task: heal ends its claim ref at the done marker, as complete would have', () => {
    const url = clones.seeded('git');
    const a = clones.clone(url);
    must(run(a, ['claim', 'GLD-1', '--no-worktree'], 'alice'), 'claim');
    const claimed = claimRefs(url).get('GLD-1')!;
    const lock = join(a.dir, '.git', 'guild', 'locks', 'GLD-1.lock');
    const backup = join(a.dir, '.git', 'guild', 'GLD-1.lock.kept');
    cpSync(lock, backup, { recursive: true });
    must(run(a, ['complete', 'GLD-1'], 'alice'), 'complete');
    // The complete "died" after its board write: its lock is still there, and the ref still the claim's.
    cpSync(backup, lock, { recursive: true });
    git(a.dir, 'push', '-q', '-f', 'origin', `${claimed}:refs/guild/claims/GLD-1`);
    const heal = must(run(a, ['heal', '--json']), 'heal');
    assert.ok(JSON.stringify(heal.json!.result).includes('removed-leftover'), JSON.stringify(heal.json!.result));
    assert.deepEqual(locksOf(a), []);
    assert.equal(claimJson(url, 'GLD-1').state, 'done', 'the done marker, so a clone whose board is behind cannot take it again');
  });
});

describe('staleness by the observer\'s clock', () => {
  test('a clone that dies holding a claim is healed by another after lock_ttl, and the task is taken again', () => {
    const url = clones.seeded('git', { front: ['lock_ttl: 10m'] });
    const a = clones.clone(url);
    const b = clones.clone(url);
    must(run(a, ['claim', 'GLD-1', '--no-worktree'], 'alice'), 'claim');
    must(run(a, ['sync', '--remote']), 'a pushes its board');
    must(run(b, ['sync', '--remote']), 'b sees the claim');
    // a "dies": nothing of it runs again. b notes the claim now: not stale yet.
    let heal = must(run(b, ['heal', '--json']), 'heal');
    assert.deepEqual(heal.json!.result.remote.actions, []);
    backdateSeen(b, 11 * 60_000);
    heal = must(run(b, ['heal', '--json']), 'heal later');
    const actions = heal.json!.result.remote.actions.map((action: { task: string; action: string }) => `${action.task} ${action.action}`);
    assert.deepEqual(actions.sort(), ['GLD-1 broken', 'GLD-1 requeued']);
    assert.equal(claimRefs(url).has('GLD-1'), false);
    const task = must(run(b, ['list', '--json']), 'list').json!.result.tasks.find((t: { id: string }) => t.id === 'GLD-1');
    assert.equal(task.status, 'ready');
    assert.equal(task.tries, 1);
    // The retry time is the requeue's (retry_base): claiming it is the next clone's business once due.
    assert.equal(must(run(b, ['replay', '--check']), 'replay').code, 0);
  });

  test('a heartbeat between two looks saves the claim: the healer starts its clock again', () => {
    const url = clones.seeded('git', { front: ['lock_ttl: 10m'] });
    const a = clones.clone(url);
    const b = clones.clone(url);
    must(run(a, ['claim', 'GLD-1', '--no-worktree'], 'alice'), 'claim');
    must(run(b, ['heal']), 'b notes the claim');
    backdateSeen(b, 11 * 60_000);
    must(run(a, ['heartbeat', 'GLD-1'], 'alice'), 'a is alive');
    const heal = must(run(b, ['heal', '--json']), 'heal');
    assert.deepEqual(heal.json!.result.remote.actions, []);
    assert.equal(claimRefs(url).has('GLD-1'), true);
  });

  test('two healers of one stale claim: exactly one breaks it', async () => {
    for (let trial = 0; trial < 5; trial++) {
      const url = clones.seeded('git', { front: ['lock_ttl: 10m'] });
      const a = clones.clone(url);
      const healers = [clones.clone(url), clones.clone(url)];
      must(run(a, ['claim', 'GLD-1', '--no-worktree'], 'alice'), 'claim');
      for (const healer of healers) {
        must(run(healer, ['heal']), 'note');
        backdateSeen(healer, 11 * 60_000);
      }
      const results = await Promise.all(healers.map((healer) => runAsync(healer, ['heal', '--json'])));
      const broke = results.filter((result) => result.json!.result.remote.actions.some((action: { action: string }) => action.action === 'broken'));
      assert.equal(broke.length, 1, results.map((r) => r.stdout).join('\n'));
      clones.removeAll();
    }
  });
});

describe('the daemon through a remote', () => {
  test('watch heals another clone\'s stale claim by its own clock', async () => {
    const url = clones.seeded('git', { front: ['lock_ttl: 10m'] });
    const a = clones.clone(url);
    const b = clones.clone(url);
    must(run(a, ['claim', 'GLD-1', '--no-worktree'], 'alice'), 'claim');
    const seen = join(b.dir, '.git', 'guild', 'remote', 'origin.json');
    const daemon = await startDaemon(b, ['--heal-every', '200ms']);
    try {
      await waitFor('the daemon to note the claim', () => existsSync(seen), 30_000, () => daemon.stderr());
      // Its clock, moved back: the claim has not moved for 11 minutes as far as b knows. A listing
      // that rewrites the file meanwhile keeps the older time, or the next try backdates again.
      await waitFor(
        'the daemon to break the claim',
        () => {
          if (!claimRefs(url).has('GLD-1')) return true;
          backdateSeen(b, 11 * 60_000);
          return false;
        },
        60_000,
        () => daemon.stderr(),
        300,
      );
      assert.match(daemon.stderr(), /GLD-1 broken on origin/);
    } finally {
      assert.equal((await daemon.kill('SIGINT')).code, 0, daemon.stderr());
    }
  });
});

describe('doctor through a remote', () => {
  test('a clone without the remote the board names fails doctor (exit 6) naming it; with it, doctor counts the claims', () => {
    const url = clones.seeded('git');
    const a = clones.clone(url);
    must(run(a, ['claim', 'GLD-1', '--no-worktree'], 'alice'), 'claim');
    const fine = must(run(a, ['doctor', '--json']), 'doctor');
    const check = fine.json!.result.checks.find((c: { name: string }) => c.name === 'remote');
    assert.deepEqual(check.info, ['origin: 1 claim(s) of this clone, 0 of other clones, 0 done marker(s)']);
    git(a.dir, 'remote', 'rename', 'origin', 'upstream');
    const broken = run(a, ['doctor', '--json']);
    assert.equal(broken.code, 6);
    assert.match(JSON.stringify(broken.json), /no git remote of that name/);
  });
});

describe('init --remote', () => {
  test('adds remote: and ids: hash to an existing board\'s front matter, keeping every other byte; a remote the clone lacks is exit 2', () => {
    const url = clones.seeded('git');
    const a = clones.clone(url);
    const before = a.read().replace('remote: origin\n', '');
    a.write(before);
    must(run(a, ['init', '--remote', 'origin']), 'init --remote');
    const after_ = a.read();
    assert.match(after_, /^---\nguild: 1\nprefix: GLD\nremote: origin\nids: hash\n---\n/);
    assert.equal(after_.replace('remote: origin\nids: hash\n', ''), before);
    must(run(a, ['init', '--remote', 'origin']), 'again');
    assert.equal(a.read(), after_, 'idempotent');
    const unknown = run(a, ['init', '--remote', 'upstream', '--json']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.json!.error!.message, /no git remote named upstream/);
    const bad = run(a, ['init', '--remote', '--upload-pack=x', '--json']);
    assert.equal(bad.code, 2);
  });
});

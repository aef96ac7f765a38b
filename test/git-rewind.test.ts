// git operations that take the working tree's board and log back for a while (stash, a detached
// checkout, a rebase) never undo a claim: the lock, not the working tree, says a claim happened.
// Real daemons and real git on temp repos; then the pieces alone: the log mark, the lock
// classifier's 'rewound' verdict, the "git is at work" check.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { parseBoard } from '../src/board/parse-board.js';
import { gitOperationUnderWay } from '../src/git/git-busy.js';
import type { RepoPaths } from '../src/git/find-repo.js';
import { systemProbe } from '../src/lock/liveness.js';
import type { LockOwner } from '../src/lock/lock-owner.js';
import { appendEvents } from '../src/log/append-event.js';
import { makeEvent, type AuditEvent } from '../src/log/event.js';
import { logAtMark, logBehindMark, markLogAsItIs, readLogMark } from '../src/log/log-mark.js';
import { classifyLock } from '../src/health/classify-lock.js';
import { openGuild } from '../src/tasks/guild.js';
import { rotateLog } from '../src/history/rotate-log.js';
import { cli } from './helpers/cli.js';
import { killAllDaemons, startDaemon, waitFor, type RunningDaemon } from './helpers/daemon.js';
import { git } from './helpers/git-repo.js';
import { deadProcess, doctor, heal, killSleepers, ownerRecord, readOwner, startSleeper, task } from './helpers/heal-cases.js';
import { readLog, tempRepo, type TempRepo } from './helpers/repo.js';

after(killAllDaemons);
after(killSleepers);

const BOARD = `---
guild: 1
prefix: GLD
---
# Active Tasks

## Ready
- [ ] GLD-1 Build the form
- [ ] GLD-2 Build the table

## In Progress

## Done
`;

/** init + the board above, recorded and committed on main. */
function committedGuild(t: TestContext): TempRepo {
  const repo = tempRepo();
  t.after(() => repo.remove());
  assert.equal(cli(['init'], { cwd: repo.dir }).code, 0);
  repo.write(BOARD);
  assert.equal(cli(['sync'], { cwd: repo.dir }).code, 0);
  commitAll(repo, 'start');
  return repo;
}

/** agent-a's claim of GLD-1 is as it was: the same lock (token and all), In Progress by agent-a on the board. */
function assertClaimStands(repo: TempRepo, owner: LockOwner): void {
  assert.deepEqual(readOwner(repo, 'GLD-1'), owner);
  assert.deepEqual([task(repo, 'GLD-1').status, task(repo, 'GLD-1').owner], ['in-progress', 'agent-a']);
}

function commitAll(repo: TempRepo, message: string): void {
  git(repo.dir, 'add', '-A');
  git(repo.dir, 'commit', '-q', '-m', message);
}

function claim(repo: TempRepo, id: string, agent: string, pid?: number): LockOwner {
  const result = cli(['claim', id, '--no-worktree', '--json', ...(pid === undefined ? [] : ['--pid', String(pid)])], { cwd: repo.dir, agent });
  assert.equal(result.code, 0, `claim ${id}: ${result.stdout} ${result.stderr}`);
  const owner = readOwner(repo, id);
  assert.equal(owner.recorded, true, 'a claim that got through marks its lock recorded');
  return owner;
}

const heals = (repo: TempRepo): number => (JSON.parse(readFileSync(join(repo.dir, '.git', 'guild', 'daemon.json'), 'utf8')) as { counts: { heals: number } }).counts.heals;

/** Until the daemon has healed twice more: whatever it does about what just happened, it has done. */
async function settled(repo: TempRepo, daemon: RunningDaemon): Promise<void> {
  const from = heals(repo);
  await waitFor('two more heals', () => heals(repo) >= from + 2, 15_000, daemon.stderr);
}

/** Long enough for two heal ticks of a daemon started with --heal-every 1s. */
const pastTwoHeals = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 2_500));

const WAITING = /waiting: the log is behind what guild-fs wrote \(a git stash or checkout\?\)/;

describe('git rewinds the working tree; the claim stands', { concurrency: true }, () => {
  test('a claim, git stash past two heals, stash pop: lock, log and board as they were, nothing logged', async (t) => {
    const repo = committedGuild(t);
    const daemon = await startDaemon(repo);
    const owner = claim(repo, 'GLD-1', 'agent-a');
    await settled(repo, daemon);
    const log = repo.read('.guild/audit.jsonl');

    git(repo.dir, 'stash', '-q');
    await waitFor('the daemon to say it waits', () => WAITING.test(daemon.stderr()), 15_000, daemon.stderr);
    const status = cli(['status', '--json'], { cwd: repo.dir }).json!.result;
    assert.match(status.daemon.waiting.message, WAITING);
    await pastTwoHeals();
    assert.deepEqual(readOwner(repo, 'GLD-1'), owner, 'the lock is exactly as it was');
    assert.equal(git(repo.dir, 'status', '--porcelain'), '', 'nothing was written while stashed');

    git(repo.dir, 'stash', 'pop', '-q');
    assert.equal(repo.read('.guild/audit.jsonl'), log, 'log unchanged, byte for byte');
    assert.deepEqual(readOwner(repo, 'GLD-1'), owner);
    await waitFor('the daemon to go on', () => /resumed/.test(daemon.stderr()), 15_000, daemon.stderr);
    await settled(repo, daemon);
    assert.equal(repo.read('.guild/audit.jsonl'), log, 'nothing logged once it went on either');
    assert.deepEqual(readOwner(repo, 'GLD-1'), owner);
    const view = task(repo, 'GLD-1');
    assert.deepEqual([view.status, view.owner, view.tries], ['in-progress', 'agent-a', 0]);
    assert.equal(cli(['status', '--json'], { cwd: repo.dir }).json!.result.daemon.waiting, undefined);
    assert.equal(cli(['replay', '--check'], { cwd: repo.dir }).code, 0);
    await daemon.kill('SIGTERM');
  });

  test('a committed claim, a detached checkout of the commit before it and back: nothing changes', async (t) => {
    const repo = committedGuild(t);
    const daemon = await startDaemon(repo);
    const owner = claim(repo, 'GLD-1', 'agent-a');
    await settled(repo, daemon);
    commitAll(repo, 'GLD-1 claimed');
    const log = repo.read('.guild/audit.jsonl');

    git(repo.dir, 'checkout', '-q', '--detach', 'HEAD~1');
    assert.equal(task(repo, 'GLD-1').status, 'ready', 'the older board does not show the claim');
    await waitFor('the daemon to say it waits', () => WAITING.test(daemon.stderr()), 15_000, daemon.stderr);
    await pastTwoHeals();
    assert.equal(git(repo.dir, 'status', '--porcelain'), '', 'nothing was written on the old commit');
    git(repo.dir, 'checkout', '-q', 'main');

    assert.equal(repo.read('.guild/audit.jsonl'), log);
    await waitFor('the daemon to go on', () => /resumed/.test(daemon.stderr()), 15_000, daemon.stderr);
    await settled(repo, daemon);
    assert.equal(repo.read('.guild/audit.jsonl'), log, 'no event logged');
    assertClaimStands(repo, owner);
    await daemon.kill('SIGTERM');
  });

  test('main rebased onto a side branch while the daemon runs: the daemon waits for git, nothing is logged', async (t) => {
    const repo = committedGuild(t);
    git(repo.dir, 'branch', 'side');
    const daemon = await startDaemon(repo);
    const owner = claim(repo, 'GLD-1', 'agent-a');
    await settled(repo, daemon);
    commitAll(repo, 'GLD-1 claimed');
    git(repo.dir, 'checkout', '-q', 'side');
    repo.write('notes\n', 'NOTES.md');
    commitAll(repo, 'notes');
    git(repo.dir, 'checkout', '-q', 'main');
    await settled(repo, daemon);
    const log = repo.read('.guild/audit.jsonl');

    // The pause after the replayed commit keeps the rebase under way across a heal tick.
    git(repo.dir, 'rebase', '-q', '--exec', 'sleep 2', 'side');
    // (The daemon's stderr reaches this process only once it is free to read it again.)
    await waitFor('the daemon to have said it waited for the rebase', () => /waiting: a git operation is under way \(rebase-merge/.test(daemon.stderr()), 15_000, daemon.stderr);
    assert.equal(git(repo.dir, 'log', '-1', '--format=%s', 'HEAD~1'), 'notes', 'main now sits on side');
    await settled(repo, daemon);
    assert.equal(repo.read('.guild/audit.jsonl'), log, 'nothing logged during or after the rebase');
    assertClaimStands(repo, owner);
    await daemon.kill('SIGTERM');
  });

  test('a person who stashed on purpose runs sync: the daemon goes on, and still keeps the claim', async (t) => {
    const repo = committedGuild(t);
    const daemon = await startDaemon(repo);
    const owner = claim(repo, 'GLD-1', 'agent-a');
    await settled(repo, daemon);
    git(repo.dir, 'stash', '-q');
    await waitFor('the daemon to say it waits', () => WAITING.test(daemon.stderr()), 15_000, daemon.stderr);
    assert.match(daemon.stderr(), /run `guild-fs sync` if that was deliberate/);
    assert.equal(cli(['sync'], { cwd: repo.dir }).code, 0);
    await waitFor('the daemon to go on', () => /resumed/.test(daemon.stderr()), 15_000, daemon.stderr);
    await settled(repo, daemon);
    assert.deepEqual(readOwner(repo, 'GLD-1'), owner, 'a rewound claim is kept, heals or not');
    assert.equal(git(repo.dir, 'status', '--porcelain'), '', git(repo.dir, 'diff') + daemon.stderr());
    git(repo.dir, 'stash', 'pop', '-q');
    assert.equal(task(repo, 'GLD-1').status, 'in-progress');
    await daemon.kill('SIGTERM');
  });
});

describe('heal by hand during a stash', { concurrency: true }, () => {
  test('does not undo a recorded claim; doctor says the board and log are behind it', async (t) => {
    const repo = committedGuild(t);
    const owner = claim(repo, 'GLD-1', 'agent-a');
    const log = repo.read('.guild/audit.jsonl');
    git(repo.dir, 'stash', '-q');
    const healed = heal(repo);
    assert.deepEqual(healed.actions, []);
    assert.deepEqual(readOwner(repo, 'GLD-1'), owner);
    const locks = doctor(repo).checks.find((check) => check.name === 'locks')!;
    assert.ok(locks.ok, JSON.stringify(locks));
    assert.match(locks.warnings.join('\n'), /GLD-1: the board and log are behind this claim of agent-a \(a git stash or checkout\?\); it is kept/);
    assert.equal(git(repo.dir, 'status', '--porcelain'), '');
    git(repo.dir, 'stash', 'pop', '-q');
    assert.equal(repo.read('.guild/audit.jsonl'), log);
    assert.deepEqual([task(repo, 'GLD-1').status, task(repo, 'GLD-1').owner], ['in-progress', 'agent-a']);
  });

  test('a rewound claim whose process is gone loses its lock without an event; popped, it is requeued as any stale claim', async (t) => {
    const repo = committedGuild(t);
    const sleeper = startSleeper();
    claim(repo, 'GLD-1', 'agent-a', sleeper.pid);
    git(repo.dir, 'stash', '-q');
    await sleeper.kill();
    assert.deepEqual(heal(repo).actions.map((action) => `${action.task} ${action.action}`), ['GLD-1 removed-rewound']);
    assert.equal(git(repo.dir, 'status', '--porcelain'), '', 'nothing logged: the stashed log never heard of the claim');
    git(repo.dir, 'stash', 'pop', '-q');
    assert.deepEqual(heal(repo).actions.map((action) => `${action.task} ${action.action}`), ['GLD-1 requeued']);
    const view = task(repo, 'GLD-1');
    assert.deepEqual([view.status, view.tries], ['ready', 1]);
    assert.equal(cli(['replay', '--check'], { cwd: repo.dir }).code, 0);
  });

  test('a recorded claim whose event is in the log but whose task moved on by hand is still a leftover', async (t) => {
    const repo = committedGuild(t);
    claim(repo, 'GLD-1', 'agent-a');
    // A person moves it to Done and records that; the lock stays behind.
    repo.write(repo.read().replace(/\n- \[ \] GLD-1 Build the form owner:agent-a\n/, '\n').replace('## Done\n', '## Done\n- [x] GLD-1 Build the form\n'));
    assert.equal(cli(['sync'], { cwd: repo.dir }).code, 0);
    assert.deepEqual(heal(repo).actions.map((action) => `${action.task} ${action.action}`), ['GLD-1 removed-leftover']);
  });
});

// --- the pieces ------------------------------------------------------------------------------

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'guild-fs-mark-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function events(n: number, at = Date.now()): AuditEvent[] {
  return Array.from({ length: n }, (_, i) => makeEvent({ type: 'task.edited', task: `GLD-${i + 1}`, agent: 'a', host: 'h', data: {} }, at + i));
}

const lines = (path: string): string[] => readFileSync(path, 'utf8').split('\n').filter((line) => line !== '');

describe('logBehindMark', () => {
  test('no mark: not behind', (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'audit.jsonl'), '');
    assert.deepEqual(logBehindMark(join(dir, 'audit.jsonl'), join(dir, 'mark.json')), { behind: false });
  });

  test('fast path: the line ending at the marked size holds the marked id, with later appends made without a mark', (t) => {
    const dir = tempDir(t);
    const log = join(dir, 'audit.jsonl');
    const mark = join(dir, 'mark.json');
    const marked = events(3);
    appendEvents(log, marked, { markPath: mark });
    assert.deepEqual(readLogMark(mark), { size: readFileSync(log).length, id: marked[2]!.id });
    appendEvents(log, events(2));
    assert.deepEqual(logBehindMark(log, mark), { behind: false });
  });

  test('a reordered log (a merge moved lines): not behind, and the mark follows the event', (t) => {
    const dir = tempDir(t);
    const log = join(dir, 'audit.jsonl');
    const mark = join(dir, 'mark.json');
    appendEvents(log, events(4), { markPath: mark });
    const [a, b, c, d] = lines(log);
    const other = JSON.stringify(events(1)[0]);
    writeFileSync(log, [d, other, a, b, c, ''].join('\n'));
    assert.deepEqual(logBehindMark(log, mark), { behind: false });
    const moved = readLogMark(mark)!;
    assert.equal(moved.size, Buffer.byteLength(`${d}\n`));
    assert.deepEqual(logBehindMark(log, mark), { behind: false });
  });

  test('a rewound log (the marked event gone): behind, with a reason; a CLI-style re-mark ends it', (t) => {
    const dir = tempDir(t);
    const log = join(dir, 'audit.jsonl');
    const mark = join(dir, 'mark.json');
    appendEvents(log, events(2), { markPath: mark });
    const committed = readFileSync(log, 'utf8');
    const claimed = events(1)[0]!;
    appendEvents(log, [claimed], { markPath: mark });
    writeFileSync(log, committed); // git stash
    const verdict = logBehindMark(log, mark);
    assert.equal(verdict.behind, true);
    assert.match(verdict.reason!, new RegExp(claimed.id));
    writeFileSync(log, ''); // a checkout of a commit before the log had anything
    assert.equal(logBehindMark(log, mark).behind, true);
    writeFileSync(log, committed);
    markLogAsItIs(log, mark);
    assert.deepEqual(logBehindMark(log, mark), { behind: false });
  });

  test('a writer killed between its append and its mark leaves the log as guild-fs left it', (t) => {
    const repo = tempRepo();
    t.after(() => repo.remove());
    const guild = openGuild(repo.dir);
    mkdirSync(join(repo.dir, '.guild'), { recursive: true });
    const first = events(2, Date.parse('2026-06-05T00:00:00Z'));
    appendEvents(guild.logPath, first, { markPath: guild.logMarkPath, exclusive: true });
    const before = readLogMark(guild.logMarkPath)!;
    const more = events(1, Date.parse('2026-06-06T00:00:00Z'));
    appendEvents(guild.logPath, more, { markPath: guild.logMarkPath, exclusive: true });
    const after = readLogMark(guild.logMarkPath)!;
    // What the mark said when the SIGKILL came: the append announced, its own mark not yet written.
    writeFileSync(guild.logMarkPath, JSON.stringify({ size: before.size, id: before.id, next: { size: after.size, id: after.id } }));
    assert.equal(logAtMark(guild.logPath, guild.logMarkPath), true, 'the announced append was made');
    assert.deepEqual(logBehindMark(guild.logPath, guild.logMarkPath), { behind: false });
    // Killed before the append itself: the log is as the mark's first half says.
    writeFileSync(guild.logPath, readFileSync(guild.logPath).subarray(0, before.size));
    assert.equal(logAtMark(guild.logPath, guild.logMarkPath), true, 'the append was never made');
    // Anything else (git took an event away) is not as guild-fs left it.
    writeFileSync(guild.logPath, readFileSync(guild.logPath).subarray(0, before.size - 1));
    assert.equal(logAtMark(guild.logPath, guild.logMarkPath), false);
  });

  test('log rotate leaves a mark on the last event it keeps', async (t) => {
    const repo = tempRepo();
    t.after(() => repo.remove());
    const guild = openGuild(repo.dir);
    const old = events(3, Date.parse('2026-01-05T00:00:00Z'));
    const recent = events(2, Date.parse('2026-06-05T00:00:00Z'));
    mkdirSync(join(repo.dir, '.guild'), { recursive: true });
    appendEvents(guild.logPath, [...old, ...recent], { markPath: guild.logMarkPath });
    await rotateLog(guild, Date.parse('2026-03-01T00:00:00Z'));
    assert.deepEqual(readLogMark(guild.logMarkPath), { size: readFileSync(guild.logPath).length, id: recent[1]!.id });
    assert.deepEqual(logBehindMark(guild.logPath, guild.logMarkPath), { behind: false });
    await rotateLog(guild, Date.parse('2027-01-01T00:00:00Z'));
    // Nothing kept: the empty log's mark, so that the log still counts as guild-fs left it.
    assert.deepEqual(readLogMark(guild.logMarkPath), { size: 0, id: '' });
    assert.deepEqual(readLog(repo), []);
    assert.deepEqual(logBehindMark(guild.logPath, guild.logMarkPath), { behind: false });
    assert.equal(logAtMark(guild.logPath, guild.logMarkPath), true);
  });
});

describe('classifyLock: recorded claims', () => {
  const boardText = (inProgress: string): string => `---\nprefix: GLD\nlock_ttl: 1h\n---\n## Ready\n- [ ] GLD-1 Build the form\n\n## In Progress\n${inProgress}\n## Done\n`;

  async function judge(owner: LockOwner, options: { onBoard: boolean; logged: boolean; now?: number }) {
    const board = await parseBoard('ACTIVE_TASKS.md', boardText(options.onBoard ? `- [ ] GLD-2 Build the table owner:${owner.agent}\n` : '- [ ] GLD-2 Build the table\n'));
    return classifyLock('GLD-2', { state: 'held', owner }, { board, intents: new Map(), probe: systemProbe, now: options.now ?? Date.now(), claimLogged: () => options.logged });
  }

  async function recorded(overrides: Partial<LockOwner> = {}): Promise<LockOwner> {
    const owner = ownerRecord('GLD-2', 'agent-a', await deadProcess(), '01JDB6Z3Q9K8X2M4N5P6R7S8T9');
    return { ...owner, token: 'feedfacefeedfacefeedface', recorded: true, ...overrides };
  }

  test('neither board nor log shows it: rewound, kept', async () => {
    const verdict = await judge(await recorded(), { onBoard: false, logged: false });
    assert.equal(verdict.kind, 'rewound');
    assert.equal(verdict.kind === 'rewound' && verdict.stale, null);
  });

  test('rewound and silent past lock_ttl: rewound, with why it is stale', async () => {
    const verdict = await judge(await recorded(), { onBoard: false, logged: false, now: Date.now() + 2 * 3_600_000 });
    assert.equal(verdict.kind, 'rewound');
    assert.match(verdict.kind === 'rewound' ? (verdict.stale ?? '') : '', /no heartbeat/);
  });

  test('its event is in the log but the board moved on: an orphan, as before', async () => {
    assert.equal((await judge(await recorded(), { onBoard: false, logged: true })).kind, 'orphan');
  });

  test('not recorded, its maker gone, the board not showing it: an orphan (a half-made claim), as before', async () => {
    const owner = await recorded();
    delete owner.recorded;
    assert.equal((await judge(owner, { onBoard: false, logged: false })).kind, 'orphan');
  });

  test('on the board, its holder gone: stale, recorded or not', async () => {
    const holder = await deadProcess();
    assert.equal((await judge(await recorded({ pid: holder.pid, pidStart: holder.pidStart }), { onBoard: true, logged: false })).kind, 'stale');
    assert.equal((await judge(await recorded(), { onBoard: true, logged: true })).kind, 'healthy');
  });
});

describe('gitOperationUnderWay', () => {
  const repo = { commonDir: '/r/.git' } as RepoPaths;
  test('names the first sign of an operation in the main worktree git dir, or null', () => {
    assert.equal(gitOperationUnderWay(repo, () => false), null);
    for (const sign of ['index.lock', 'MERGE_HEAD', 'rebase-merge', 'rebase-apply', 'CHERRY_PICK_HEAD', 'REVERT_HEAD']) {
      assert.equal(gitOperationUnderWay(repo, (path) => path === join('/r/.git', sign)), sign);
    }
  });
});

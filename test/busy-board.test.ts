// A busy board is never exit 1 (SPEC section 1, issue 20): a write on a board a person keeps
// saving keeps trying for a bounded time (BOARD_WAIT_MS by the guild's clock), pausing a random,
// growing while between attempts, then gives up with exit 3 and nothing written. The bounded wait
// is tested with an injected clock and sleep (no real 30 s); then a real storm: a person saving
// the board 60 times a second, by rename and in place, while agents claim, complete and add.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { printError, type Printer } from '../src/cli/output.js';
import { BoardBusyError, BoardChangedError, ExitCode } from '../src/errors.js';
import { BOARD_WAIT_MS } from '../src/lock/board-mutex.js';
import { openGuild, type Guild } from '../src/tasks/guild.js';
import { updateBoard, type UpdateOptions } from '../src/tasks/update-board.js';
import { cli } from './helpers/cli.js';
import { readLog, tempRepo, type TempRepo } from './helpers/repo.js';
import { agentSummary, formatStormReport, killStormProcesses, runStorm, stormFailures, type SaveStyle, type StormReport } from './helpers/storm.js';
import { mulberry32 } from './helpers/board-mutator.js';

const repos: TempRepo[] = [];
after(() => {
  for (const repo of repos) repo.remove();
  killStormProcesses();
});

function exampleRepo(): TempRepo {
  const repo = tempRepo();
  repos.push(repo);
  assert.equal(cli(['init', '--example'], { cwd: repo.dir }).code, 0);
  return repo;
}


interface FakeTime {
  guild: Guild;
  options: UpdateOptions;
  sleeps: number[];
  now(): number;
  advance(ms: number): void;
}

/** A guild whose clock moves only when a test says so, and whose pauses move it instead of waiting. */
function fakeTime(repo: TempRepo, seed: number): FakeTime {
  let clock = 1_800_000_000_000;
  const sleeps: number[] = [];
  const guild = openGuild(repo.dir, { now: () => clock });
  const options: UpdateOptions = {
    say: () => {},
    jitter: mulberry32(seed),
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
  };
  return { guild, options, sleeps, now: () => clock, advance: (ms) => void (clock += ms) };
}

/** A write of GLD-5's completion during which a person saves the board in place (by the fake clock, `tookMs` later) on each of the first `saves` attempts. */
function completeWhileSaving(repo: TempRepo, time: FakeTime, saves: number, tookMs: number): { run: Promise<void>; attempts: () => number } {
  let attempts = 0;
  const run = updateBoard(
    time.guild,
    'agent-a',
    'complete GLD-5 for agent-a',
    (tx) => {
      attempts++;
      tx.edit.update(tx.board.byId.get('GLD-5')!, { status: 'done', checked: true });
      tx.emit('task.completed', 'GLD-5', {});
      time.advance(tookMs);
      if (attempts <= saves) writeFileSync(time.guild.boardPath, `${readFileSync(time.guild.boardPath, 'utf8')}\nsaved by hand ${attempts}\n`);
    },
    time.options,
  );
  return { run, attempts: () => attempts };
}

describe('the bounded wait on a board that keeps changing (injected clock)', () => {
  test(`gives up after ${BOARD_WAIT_MS / 1000} s of the guild's clock with exit 3, nothing logged or written, the mutex free`, async (t) => {
    const seed = 20_4;
    t.diagnostic(`jitter seed ${seed}`);
    const repo = exampleRepo();
    const time = fakeTime(repo, seed);
    const logBefore = readLog(repo).length;
    const started = time.now();
    // Each attempt takes a second of the fake clock, and the person saves during every one.
    const write = completeWhileSaving(repo, time, Number.POSITIVE_INFINITY, 1_000);
    const error = await write.run.then(
      () => assert.fail('the write should have given up'),
      (thrown: unknown) => thrown,
    );
    assert.ok(error instanceof BoardChangedError, String(error));
    assert.equal(error.exitCode, ExitCode.held);
    assert.equal(error.exitCode, 3);
    assert.equal(error.code, 'ECHANGED');
    assert.match(error.message, /kept changing while complete GLD-5 for agent-a tried to write it \(\d+ tries in 3\ds\); nothing was written/);
    const waited = time.now() - started;
    assert.ok(waited >= BOARD_WAIT_MS, `gave up after ${waited} ms of the clock`);
    // Not a count: about one attempt a second of the clock here, so about 30, not 50.
    assert.equal(error.data.attempts, write.attempts());
    assert.ok(write.attempts() >= 25 && write.attempts() <= 31, `${write.attempts()} attempts`);
    assert.ok((error.data.waitedMs as number) >= BOARD_WAIT_MS);
    // Nothing logged, the person's saves all there, GLD-5 not done, the mutex let go.
    assert.equal(readLog(repo).length, logBefore);
    const board = repo.read();
    assert.match(board, new RegExp(`saved by hand ${write.attempts()}\\n`));
    assert.doesNotMatch(board, /- \[x\] GLD-5 /);
    assert.equal(existsSync(time.guild.mutexPath), false, 'the board mutex was left behind');
  });

  test('pauses between attempts grow exponentially from a few ms to a cap, randomized, outside the mutex', async () => {
    const repo = exampleRepo();
    const time = fakeTime(repo, 7);
    const write = completeWhileSaving(repo, time, 12, 0);
    await write.run;
    assert.equal(write.attempts(), 13);
    assert.equal(time.sleeps.length, 12);
    // pause(n) = base(n) * (0.5 + jitter), base doubling from 2 ms to at most 40 ms.
    const bases = time.sleeps.map((_, i) => Math.min(2 * 2 ** i, 40));
    time.sleeps.forEach((ms, i) => assert.ok(ms >= bases[i]! * 0.5 && ms < bases[i]! * 1.5, `pause ${i + 1}: ${ms} ms, base ${bases[i]}`));
    assert.ok(new Set(time.sleeps.slice(-4).map((ms) => Math.round(ms))).size > 1, `capped pauses all alike: ${time.sleeps.join(', ')}`);
  });

  test('a board that goes quiet before the deadline is written once: one event, the saves kept', async () => {
    const repo = exampleRepo();
    const time = fakeTime(repo, 11);
    const logBefore = readLog(repo).length;
    // 25 attempts of a second each, all saved over: 25 s, inside the 30 s.
    const write = completeWhileSaving(repo, time, 25, 1_000);
    await write.run;
    assert.equal(write.attempts(), 26);
    const events = readLog(repo).slice(logBefore);
    assert.deepEqual(events.map((event) => event.type), ['task.completed']);
    const board = repo.read();
    assert.match(board, /saved by hand 25\n/);
    assert.match(board, /## Done\n(.*\n)*- \[x\] GLD-5 /);
  });

  test('exit 3 for a busy board in the CLI and the MCP envelope; the codes stay ECHANGED and EBUSY', () => {
    const out: string[] = [];
    const printer: Printer = { stdout: (text) => void out.push(text), stderr: () => {} };
    assert.equal(printError(new BoardChangedError('ACTIVE_TASKS.md kept changing'), { json: true }, printer), 3);
    assert.equal(JSON.parse(out.pop()!).error.code, 'ECHANGED');
    assert.equal(printError(new BoardBusyError('the board is being written by pid 1'), { json: true }, printer), 3);
    assert.equal(JSON.parse(out.pop()!).error.code, 'EBUSY');
  });
});

// ---------------------------------------------------------------------------------------------
// The real thing: a person saving 60 times a second, agents as real CLI processes.

const STORM_SECONDS = 5;
const STORM_AGENTS = 4;

function eventsOf(report: StormReport): { type: string; agent: string; task?: string }[] {
  return readFileSync(`${report.dir}/.guild/audit.jsonl`, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { type: string; agent: string; task?: string });
}

describe('a person saving 60 times a second while agents claim, complete and add', () => {
  for (const style of ['rename', 'inplace'] as SaveStyle[]) {
    for (const daemon of [false, true]) {
      test(`${style}, ${daemon ? 'with' : 'without'} the daemon: no exit 1, every write that exited 0 on the board and in the log`, { timeout: 180_000 }, async (t) => {
        const report = await runStorm({ style, daemon, agents: STORM_AGENTS, seconds: STORM_SECONDS, pauseMs: 16, verifyCache: true, keep: true });
        try {
          for (const line of formatStormReport(report).split('\n')) t.diagnostic(line);
          const { exits, unexpected } = agentSummary(report.agents);
          const exit1 = Object.keys(exits).filter((key) => / exit 1$/.test(key));
          assert.deepEqual(exit1, [], `a command exited 1: ${JSON.stringify(unexpected)}`);
          // Exit 3 is allowed (a claim lost, or the 30 s ran out); nothing else unexpected.
          const other = Object.keys(unexpected).filter((key) => !/ exit 3$/.test(key));
          assert.deepEqual(other, [], JSON.stringify(unexpected));
          // Throughput is the bench's figure (20), not this test's: a loaded CI machine may get few operations done.
          assert.deepEqual(stormFailures(report).filter((failure) => !/^the agents did only/.test(failure)), []);
          assert.ok(report.agentOps >= 2, `the agents did only ${report.agentOps} operations`);
          // Every write that exited 0 is in the log, once: by count, per kind and agent.
          const events = eventsOf(report);
          for (const agent of report.agents) {
            const mine = (type: string): number => events.filter((event) => event.type === type && event.agent === agent.agent).length;
            assert.equal(mine('task.claimed'), agent.claims, `${agent.agent}'s claims in the log`);
            assert.equal(mine('task.completed'), agent.completes, `${agent.agent}'s completions in the log`);
            assert.equal(mine('task.created'), agent.adds, `${agent.agent}'s adds in the log`);
          }
          // ... and on the board: completions ticked in Done, created tasks there.
          assert.deepEqual(report.undoneCompletions, []);
          assert.deepEqual(report.missingTasks, []);
          assert.equal(report.replay.code, 0, report.replay.detail);
        } finally {
          rmSync(report.dir, { recursive: true, force: true });
        }
      });
    }
  }
});


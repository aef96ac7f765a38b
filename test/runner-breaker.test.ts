// A broken agent never burns the board (SPEC 8, issue 21 item 4): fake agent CLIs that are not
// logged in, rate limited, or broken in words no pattern knows, run by the built CLI on boards of
// many tasks. At most 4 tries on -j 4, no task Failed, every task's tries as they were, exit 8
// with --no-wait; a parked run that resumes once the agent works again; and a task that really
// fails still fails, without opening the breaker.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BIN, cli } from './helpers/cli.js';
import { boardWith, committedRepo } from './helpers/git-repo.js';
import { runnerFixture, writeFakeAgent } from './helpers/fake-agent.js';
import { readLog, type TempRepo } from './helpers/repo.js';

// Each start appends its task to FAKE_STATE/starts; FAKE_STATE/works makes it work.
const AGENT = (broken: string, code: number) => String.raw`
const fs = require('fs');
const path = require('path');
const state = process.env.FAKE_STATE;
process.stdin.resume();
process.stdin.on('end', () => {
  fs.appendFileSync(path.join(state, 'starts'), process.env.GUILD_TASK + '\n');
  if (fs.existsSync(path.join(state, 'works'))) {
    fs.writeFileSync(process.env.GUILD_TASK + '.txt', 'done\n');
    return;
  }
  console.log('starting up');
  process.stderr.write(${JSON.stringify(broken)} + '\n', () => process.exit(${code}));
});
`;

interface Broken {
  repo: TempRepo;
  state: string;
  agent: string;
}

function brokenBoard(t: { after(fn: () => void): void }, tasks: number, agent: string): Broken {
  const lines = Array.from({ length: tasks }, (_, i) => `- [ ] task ${i + 1}`);
  const repo = committedRepo(boardWith(['max_tries: 2', 'retry_base: 1ms'], lines), { '.gitignore': '*.log\n' });
  const state = mkdtempSync(join(tmpdir(), 'guild-fs-breaker-'));
  t.after(() => {
    repo.remove();
    rmSync(state, { recursive: true, force: true });
  });
  const path = join(state, 'agent.cjs');
  writeFileSync(path, agent);
  return { repo, state, agent: path };
}

const starts = (f: Broken): string[] => (existsSync(join(f.state, 'starts')) ? readFileSync(join(f.state, 'starts'), 'utf8').split('\n').filter(Boolean) : []);
const tasksOf = (f: Broken): { id: string; status: string; tries: number }[] => JSON.parse(cli(['list', '--json'], { cwd: f.repo.dir }).stdout).result.tasks;
const parse = (stdout: string): any[] => stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));

function runJson(f: Broken, args: string[]) {
  const run = cli(['run', '--json', '--agent', 'w', ...args, '--', process.execPath, f.agent], { cwd: f.repo.dir, env: { FAKE_STATE: f.state } });
  return { ...run, events: parse(run.stdout) };
}

/** What every broken-agent run must leave: no task Failed, every task's tries as before, a released event per try given back. */
function assertNothingBurnt(f: Broken, events: any[], reason: RegExp): void {
  const tasks = tasksOf(f);
  assert.deepEqual(tasks.filter((task) => task.status !== 'ready').map((task) => task.id), [], 'every task back in Ready');
  assert.deepEqual(tasks.filter((task) => task.tries !== 0).map((task) => task.id), [], 'no try counted');
  assert.equal(events.filter((e) => e.event === 'task.failed').length, 0);
  const released = readLog(f.repo).filter((entry: any) => entry.type === 'task.released');
  // Each try given back; a claim let through just before the breaker opened is given back unstarted, a release without a try.
  assert.ok(released.length >= starts(f).length, `each try given back in the log: ${released.length} released, ${starts(f).length} tries`);
  for (const entry of released) assert.match((entry.data as { reason: string }).reason, reason);
  assert.equal(readLog(f.repo).filter((entry: any) => entry.type === 'task.failed').length, 0);
}

describe('a broken agent CLI, run -j 4 --no-wait on a board of 12', () => {
  test('"error: not logged in": the first tries open the breaker; given back; exit 8', (t) => {
    const f = brokenBoard(t, 12, AGENT('error: not logged in', 1));
    const run = runJson(f, ['-j', '4', '--no-wait']);
    assert.equal(run.code, 8, run.stderr);
    assert.ok(starts(f).length >= 1 && starts(f).length <= 4, `tries spent: ${starts(f).length}`);
    assertNothingBurnt(f, run.events, /^agent unavailable: error: not logged in$/);
    const open = run.events.filter((e) => e.event === 'agent.unavailable');
    assert.equal(open.length, 1, 'said once');
    assert.equal(open[0].wait, false);
    assert.equal(open[0].reason, 'error: not logged in');
    const summary = run.events.at(-1);
    assert.equal(summary.event, 'run.summary');
    assert.equal(summary.exitCode, 8);
    assert.equal(summary.unavailable.length, 1);
    assert.equal(summary.unavailable[0].stopped, true);
    assert.equal(summary.unavailable[0].givenBack, starts(f).length);
  });

  test('broken in words no pattern knows: three fast failures alike on different tasks open it; at most 4 tries', (t) => {
    const f = brokenBoard(t, 12, AGENT('fatal: session store unreachable (code 17)', 2));
    const run = cli(['run', '--agent', 'w', '-j', '4', '--no-wait', '--', process.execPath, f.agent], { cwd: f.repo.dir, env: { FAKE_STATE: f.state } });
    assert.equal(run.code, 8, `${run.stdout}\n${run.stderr}`);
    assert.ok(starts(f).length >= 3 && starts(f).length <= 4, `tries spent: ${starts(f).length}`);
    assertNothingBurnt(f, [], /^agent unavailable: \d tries in a row, on different tasks, failed within 15s the same way: fatal: session store unreachable/);
    // Said plainly, in the plain output and the summary.
    assert.match(run.stderr, /run: agent .*agent\.cjs unavailable: .*fatal: session store unreachable .*not waiting \(--no-wait\)/);
    assert.match(run.stderr, /given back, the try not counted/);
    assert.match(run.stdout, /run: agent .* unavailable: .*; \d tries given back, not counted; the run stopped on it \(--no-wait, exit 8\)/);
  });

  test('--unavailable adds a pattern: a CLI\'s own wording opens it on the first try', (t) => {
    const f = brokenBoard(t, 6, AGENT('E042 seat not assigned', 1));
    const run = runJson(f, ['-j', '1', '--no-wait', '--unavailable', '/^E\\d+ seat/']);
    assert.equal(run.code, 8, run.stderr);
    assert.deepEqual(starts(f).length, 1);
    assertNothingBurnt(f, run.events, /^agent unavailable: E042 seat not assigned$/);
    const bad = runJson(f, ['--unavailable', '/(/']);
    assert.equal(bad.code, 2);
  });
});

describe('a profile\'s unavailable: patterns', () => {
  test('open the breaker for that profile\'s command only: the other profile drains its tasks; exit 8 with --no-wait', (t) => {
    const state = mkdtempSync(join(tmpdir(), 'guild-fs-breaker-'));
    const broken = join(state, 'agent.cjs');
    writeFileSync(broken, AGENT('E042 seat not assigned', 1));
    const working = writeFakeAgent(state);
    const front = [
      'max_tries: 2',
      'agents:',
      '  seatless:',
      `    command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(broken)}]`,
      '    caps: [a]',
      '    parallel: 2',
      '    unavailable: ["/^E\\\\d+ seat/"]',
      '  works:',
      `    command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(working)}]`,
      '    caps: [b]',
    ];
    const tasks = ['- [ ] ok one caps:a', '- [ ] ok two caps:b', '- [ ] ok three caps:a', '- [ ] ok four caps:b', '- [ ] ok five caps:a'];
    const repo = committedRepo(boardWith(front, tasks), { '.gitignore': '*.log\n' });
    t.after(() => {
      repo.remove();
      rmSync(state, { recursive: true, force: true });
    });
    assert.equal(cli(['trust'], { cwd: repo.dir }).code, 0);
    const run = cli(['run', '--json', '--no-wait'], { cwd: repo.dir, env: { FAKE_STATE: state } });
    const events = parse(run.stdout);
    assert.equal(run.code, 8, run.stderr);
    const open = events.filter((e) => e.event === 'agent.unavailable');
    assert.deepEqual(open.map((e) => [e.reason, e.workers.every((w: string) => w.startsWith('seatless-'))]), [['E042 seat not assigned', true]]);
    const tasksNow = JSON.parse(cli(['list', '--json'], { cwd: repo.dir }).stdout).result.tasks as { id: string; status: string; tries: number }[];
    assert.deepEqual(Object.fromEntries(tasksNow.map((task) => [task.id, [task.status, task.tries]])), {
      'GLD-1': ['ready', 0],
      'GLD-2': ['done', 0],
      'GLD-3': ['ready', 0],
      'GLD-4': ['done', 0],
      'GLD-5': ['ready', 0],
    });
  });
});

/** `run --json -j N` on the broken board, as a process the test watches (and signals). */
function spawnRun(f: Broken, jobs: number): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, FAKE_STATE: f.state };
  delete env.GUILD_AGENT;
  return spawn(process.execPath, [BIN, 'run', '--json', '--agent', 'w', '-j', String(jobs), '--', process.execPath, f.agent], { cwd: f.repo.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('parked until the reset the agent printed', () => {
  test('"try again in 2 seconds": waits, says until when, then one try; working again, every task ends Done', async (t) => {
    const f = brokenBoard(t, 8, AGENT('Rate limit reached; try again in 2 seconds', 1));
    const child = spawnRun(f, 4);
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      // The agent recovers as soon as the runner says it waits: the try after the wait works.
      if (stdout.includes('"agent.unavailable"') && !existsSync(join(f.state, 'works'))) writeFileSync(join(f.state, 'works'), '');
    });
    child.stderr!.resume();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const events = parse(stdout);
    assert.equal(code, 0, stdout);
    const open = events.find((e) => e.event === 'agent.unavailable');
    assert.ok(open, 'said it waits');
    assert.equal(open.wait, true);
    assert.match(open.reason, /Rate limit reached; try again in 2 seconds/);
    const waited = Date.parse(open.until) - Date.parse(open.time);
    assert.ok(waited >= 1_500 && waited <= 2_500, `waits the 2 s it was told: ${waited} ms`);
    assert.ok(events.some((e) => e.event === 'agent.available'));
    const tasks = tasksOf(f);
    assert.deepEqual(tasks.map((task) => task.status), tasks.map(() => 'done'));
    assert.deepEqual(tasks.map((task) => task.tries), tasks.map(() => 0), 'the given-back tries were not counted');
    assert.equal(events.filter((e) => e.event === 'task.failed').length, 0);
    const given = events.filter((e) => e.event === 'task.released' && e.unavailable === true);
    assert.ok(given.length >= 1 && given.length <= 4, `given back: ${given.length}`);
    // The first try after the wait started only once the wait was over. A claim made in the
    // instant the breaker opened is given back before its agent starts (released, try 0): no try.
    const unstarted = (claim: any): boolean => events.some((e) => e.event === 'task.released' && e.try === 0 && e.task === claim.task && e.worker === claim.worker && events.indexOf(e) > events.indexOf(claim));
    const firstAfter = events.find((e) => e.event === 'task.claimed' && events.indexOf(e) > events.indexOf(open) && !unstarted(e));
    assert.ok(firstAfter, 'a try after the wait');
    assert.ok(Date.parse(firstAfter.time) >= Date.parse(open.until) - 100, `no try while parked: ${JSON.stringify(events.slice(events.indexOf(open)))}`);
  });

  test('Ctrl-C while parked ends the run cleanly: nothing Failed, the tries given back', async (t) => {
    const f = brokenBoard(t, 6, AGENT('error: not logged in', 1));
    const child = spawnRun(f, 2);
    let stdout = '';
    let signalled = false;
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const events = parse(stdout.slice(0, stdout.lastIndexOf('\n') + 1));
      // Parked: the breaker open and both tries given back.
      if (!signalled && events.some((e) => e.event === 'agent.unavailable') && events.filter((e) => e.event === 'task.released').length === starts(f).length) {
        signalled = true;
        child.kill('SIGINT');
      }
    });
    child.stderr!.resume();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const events = parse(stdout);
    assert.equal(code, 6, stdout);
    assert.equal(events.at(-1).event, 'run.summary');
    assert.equal(events.at(-1).unavailable[0].stopped, false);
    assertNothingBurnt(f, events, /^agent unavailable: error: not logged in$/);
  });
});

describe('a task that really fails', () => {
  test('fails as before, among tasks that work; the breaker stays closed', (t) => {
    const f = runnerFixture(t, ['max_tries: 1'], ['- [ ] ok one', '- [ ] fail two', '- [ ] ok three', '- [ ] ok four', '- [ ] ok five']);
    const run = cli(['run', '--json', '--agent', 'w', '-j', '4', '--', process.execPath, f.agent], { cwd: f.repo.dir, env: { FAKE_STATE: f.state } });
    assert.equal(run.code, 6, run.stderr);
    const events = parse(run.stdout);
    assert.equal(events.filter((e) => e.event === 'agent.unavailable').length, 0);
    const failed = events.filter((e) => e.event === 'task.failed');
    assert.deepEqual(failed.map((e) => [e.task, e.poisoned]), [['GLD-2', true]]);
    assert.equal(events.filter((e) => e.event === 'task.done').length, 4);
    assert.deepEqual(events.at(-1).unavailable, []);
  });

  test('alone on the board, failing fast the same way on each try: held, then failed, retried, and Failed at max_tries', (t) => {
    const f = runnerFixture(t, ['max_tries: 2', 'retry_base: 1ms'], ['- [ ] fail one']);
    const run = cli(['run', '--json', '--agent', 'w', '-j', '2', '--', process.execPath, f.agent], { cwd: f.repo.dir, env: { FAKE_STATE: f.state } });
    assert.equal(run.code, 6, run.stderr);
    const events = parse(run.stdout);
    assert.deepEqual(events.filter((e) => e.event === 'task.failed').map((e) => [e.try, e.poisoned]), [[1, false], [2, true]]);
    assert.equal(events.filter((e) => e.event === 'agent.unavailable').length, 0);
  });
});



// `guild-fs output <ID>` and the runs `show` lists (issue 12 item 6): the logs are written here as
// the runner writes them (runner/run-log.ts), and read back by the built CLI as real processes.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BIN, cli, type CliResult } from './helpers/cli.js';
import { boardWith } from './helpers/git-repo.js';
import { tempRepo, type TempRepo } from './helpers/repo.js';
import { formatRunLine, runLogPath, runsDir } from '../src/runner/run-log.js';
import { join } from 'node:path';

function setup(t: { after(fn: () => void): void }): TempRepo {
  const repo = tempRepo(boardWith([], ['- [ ] GLD-1 Add the login form', '- [ ] GLD-2 Create the users table']));
  t.after(() => repo.remove());
  return repo;
}

const commonDir = (repo: TempRepo): string => join(repo.dir, '.git');
const at = (second: number): Date => new Date(Date.UTC(2026, 10, 30, 12, 0, second));

/** A try's log, as the runner leaves it: lines, then (when `end` is given) the end line. */
function writeTry(repo: TempRepo, id: string, tryNumber: number, lines: [('out' | 'err'), string][], end?: string): string {
  mkdirSync(runsDir(commonDir(repo), id), { recursive: true });
  const path = runLogPath(commonDir(repo), id, tryNumber);
  const text = lines.map(([kind, line], i) => formatRunLine(kind, line, at(i))).join('') + (end === undefined ? '' : formatRunLine('end', end, at(59)));
  writeFileSync(path, text);
  return path;
}

function ok(result: CliResult, what: string): CliResult {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** `output --json` on success streams NDJSON, not the one document cli() parses: run it bare. */
function outputJson(repo: TempRepo, args: string[]): any[] {
  const run = spawnSync(process.execPath, [BIN, 'output', ...args, '--json'], { cwd: repo.dir, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return ndjson(run.stdout);
}

const ndjson = (text: string): any[] => text.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));

describe('guild-fs output', () => {
  test('the latest try by default, --try N for another, --json as NDJSON; show lists the tries', (t) => {
    const repo = setup(t);
    writeTry(repo, 'GLD-1', 1, [['out', 'first try'], ['err', 'it broke']], 'exit 1');
    writeTry(repo, 'GLD-1', 2, [['out', 'second try'], ['err', 'a warning'], ['out', '  indented, with trailing space '], ['out', '']], 'exit 0');

    const latest = ok(cli(['output', 'GLD-1'], { cwd: repo.dir }), 'output');
    assert.equal(latest.stdout, `second try\na warning\n  indented, with trailing space \n\n-- try 2 ended ${at(59).toISOString()}: exit 0\n`);
    const first = ok(cli(['output', 'gld-1', '--try', '1'], { cwd: repo.dir }), 'output --try 1');
    assert.equal(first.stdout, `first try\nit broke\n-- try 1 ended ${at(59).toISOString()}: exit 1\n`);

    const json = outputJson(repo, ['GLD-1']);
    assert.deepEqual(json.map((line) => [line.task, line.try, line.kind, line.text]), [
      ['GLD-1', 2, 'out', 'second try'],
      ['GLD-1', 2, 'err', 'a warning'],
      ['GLD-1', 2, 'out', '  indented, with trailing space '],
      ['GLD-1', 2, 'out', ''],
      ['GLD-1', 2, 'end', 'exit 0'],
    ]);
    assert.equal(json[0].time, at(0).toISOString());

    const shown = ok(cli(['show', 'GLD-1', '--json'], { cwd: repo.dir }), 'show --json').json!.result;
    assert.deepEqual(shown.runs.map((run: { try: number; bytes: number }) => run.try), [1, 2]);
    assert.ok(shown.runs.every((run: { bytes: number; modified: string }) => run.bytes > 0 && !Number.isNaN(Date.parse(run.modified))));
    assert.match(ok(cli(['show', 'GLD-1'], { cwd: repo.dir }), 'show').stdout, /\nruns \(guild-fs output GLD-1 --try N\):\n  try 1 +\d+B  \S+\n  try 2 /);
    assert.doesNotMatch(ok(cli(['show', 'GLD-2'], { cwd: repo.dir }), 'show GLD-2').stdout, /runs/);
  });

  test('exit 4 for an unknown task, a task without output, a try that does not exist; exit 2 for bad input', (t) => {
    const repo = setup(t);
    writeTry(repo, 'GLD-1', 1, [['out', 'x']], 'exit 0');
    const cases: [string[], number, string, RegExp][] = [
      [['output', 'GLD-9', '--json'], 4, 'ENOTASK', /^no such task: GLD-9$/],
      [['output', 'GLD-2', '--json'], 4, 'ENORUN', /^GLD-2 has no output for any try: no try of it has output yet/],
      [['output', 'GLD-1', '--try', '3', '--json'], 4, 'ENORUN', /^GLD-1 has no output for try 3: tries with output: 1$/],
      [['output', 'GLD-1', '--try', '0', '--json'], 2, 'EUSAGE', /^--try must be a try number from 1/],
      [['output', 'GLD-1', '--try', '1.5', '--json'], 2, 'EUSAGE', /^--try must be a try number from 1/],
      [['output', '../x', '--json'], 2, 'EBADID', /^not a task ID/],
    ];
    for (const [args, code, error, message] of cases) {
      const result = cli(args, { cwd: repo.dir });
      assert.equal(result.code, code, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
      assert.equal(result.json!.ok, false);
      assert.equal(result.json!.error!.code, error, args.join(' '));
      assert.match(result.json!.error!.message, message);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    }
    assert.equal(cli(['output', 'GLD-9'], { cwd: repo.dir }).stderr, 'guild-fs: no such task: GLD-9\n');
  });

  test('a long log is printed whole, in order; a torn last line is left for the writer to finish', (t) => {
    const repo = setup(t);
    const lines = Array.from({ length: 20_000 }, (_, i): ['out' | 'err', string] => [i % 3 === 0 ? 'err' : 'out', `line ${i} ${'x'.repeat(i % 50)}`]);
    const path = writeTry(repo, 'GLD-1', 1, lines);
    appendFileSync(path, '2026-11-30T12:00:00.000Z out half a li');
    const result = ok(cli(['output', 'GLD-1'], { cwd: repo.dir }), 'output');
    assert.equal(result.stdout, lines.map(([, text]) => `${text}\n`).join(''));
  });
});

/** `output --follow` as a running process whose stdout the test watches as it comes. */
function follow(repo: TempRepo, args: string[]) {
  const child = spawn(process.execPath, [BIN, 'output', ...args, '--follow'], { cwd: repo.dir });
  let stdout = '';
  let stderr = '';
  const waiters: (() => void)[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    child,
    exited,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    /** Resolves once stdout holds `text` (no timing: the test waits on what it sees). */
    async sees(text: string): Promise<void> {
      while (!stdout.includes(text)) {
        if (child.exitCode !== null) throw new Error(`output exited ${child.exitCode} before printing ${JSON.stringify(text)}:\n${stdout}\n${stderr}`);
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
  };
}

describe('guild-fs output --follow', () => {
  test('prints what the try adds, a line only once it is whole, and ends with the end line', async (t) => {
    const repo = setup(t);
    const path = writeTry(repo, 'GLD-1', 1, [['out', 'starting']]);
    // Held, as a runner holds it: following must not give up while the try runs.
    ok(cli(['claim', 'GLD-1', '--no-worktree'], { cwd: repo.dir, agent: 'runner-1' }), 'claim');
    const running = follow(repo, ['GLD-1']);
    t.after(() => running.child.kill());
    await running.sees('starting\n');
    appendFileSync(path, formatRunLine('err', 'step 1', at(1)));
    await running.sees('step 1\n');
    // A line written in two pieces is printed once, whole.
    const line = formatRunLine('out', 'step 2 done', at(2));
    appendFileSync(path, line.slice(0, 30));
    appendFileSync(path, line.slice(30));
    await running.sees('step 2 done\n');
    appendFileSync(path, formatRunLine('end', 'exit 0 after 3s', at(3)) + formatRunLine('out', 'after the end', at(4)));
    assert.equal(await running.exited, 0, running.stderr);
    assert.equal(running.stdout, `starting\nstep 1\nstep 2 done\n-- try 1 ended ${at(3).toISOString()}: exit 0 after 3s\n`);
  });

  test('--json follows as NDJSON; a try that already ended prints and exits at once', async (t) => {
    const repo = setup(t);
    writeTry(repo, 'GLD-1', 1, [['out', 'done already']], 'exit 0');
    const done = follow(repo, ['GLD-1', '--json']);
    assert.equal(await done.exited, 0, done.stderr);
    assert.deepEqual(ndjson(done.stdout).map((line) => line.kind), ['out', 'end']);
  });

  test('a try whose runner died (no end line, its task no longer held) ends with a note, not forever', async (t) => {
    const repo = setup(t);
    writeTry(repo, 'GLD-1', 1, [['out', 'killed mid-way']]);
    const orphan = follow(repo, ['GLD-1']);
    t.after(() => orphan.child.kill());
    assert.equal(await orphan.exited, 0, orphan.stderr);
    assert.equal(orphan.stdout, 'killed mid-way\n');
    assert.match(orphan.stderr, /try 1 of GLD-1 has no end line and GLD-1 is no longer held: its runner stopped without finishing it/);
  });

  test('a try whose runner was killed (its claim bound to a process that is gone) ends with a note too', async (t) => {
    const repo = setup(t);
    writeTry(repo, 'GLD-1', 1, [['out', 'killed with SIGKILL']]);
    // The runner binds its claims to its own process; this one has exited before the claim.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    ok(cli(['claim', 'GLD-1', '--no-worktree', '--pid', dead], { cwd: repo.dir, agent: 'runner-1' }), 'claim bound to a gone process');
    const orphan = follow(repo, ['GLD-1']);
    t.after(() => orphan.child.kill());
    assert.equal(await orphan.exited, 0, orphan.stderr);
    assert.equal(orphan.stdout, 'killed with SIGKILL\n');
    assert.match(orphan.stderr, new RegExp(`try 1 of GLD-1 has no end line and its claim's process is gone \\(process ${dead} is gone\\)`));
  });
});

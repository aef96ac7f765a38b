// Fuzz: a few hundred seeded mutations of the hand-written boards in fixtures/ (issue 11), each run
// through the real CLI in a temp git repo. Whatever the board holds, guild-fs must answer like a
// tool and not like a crash:
// - every exit is 0, 2 (bad input), 4 (no such task), 5 (nothing to do) or 6 (a check failed);
// - stderr has no stack trace, and no process runs past a generous timeout (a hang fails);
// - --json prints exactly one JSON document, ok exactly when the exit is 0;
// - a line number in an error or a listed task points at a line the board has, holding that ID;
// - a command that exits non-zero, or only reads, leaves the board's bytes alone;
// - a write that exits 0 keeps every byte outside the tasks it changed (helpers/kept-bytes.ts says
//   exactly what that means), loses no task, and `add` leaves its task where the board shows it;
// - the audit log stays one JSON object a line;
// - the seed boards themselves, unmutated, are never refused (a second test runs each as it is).
// Failures are collected over the whole run and reported once per kind, each with its seed, case
// number, fixture, mutations, command, exit, stderr and board, so that every distinct failure shows
// at once. Known ones are listed, with minimal boards, in test/fuzz-findings.md.
//
// Each case runs three commands in one repo: `add` (write), then `claim` or `sync` (write), and one
// of `list`, `ready`, `next` (read) or `doctor`, `replay --check` (check), before or after the two
// writes. Spawning is the cost, so cases run in a small pool, each worker reusing one repo.
//
// GUILD_FUZZ_SEED (default below) and GUILD_FUZZ_COUNT (200) choose the run; GUILD_FUZZ_CASE=<n>
// replays one case of that seed; GUILD_FUZZ_POOL (3) and GUILD_FUZZ_TIMEOUT_MS (60000: a hang, not a slow case on 2 busy cores) tune it;
// GUILD_FUZZ_REPORT=<file> writes every failure, board included (base64), as JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeBoard } from '../src/board/board-bytes.js';
import { BIN } from './helpers/cli.js';
import { caseSeed, mulberry32, mutateBoard, Random } from './helpers/board-mutator.js';
import { keptBytesProblems, parseBytes } from './helpers/kept-bytes.js';
import { tempRepo, type TempRepo } from './helpers/repo.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SEED = Number(process.env.GUILD_FUZZ_SEED ?? 20261130);
const COUNT = Number(process.env.GUILD_FUZZ_COUNT ?? 200);
const ONLY = process.env.GUILD_FUZZ_CASE === undefined ? null : Number(process.env.GUILD_FUZZ_CASE);
const POOL = Number(process.env.GUILD_FUZZ_POOL ?? 3);
const TIMEOUT_MS = Number(process.env.GUILD_FUZZ_TIMEOUT_MS ?? 60_000);
const REPORT = process.env.GUILD_FUZZ_REPORT;

const ALLOWED_EXITS = new Set([0, 2, 4, 5, 6]);
const CRASH = /^\s+at |TypeError|RangeError|ReferenceError|SyntaxError|Maximum call stack|FATAL ERROR|out of memory|node:internal/m;
const WRITERS = new Set(['add', 'claim', 'sync']);

/** The seed boards: every fixture, the broken ones and the fuzz-only odd ones, as bytes. */
function seedBoards(): { name: string; bytes: Buffer }[] {
  const boards: { name: string; bytes: Buffer }[] = [];
  for (const dir of ['fixtures/boards', 'fixtures/boards/broken', 'fixtures/fuzz']) {
    const path = join(ROOT, dir);
    if (!existsSync(path)) continue;
    for (const name of readdirSync(path).sort()) {
      if (name.endsWith('.md')) boards.push({ name: `${dir}/${name}`, bytes: readFileSync(join(path, name)) });
    }
  }
  return boards;
}

interface Run {
  args: string[];
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  json?: any;
}

function runCli(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, GUILD_VERIFY_CACHE: '1' };
    delete env.GUILD_AGENT;
    delete env.GUILD_CAPS;
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ args, code, signal, stdout, stderr, timedOut });
    });
  });
}

interface Failure {
  /** What kind of failure, without the details that vary from case to case: for grouping. */
  kind: string;
  detail: string;
  command: string;
  exit: number | null;
  stderr: string;
  caseIndex: number;
  fixture: string;
  steps: string[];
  board: Buffer;
}

interface Case {
  index: number;
  seed: number;
  fixture: string;
  steps: string[];
  board: Buffer;
  /** An unmutated board that is not in broken/: a valid board, which no command may refuse. */
  valid: boolean;
  /** The commands in the order they run: `add`, then `claim` or `sync`, with a reader or checker first or last. */
  commands: string[][];
}

const TITLES = ['Fuzz task', 'Fuzz task with ünïcödé ✓', 'Fuzz task `prio:high` lookalike', 'Fuzz: task <!-- not a comment', 'Fuzz task ## not a heading', 'Fuzz task needs:GLD-1 lookalike inside'];

function makeCase(index: number, seeds: { name: string; bytes: Buffer }[]): Case {
  const seed = caseSeed(SEED, index);
  const random = new Random(mulberry32(seed));
  const fixture = random.pick(seeds);
  const { board, steps } = mutateBoard(fixture.bytes, random);
  const title = random.pick(TITLES);
  const addArgs = ['add', title];
  if (random.chance(0.3)) addArgs.push('--status', random.pick(['backlog', 'blocked', 'ready']));
  if (random.chance(0.3)) addArgs.push('--body', random.pick(['one line', 'two\nlines', '```\nfenced', '<!-- open']));
  if (random.chance(0.2)) addArgs.push('--needs', random.pick(['GLD-1', 'T-1', 'GLD-2,GLD-3', 'gld-k3', 'GLD-K3F9']));
  if (random.chance(0.2)) addArgs.push('--prio', random.pick(['high', 'low', 'critical']));
  const writer = random.chance(0.5) ? ['claim', '--no-worktree', '--agent', 'fuzz'] : ['sync'];
  const checker = random.pick([['list'], ['ready'], ['next'], ['doctor'], ['replay', '--check']]);
  // The reader sees the mutated board as it is in half the cases, and after two writes in the others.
  const commands = random.chance(0.5) ? [checker, addArgs, writer] : [addArgs, writer, checker];
  return { index, seed, fixture: fixture.name, steps, board, valid: steps.length === 0 && !fixture.name.includes('/broken/'), commands };
}

/** A repo for one worker, emptied of everything guild-fs wrote before each case. */
function resetRepo(repo: TempRepo, board: Buffer): void {
  rmSync(join(repo.dir, '.guild'), { recursive: true, force: true });
  rmSync(join(repo.dir, '.git', 'guild'), { recursive: true, force: true });
  for (const name of readdirSync(repo.dir)) if (name !== '.git') rmSync(join(repo.dir, name), { recursive: true, force: true });
  mkdirSync(repo.dir, { recursive: true });
  writeFileSync(repo.board, board);
}

function readBoard(repo: TempRepo): Buffer | null {
  return existsSync(repo.board) ? readFileSync(repo.board) : null;
}

/** The checks every command gets, whatever it did. */
function checkRun(run: Run, board: Buffer | null): { kind: string; detail: string }[] {
  const problems: { kind: string; detail: string }[] = [];
  const name = run.args[0]!;
  if (run.timedOut) return [{ kind: `${name}: hung`, detail: `no exit after ${TIMEOUT_MS} ms` }];
  if (run.code === null || !ALLOWED_EXITS.has(run.code)) problems.push({ kind: `${name}: exit ${run.code ?? run.signal}`, detail: `exit ${run.code} signal ${run.signal}` });
  const crash = CRASH.exec(run.stderr);
  if (crash) problems.push({ kind: `${name}: stack trace or crash on stderr`, detail: `stderr matches ${JSON.stringify(crash[0])}` });
  let json: any;
  try {
    json = JSON.parse(run.stdout);
  } catch {
    problems.push({ kind: `${name}: --json printed no single JSON document`, detail: `stdout: ${run.stdout.slice(0, 300)}` });
    return problems;
  }
  run.json = json;
  if (run.stdout.trim().includes('\n')) problems.push({ kind: `${name}: --json printed more than one line`, detail: run.stdout.slice(0, 300) });
  if (json?.ok !== (run.code === 0)) problems.push({ kind: `${name}: ok is ${json?.ok} but the exit is ${run.code}`, detail: run.stdout.slice(0, 300) });
  if (json?.ok === false && (typeof json.error?.code !== 'string' || typeof json.error?.message !== 'string')) {
    problems.push({ kind: `${name}: error envelope without code or message`, detail: run.stdout.slice(0, 300) });
  }
  if (board !== null) problems.push(...lineNumberProblems(name, json, board));
  return problems;
}

/** Line numbers the CLI prints must point at the board's lines: the error's, and each listed task's. */
function lineNumberProblems(name: string, json: any, board: Buffer): { kind: string; detail: string }[] {
  const problems: { kind: string; detail: string }[] = [];
  const lines = decodeBoard(board).text.split('\n');
  const lineHas = (line: number, id: string): boolean => {
    const text = lines[line - 1];
    return text !== undefined && new RegExp(`(^|[^A-Za-z0-9])${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![0-9${/-[A-Z]/.test(id) ? 'A-Z' : ''}])`).test(text);
  };
  const message: string = json?.error?.message ?? '';
  const where = /ACTIVE_TASKS\.md:(\d+)/.exec(message);
  if (where && Number(where[1]) > lines.length) {
    problems.push({ kind: `${name}: error names a line past the end of the board`, detail: `${message} (the board has ${lines.length} lines)` });
  }
  const id: unknown = json?.error?.data?.id;
  if (where && typeof id === 'string' && !lineHas(Number(where[1]), id)) {
    problems.push({ kind: `${name}: error names a line that does not hold its task`, detail: `${message}; line ${where[1]} is ${JSON.stringify(lines[Number(where[1]) - 1]?.slice(0, 120))}` });
  }
  const listed: any[] = Array.isArray(json?.result?.tasks) ? json.result.tasks : json?.result?.task ? [json.result.task] : [];
  for (const task of listed) {
    if (typeof task?.id === 'string' && typeof task?.line === 'number' && !lineHas(task.line, task.id)) {
      problems.push({ kind: `${name}: a task's line number points elsewhere`, detail: `${task.id} at line ${task.line}, which is ${JSON.stringify(lines[task.line - 1]?.slice(0, 120))}` });
      break;
    }
  }
  return problems;
}

async function runCase(repo: TempRepo, c: Case): Promise<Failure[]> {
  resetRepo(repo, c.board);
  const failures: Failure[] = [];
  const fail = (run: Run, kind: string, detail: string): void => {
    failures.push({ kind, detail, command: run.args.join(' '), exit: run.code, stderr: run.stderr.slice(0, 600), caseIndex: c.index, fixture: c.fixture, steps: c.steps, board: c.board });
  };
  for (const args of c.commands) {
    const before = readBoard(repo);
    const run = await runCli([...args, '--json'], repo.dir);
    const after = readBoard(repo);
    for (const problem of checkRun(run, run.code === 0 && WRITERS.has(args[0]!) ? after : before)) fail(run, problem.kind, problem.detail);
    if (run.timedOut) break; // the next command would only wait on the same board
    const refusal: string = run.json?.error?.message ?? '';
    if (c.valid && run.code === 2 && refusal.startsWith('ACTIVE_TASKS.md')) fail(run, `${args[0]}: a valid seed board was refused`, refusal);
    const changed = !(before === null ? after === null : after !== null && before.equals(after));
    if (changed && (run.code !== 0 || !WRITERS.has(args[0]!))) {
      fail(run, `${args[0]}: the board changed though the command ${run.code !== 0 ? `exited ${run.code}` : 'only reads'}`, `${before?.length} bytes -> ${after?.length} bytes`);
    }
    if (run.code === 0 && WRITERS.has(args[0]!) && before && after && changed) {
      for (const problem of await keptBytesProblems(before, after)) fail(run, `${args[0]}: ${problem.kind}`, problem.detail);
    }
    if (args[0] === 'add' && run.code === 0 && after) {
      const id: unknown = run.json?.result?.id;
      const lines = decodeBoard(after).text.split('\n');
      if (typeof id !== 'string' || !lines.some((line) => /^\s{0,3}[-*+]\s+\[[ xX]\]\s/.test(line) && line.includes(` ${id} `))) {
        fail(run, 'add: the added task is not on the board as a task line', `id ${String(id)}`);
      } else {
        // The board's own reader must see it too: a task appended inside an open fence or comment is lost.
        const parsed = await parseBytes(after);
        if ('error' in parsed) fail(run, 'add: the board it wrote does not parse', parsed.error.message);
        else if (!parsed.board.byId.has(id)) fail(run, 'add: the added task is on the board but not a task there', `id ${id}`);
      }
    }
  }
  // The log is appended to, one event a line: whatever the board held, every line is one JSON object.
  const log = join(repo.dir, '.guild', 'audit.jsonl');
  if (existsSync(log)) {
    const lines = readFileSync(log, 'utf8').split('\n').filter((line) => line !== '');
    const bad = lines.findIndex((line) => {
      try {
        return typeof JSON.parse(line) !== 'object';
      } catch {
        return true;
      }
    });
    if (bad >= 0) {
      const last: Run = { args: c.commands[c.commands.length - 1]!, code: null, signal: null, stdout: '', stderr: '', timedOut: false };
      fail(last, 'the audit log has a line that is not one JSON object', `line ${bad + 1} of ${lines.length}: ${JSON.stringify(lines[bad]!.slice(0, 200))}`);
    }
  }
  return failures;
}

function describeFailure(f: Failure, count: number): string {
  const board = f.board.toString('latin1');
  const excerpt = board.length > 1500 ? `${JSON.stringify(board.slice(0, 1500))}... (${f.board.length} bytes)` : JSON.stringify(board);
  return [
    `- ${f.kind}  (${count} case${count === 1 ? '' : 's'})`,
    f.caseIndex < 0
      ? `    replay: the seed board ${f.fixture}, unmutated (test 'the seed boards as they are')`
      : `    replay: GUILD_FUZZ_SEED=${SEED} GUILD_FUZZ_CASE=${f.caseIndex} node --import tsx --test --test-name-pattern=mutated test/fuzz-boards.test.ts`,
    `    fixture: ${f.fixture}; mutations: ${f.steps.join('; ')}`,
    `    command: guild-fs ${f.command} -> exit ${f.exit}`,
    `    ${f.detail}`,
    `    stderr: ${JSON.stringify(f.stderr.slice(0, 300))}`,
    `    board: ${excerpt}`,
  ].join('\n');
}

test('the kept-bytes check passes the edits a write may make and catches the others', async () => {
  const board = Buffer.from('# Board\n\nFree text.\n\n## Ready\n- [ ] T-1 a\n  body\n- [ ] T-2 b\n\n## Done\n- [x] T-3 c');
  const allowed = [
    // a claim: T-1 moves to a new In Progress section, with empty lines around its heading
    '# Board\n\nFree text.\n\n## Ready\n- [ ] T-2 b\n\n## In Progress\n- [ ] T-1 a owner:x\n  body\n\n## Done\n- [x] T-3 c',
    // an add to Ready
    '# Board\n\nFree text.\n\n## Ready\n- [ ] T-1 a\n  body\n- [ ] T-2 b\n- [ ] T-4 new\n\n## Done\n- [x] T-3 c',
    // an add to a new last section: the last line gains its line end
    '# Board\n\nFree text.\n\n## Ready\n- [ ] T-1 a\n  body\n- [ ] T-2 b\n\n## Done\n- [x] T-3 c\n\n## Failed\n- [ ] T-4 new\n',
  ];
  for (const after of allowed) assert.deepEqual(await keptBytesProblems(board, Buffer.from(after)), [], after);
  const caught: [string, string][] = [
    ['# Board\n\nFree text!\n\n## Ready\n- [ ] T-1 a\n  body\n- [ ] T-2 b\n\n## Done\n- [x] T-3 c', 'a line outside every task changed'],
    ['# Board\r\n\nFree text.\n\n## Ready\n- [ ] T-1 a\n  body\n- [ ] T-2 b\n\n## Done\n- [x] T-3 c', 'a line outside every task changed'],
    ['# Board\n\nFree text.\n\n## Ready\n- [ ] T-1 a\n  BODY\n- [ ] T-2 b\n\n## Done\n- [x] T-3 c', "a task's body changed"],
    ['# Board\n\nFree text.\n\n## Ready\n- [ ] T-1 a\n  body\n- [ ]  T-2 b\n\n## Done\n- [x] T-3 c', 'a task that did not change was rewritten'],
    ['# Board\n\nFree text.\n\n## Ready\n- [ ] T-1 a\n  body\n\n## Done\n- [x] T-3 c', 'a task is gone'],
    ['# Board\n\nFree text.\n\n## Ready\n- [ ] T-1 a\n  body\n- [ ] T-2 b\n\n\n## Done\n- [x] T-3 c', 'a line outside every task changed'],
  ];
  for (const [after, kind] of caught) {
    assert.deepEqual((await keptBytesProblems(board, Buffer.from(after))).map((problem) => problem.kind), [kind], after);
  }
});

test('the seed boards as they are: read, written and synced', { timeout: 10 * 60_000 }, async () => {
  const seeds = seedBoards().filter((seed) => !seed.name.includes('/broken/'));
  const repo = tempRepo();
  const failures: Failure[] = [];
  try {
    for (const [index, seed] of seeds.entries()) {
      const c: Case = { index: -1 - index, seed: 0, fixture: seed.name, steps: [], board: seed.bytes, valid: true, commands: [['list'], ['add', 'Fuzz task'], ['sync']] };
      failures.push(...(await runCase(repo, c)));
    }
  } finally {
    repo.remove();
  }
  assert.equal(failures.length, 0, failures.map((f) => describeFailure(f, 1)).join('\n'));
});

test(`fuzz: mutated boards through the CLI (seed ${SEED}, ${ONLY === null ? `${COUNT} cases` : `case ${ONLY}`})`, { timeout: 30 * 60_000 }, async (t) => {
  const seeds = seedBoards();
  assert.ok(seeds.length >= 20, 'the seed boards are there');
  const indexes = ONLY === null ? Array.from({ length: COUNT }, (_, i) => i) : [ONLY];
  const cases = indexes.map((index) => makeCase(index, seeds));
  const failures: Failure[] = [];
  let nextCase = 0;
  const worker = async (): Promise<void> => {
    const repo = tempRepo();
    try {
      while (nextCase < cases.length) failures.push(...(await runCase(repo, cases[nextCase++]!)));
    } finally {
      repo.remove();
    }
  };
  await Promise.all(Array.from({ length: Math.min(POOL, cases.length) }, worker));

  if (REPORT) {
    writeFileSync(REPORT, JSON.stringify(failures.map((f) => ({ ...f, seed: SEED, board: f.board.toString('base64') })), null, 1));
  }
  // One entry per kind of failure, with the first case that showed it: enough to replay each.
  const byKind = new Map<string, Failure[]>();
  for (const f of failures) byKind.set(f.kind, [...(byKind.get(f.kind) ?? []), f]);
  t.diagnostic(`${cases.length} cases, ${failures.length} failures of ${byKind.size} kinds`);
  const report = [...byKind.values()].map((list) => describeFailure(list[0]!, new Set(list.map((f) => f.caseIndex)).size)).join('\n');
  assert.equal(failures.length, 0, `${byKind.size} kinds of failure in ${new Set(failures.map((f) => f.caseIndex)).size} of ${cases.length} cases (seed ${SEED}):\n${report}`);
});

// Issue 20, item 1: an editor's buffer opened before a whole run. A person opens ACTIVE_TASKS.md,
// `guild-fs run -j 3` (worktrees on) drives 34 tasks to Done, writing the board well over a
// hundred times, and then the person saves their old buffer with an edit. The save must be merged
// against the very version they started from: every Done task stays Done, their edit is on the
// board, and no event blames them for a task they did not touch. The same after the board was
// committed and after `log rotate`; and a deliberate move in a fresh buffer is obeyed.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from './helpers/cli.js';
import { writeFakeAgent } from './helpers/fake-agent.js';
import { boardWith, committedRepo, git } from './helpers/git-repo.js';
import { readLog, type TempRepo } from './helpers/repo.js';
import { tasksOnBoard } from './helpers/storm-check.js';
import { insertNote, saveBoard } from './helpers/storm-person.js';

const TASKS = 34;
const NOTE = 'A note typed into a buffer opened before the run.';

interface RunFixture {
  repo: TempRepo;
  /** The board as the person's editor loaded it, before the run. */
  stale: string;
  /** How many log events there were when the person saved. */
  eventsBefore: number;
}

/** 34 tasks (the last ten each needing one of the first ten), run to the end by three workers. */
function runToTheEnd(t: { after(fn: () => void): void }): RunFixture {
  const tasks = Array.from({ length: TASKS }, (_, i) => `- [ ] GLD-${i + 1} commits task ${i + 1}${i >= TASKS - 10 ? ` needs:GLD-${i - (TASKS - 11)}` : ''}`);
  const repo = committedRepo(boardWith([], tasks), { '.gitignore': '*.log\n' });
  const state = mkdtempSync(join(tmpdir(), 'guild-fs-stale-editor-'));
  t.after(() => {
    repo.remove();
    rmSync(state, { recursive: true, force: true });
  });
  const stale = readFileSync(join(repo.dir, 'ACTIVE_TASKS.md'), 'utf8');
  const run = cli(['run', '-j', '3', '--agent', 'w', '--', process.execPath, writeFakeAgent(state)], { cwd: repo.dir, env: { FAKE_STATE: state } });
  assert.equal(run.code, 0, `run exited ${run.code}: ${run.stderr.slice(-2000)}`);
  const done = tasksOnBoard(readFileSync(join(repo.dir, 'ACTIVE_TASKS.md'), 'utf8')).filter((task) => task.section === 'Done');
  assert.equal(done.length, TASKS, 'the run did every task');
  assert.ok(toolWrites(repo) >= 100, `the run wrote the board ${toolWrites(repo)} times (at least 100 wanted)`);
  return { repo, stale, eventsBefore: readLog(repo).length };
}

/** Versions guild-fs recorded: one per board it read from a person or wrote. */
function toolWrites(repo: TempRepo): number {
  const dir = join(repo.dir, '.git', 'guild', 'versions');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.jsonl'))
    .reduce((sum, name) => sum + readFileSync(join(dir, name), 'utf8').split('\n').filter(Boolean).length, 0);
}

function ok(repo: TempRepo, args: string[]): string {
  const run = cli(args, { cwd: repo.dir });
  assert.equal(run.code, 0, `guild-fs ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  return run.stderr;
}

/** Saves `text` by rename, as most editors do, then `sync`s; checks what must hold after any save. */
async function saveAndSync(f: RunFixture, text: string, touched: readonly string[]): Promise<ReturnType<typeof tasksOnBoard>> {
  await saveBoard(join(f.repo.dir, 'ACTIVE_TASKS.md'), text, 'rename');
  const said = ok(f.repo, ['sync']);
  const board = readFileSync(join(f.repo.dir, 'ACTIVE_TASKS.md'), 'utf8');
  const tasks = tasksOnBoard(board);
  const notDone = tasks.filter((task) => task.section !== 'Done').map((task) => `${task.id} in ${task.section}`);
  assert.deepEqual(notDone, [], `a Done task was reopened by the stale save (sync said: ${said.trim()})`);
  const blamed = readLog(f.repo)
    .slice(f.eventsBefore)
    .filter((event) => event.agent === 'human' && typeof event.task === 'string' && !touched.includes(event.task))
    .map((event) => `${event.type} ${event.task}`);
  assert.deepEqual(blamed, [], 'an event blames the person for a task they did not touch');
  const replay = cli(['replay', '--check'], { cwd: f.repo.dir });
  assert.equal(replay.code, 0, `replay --check: ${replay.stdout}${replay.stderr}`);
  assert.ok(board.split('\n').includes(NOTE) || !text.includes(NOTE), "the person's note is on the board");
  return tasks;
}

describe('a buffer opened before a run of 34 tasks, saved afterwards', { concurrency: 1 }, () => {
  test('(a) with a note: every Done task stays Done, the note is kept; then a move in a fresh buffer is obeyed', { timeout: 240_000 }, async (t) => {
    const f = runToTheEnd(t);
    await saveAndSync(f, insertNote(f.stale, NOTE).text, []);

    // A fresh buffer: the person moves GLD-3 from Done back to Ready on purpose.
    const fresh = readFileSync(join(f.repo.dir, 'ACTIVE_TASKS.md'), 'utf8');
    const lines = fresh.split('\n');
    const at = lines.findIndex((line) => /^- \[x\] GLD-3 /.test(line));
    const [moved] = lines.splice(at, 1);
    lines.splice(lines.indexOf('## Ready') + 1, 0, moved!.replace('[x]', '[ ]'));
    await saveBoard(join(f.repo.dir, 'ACTIVE_TASKS.md'), lines.join('\n'), 'rename');
    ok(f.repo, ['sync']);
    const after = tasksOnBoard(readFileSync(join(f.repo.dir, 'ACTIVE_TASKS.md'), 'utf8'));
    assert.equal(after.find((task) => task.id === 'GLD-3')?.section, 'Ready', 'the deliberate move is obeyed');
    assert.equal(after.filter((task) => task.section === 'Done').length, TASKS - 1);
    assert.ok(readFileSync(join(f.repo.dir, 'ACTIVE_TASKS.md'), 'utf8').includes(NOTE));
    assert.equal(cli(['replay', '--check'], { cwd: f.repo.dir }).code, 0);
  });

  test('(b) with a retitle and a prio change: both obeyed, nothing else', { timeout: 240_000 }, async (t) => {
    const f = runToTheEnd(t);
    const edited = f.stale.replace('- [ ] GLD-5 commits task 5\n', '- [ ] GLD-5 commits task 5, renamed by hand\n').replace('- [ ] GLD-7 commits task 7\n', '- [ ] GLD-7 commits task 7 prio:low\n');
    assert.notEqual(edited, f.stale);
    const tasks = await saveAndSync(f, edited, ['GLD-5', 'GLD-7']);
    assert.match(tasks.find((task) => task.id === 'GLD-5')!.line, /commits task 5, renamed by hand/);
    assert.match(tasks.find((task) => task.id === 'GLD-7')!.line, /prio:low/);
    const edits = readLog(f.repo).slice(f.eventsBefore).filter((event) => event.type === 'task.edited').map((event) => event.task);
    assert.deepEqual([...new Set(edits)].sort(), ['GLD-5', 'GLD-7']);
  });

  test('(c) after the board was committed', { timeout: 240_000 }, async (t) => {
    const f = runToTheEnd(t);
    git(f.repo.dir, 'add', 'ACTIVE_TASKS.md', '.guild');
    git(f.repo.dir, 'commit', '-q', '-m', 'the run');
    await saveAndSync(f, insertNote(f.stale, NOTE).text, []);
  });

  test('(d) after log rotate moved every event out', { timeout: 240_000 }, async (t) => {
    const f = runToTheEnd(t);
    ok(f.repo, ['log', 'rotate', '--before', new Date(Date.now() + 86_400_000).toISOString()]);
    await saveAndSync({ ...f, eventsBefore: 0 }, insertNote(f.stale, NOTE).text, []);
  });
});

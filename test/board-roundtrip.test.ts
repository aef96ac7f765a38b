// Minimal diff, for real: every fixture (as written, and with its line ends converted to the
// other kind) goes through claim, complete, fail, release and add in a temp git repository,
// through the library as the CLI calls it. After each scenario the new board is compared with
// the original line by line:
// - every line outside the tasks the scenario changed is still there, byte for byte (line end
//   included), in the same order; the only lines allowed in between are blank lines and the
//   heading of a section that had to be inserted;
// - every changed task appears exactly once, in the section it should be in, its body intact;
// - every task not changed is where it was, first line identical.
// The log must hold exactly the events each write owes: the operation's own, plus task.created
// for items typed without an ID, task.completed for boxes ticked by hand outside Done, and
// task.unblocked / task.blocked for tasks whose needs changed state.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBoard } from '../src/board/parse-board.js';
import type { Board, Priority, Status, Task } from '../src/board/types.js';
import { addTask } from '../src/tasks/add-task.js';
import { claimTask } from '../src/tasks/claim-task.js';
import { completeTask, failTask, releaseTask } from '../src/tasks/finish-task.js';
import { openGuild, type Guild } from '../src/tasks/guild.js';
import { readLog, tempRepo, type TempRepo } from './helpers/repo.js';

// Every write below derives the new board from its edit and caches it: re-parse each one and
// fail on any difference, over every odd fixture.
process.env.GUILD_VERIFY_CACHE = '1';

// Writes derive the new board from the edit; have every derived board checked against a parse.
process.env.GUILD_VERIFY_CACHE = '1';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'boards');
const NOW = Date.parse('2026-11-21T10:00:00.000Z');
const AGENT = 'agent-rt';
const PRIO_RANK: Record<Priority, number> = { critical: 0, high: 1, normal: 2, low: 3 };
/** The event each operation logs for its own task. */
const OWN_EVENT = { claim: 'task.claimed', complete: 'task.completed', fail: 'task.failed', release: 'task.released', add: 'task.created' } as const;

type Op =
  | { kind: 'claim' | 'complete' | 'release'; id: string; agent: string }
  | { kind: 'fail'; id: string; agent: string; reason: string }
  | { kind: 'add'; title: string; needs?: string[]; body?: string; prio?: Priority };

interface Scenario {
  name: string;
  ops: Op[];
}

// ---------------------------------------------------------------------------------------------
// What a write must do, from the SPEC: the model the library is checked against.

interface Expected {
  /** `type task` for each event, with `<new>` for an ID this write hands out. */
  events: string[];
  /** The status each task of the board before the write has after it, by title. */
  status: Map<string, Status>;
  /** Titles of the tasks this write changes. */
  touched: Set<string>;
  /** Status of a task this write adds. */
  added?: Status;
}

function expectWrite(board: Board, op: Op): Expected {
  const events: string[] = [];
  const status = new Map<Task, Status>(board.tasks.map((task) => [task, task.status]));
  const touched = new Set<string>();
  const name = (task: Task): string => task.id ?? '<new>';
  const set = (task: Task, to: Status): void => {
    status.set(task, to);
    touched.add(task.title);
  };
  // The fix-ups every write owes a hand-edited board.
  for (const task of board.tasks) {
    if (task.id !== null) continue;
    touched.add(task.title);
    events.push('task.created <new>');
  }
  for (const task of board.tasks) {
    if (!task.checked || task.status === 'done') continue;
    set(task, 'done');
    events.push(`task.completed ${name(task)}`);
  }
  const target = 'id' in op ? board.byId.get(op.id) : undefined;
  if ('id' in op) assert.ok(target, `${op.id} is on the board`);
  switch (op.kind) {
    case 'claim':
      set(target!, 'in-progress');
      events.push(`task.claimed ${op.id}`);
      break;
    case 'complete':
      set(target!, board.settings.review && target!.status === 'in-progress' ? 'review' : 'done');
      events.push(`task.completed ${op.id}`);
      break;
    case 'fail':
      if (target!.tries + 1 >= board.settings.maxTries) {
        set(target!, 'failed');
        events.push(`task.failed ${op.id}`, `task.poisoned ${op.id}`);
      } else {
        set(target!, 'ready');
        events.push(`task.failed ${op.id}`);
      }
      break;
    case 'release':
      set(target!, 'ready');
      events.push(`task.released ${op.id}`);
      break;
    case 'add':
      events.push('task.created <new>');
      break;
  }
  const statusOfId = (id: string): Status | undefined => {
    const task = board.byId.get(id);
    return task ? status.get(task) : undefined;
  };
  let added: Status | undefined;
  if (op.kind === 'add') added = (op.needs ?? []).every((need) => statusOfId(need) === 'done') ? 'ready' : 'blocked';
  for (const task of board.tasks) {
    const now = status.get(task)!;
    if (now !== 'ready' && now !== 'blocked') continue;
    const met = task.needs.every((need) => statusOfId(need) === 'done');
    if ((now === 'ready') === met) continue;
    set(task, met ? 'ready' : 'blocked');
    events.push(`task.${met ? 'unblocked' : 'blocked'} ${name(task)}`);
  }
  return { events, status: new Map([...status].map(([task, s]) => [task.title, s])), touched, added };
}

// ---------------------------------------------------------------------------------------------
// Line diffs.

interface Line {
  text: string;
  eol: string;
}

/** The file's lines with their line ends: split here, so as not to test the code with itself. */
function linesOf(text: string): Line[] {
  const parts = text.split(/(?<=\n)/).filter((part) => part !== '');
  return parts.map((part) => {
    const eol = part.endsWith('\r\n') ? '\r\n' : part.endsWith('\n') ? '\n' : '';
    return { text: part.slice(0, part.length - eol.length), eol };
  });
}

/** Line texts of a board, 1-based through index - 1. */
function textLines(board: Board): string[] {
  return linesOf(board.text).map((line) => line.text);
}

/**
 * Longest common subsequence of two line lists; returns, for each line of `a`, the index of the
 * line of `b` it is matched with, or -1 when it was removed.
 */
function matchLines(a: Line[], b: Line[], same: (x: Line, y: Line) => boolean): number[] {
  const n = a.length;
  const m = b.length;
  const table = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i]![j] = same(a[i]!, b[j]!) ? table[i + 1]![j + 1]! + 1 : Math.max(table[i + 1]![j]!, table[i]![j + 1]!);
    }
  }
  const match = new Array<number>(n).fill(-1);
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (same(a[i]!, b[j]!)) match[i++] = j++;
    else if (table[i + 1]![j]! >= table[i]![j + 1]!) i++;
    else j++;
  }
  return match;
}

const isBlank = (text: string): boolean => text.trim() === '';

/** Lines of the board outside the given tasks, with their original line numbers. */
function linesOutside(board: Board, tasks: Task[]): { line: number; value: Line }[] {
  const inside = new Set<number>();
  for (const task of tasks) for (let line = task.line; line <= task.endLine; line++) inside.add(line);
  const all = linesOf(board.text);
  return all.map((value, i) => ({ line: i + 1, value })).filter(({ line }) => !inside.has(line));
}

function bodyOf(board: Board, task: Task): string[] {
  return textLines(board).slice(task.line, task.endLine);
}

function uniqueByTitle(board: Board, title: string): Task {
  const found = board.tasks.filter((task) => task.title === title);
  assert.equal(found.length, 1, `exactly one task titled ${JSON.stringify(title)} on the new board, found ${found.length}`);
  return found[0]!;
}

/** The whole comparison of a scenario's final board with the original. */
function assertMinimalDiff(original: Board, result: Board, touched: Set<string>, status: Map<string, Status>, addedTitles: string[]): void {
  const label = (what: string): string => `${what}\n--- original ---\n${original.text}\n--- new ---\n${result.text}`;
  // Tasks: none lost, none doubled; untouched ones unchanged; touched ones where they belong.
  assert.equal(result.tasks.length, original.tasks.length + addedTitles.length, label('task count'));
  for (const task of original.tasks) {
    const now = uniqueByTitle(result, task.title);
    assert.deepEqual(bodyOf(result, now), bodyOf(original, task), label(`body of ${task.title}`));
    assert.equal(now.status, status.get(task.title), label(`status of ${task.title}`));
    if (!touched.has(task.title)) {
      assert.equal(textLines(result)[now.line - 1], textLines(original)[task.line - 1], label(`untouched first line of ${task.title}`));
      assert.equal(now.id, task.id);
    } else if (task.id !== null) {
      assert.equal(now.id, task.id, `a task keeps its ID: ${task.title}`);
    } else {
      assert.ok(now.id !== null && !original.byId.has(now.id), `${task.title} got a new ID, got ${now.id}`);
    }
    const first = textLines(result)[now.line - 1]!;
    assert.equal(textLines(result).filter((line) => line === first).length, 1, label(`first line of ${task.title} appears once`));
  }
  for (const title of addedTitles) uniqueByTitle(result, title);

  // Free text: every line outside the changed tasks kept byte for byte, in order.
  const changedBefore = original.tasks.filter((task) => touched.has(task.title));
  const changedAfter = result.tasks.filter((task) => touched.has(task.title) || addedTitles.includes(task.title));
  const kept = linesOutside(original, changedBefore);
  const now = linesOutside(result, changedAfter);
  const lastLine = linesOf(original.text).length;
  const same = (a: { line: number; value: Line }, b: { line: number; value: Line }): boolean =>
    a.value.text === b.value.text &&
    // A last line without a line end gets one when something is added after it.
    (a.value.eol === b.value.eol || (a.line === lastLine && a.value.eol === '' && b.value.eol === original.eol));
  const match = matchLines(
    kept.map((k) => k.value),
    now.map((k) => k.value),
    (x, y) => same(kept.find((k) => k.value === x)!, now.find((k) => k.value === y)!),
  );
  const lost = kept.filter((_, i) => match[i] === -1);
  assert.deepEqual(
    lost.map(({ line, value }) => `${line}: ${JSON.stringify(value.text + value.eol)}`),
    [],
    label('lines outside the changed tasks that were dropped or changed'),
  );
  const matched = new Set(match);
  const headingsBefore = new Set(original.sections.map((section) => section.status));
  const newHeadings = new Set(result.sections.filter((section) => !headingsBefore.has(section.status)).map((section) => section.line));
  for (const [j, { line, value }] of now.entries()) {
    if (matched.has(j)) continue;
    assert.ok(isBlank(value.text) || newHeadings.has(line), label(`new line ${line} ${JSON.stringify(value.text)} is neither a blank line nor a new section's heading`));
  }
  // New and moved lines take the board's line end.
  const all = linesOf(result.text);
  for (const [i, line] of all.entries()) {
    if (i === all.length - 1 && line.eol === '') continue;
    assert.equal(line.eol, original.eol, label(`line end of new line ${i + 1}`));
  }
}

// ---------------------------------------------------------------------------------------------
// Running scenarios.

function fixtureNames(): string[] {
  return readdirSync(FIXTURES)
    .filter((name) => name.endsWith('.md'))
    .sort();
}

/** The task a scenario works on: the first one claim would take. */
function pickTarget(board: Board): Task | undefined {
  const done = (id: string): boolean => board.byId.get(id)?.status === 'done';
  return board.tasks
    .filter((task) => task.status === 'ready' && task.id !== null && !task.checked && task.retry === null && task.needs.every(done))
    .sort((a, b) => PRIO_RANK[a.prio] - PRIO_RANK[b.prio] || a.line - b.line)[0];
}

function scenariosFor(board: Board): Scenario[] {
  const target = pickTarget(board);
  assert.ok(target, 'every fixture has a claimable task');
  const id = target.id!;
  const as = { id, agent: AGENT };
  const scenarios: Scenario[] = [
    { name: `claim ${id}`, ops: [{ kind: 'claim', ...as }] },
    { name: `claim and complete ${id}`, ops: [{ kind: 'claim', ...as }, { kind: 'complete', ...as }] },
    { name: `claim and fail ${id}`, ops: [{ kind: 'claim', ...as }, { kind: 'fail', ...as, reason: 'the round trip says so' }] },
    { name: `claim and release ${id}`, ops: [{ kind: 'claim', ...as }, { kind: 'release', ...as }] },
    { name: 'add a task', ops: [{ kind: 'add', title: 'Added by the round trip: naïve ✓ 日本', prio: 'high' }] },
    {
      name: `add a task needing ${id}, then finish ${id}`,
      ops: [
        { kind: 'add', title: `Waits for ${id} 🚦`, needs: [id], body: 'What to do, line one.\n\nAfter a blank line.' },
        { kind: 'claim', ...as },
        { kind: 'complete', ...as },
      ],
    },
  ];
  // The claimable task lowest on the board (in 13-missing-section-no-eol.md, the last line, which
  // has no line end): moving it away must not glue its neighbours together.
  const done = (need: string): boolean => board.byId.get(need)?.status === 'done';
  const lowest = board.tasks.filter((task) => task.status === 'ready' && task.id !== null && !task.checked && task.needs.every(done)).pop();
  if (lowest && lowest !== target) {
    const low = { id: lowest.id!, agent: AGENT };
    scenarios.push({ name: `claim and release ${low.id}, the lowest ready task`, ops: [{ kind: 'claim', ...low }, { kind: 'release', ...low }] });
  }
  // A task someone already holds, finished by its owner.
  const held = board.tasks.find((task) => task.status === 'in-progress' && task.owner !== null && !task.checked && task.id !== null);
  if (held) scenarios.push({ name: `complete ${held.id} held by ${held.owner}`, ops: [{ kind: 'complete', id: held.id!, agent: held.owner! }] });
  return scenarios;
}

async function runOp(guild: Guild, op: Op): Promise<{ addedId?: string }> {
  switch (op.kind) {
    case 'claim':
      await claimTask(guild, { agent: op.agent, id: op.id });
      return {};
    case 'complete':
      await completeTask(guild, op.agent, op.id);
      return {};
    case 'fail':
      await failTask(guild, op.agent, op.id, op.reason);
      return {};
    case 'release':
      await releaseTask(guild, op.agent, op.id);
      return {};
    case 'add': {
      const result = await addTask(guild, { agent: AGENT, title: op.title, needs: op.needs, body: op.body, prio: op.prio });
      return { addedId: result.id };
    }
  }
}

/** Event types seen across all scenarios: the suite must exercise every kind of write. */
const seenEvents = new Map<string, number>();

function resetRepo(repo: TempRepo, text: string): void {
  // Locks, the parse cache and the mutex live under <git-common-dir>/guild; the log in .guild.
  rmSync(join(repo.dir, '.git', 'guild'), { recursive: true, force: true });
  rmSync(join(repo.dir, '.guild'), { recursive: true, force: true });
  repo.write(text);
}

async function runScenario(repo: TempRepo, text: string, scenario: Scenario): Promise<void> {
  resetRepo(repo, text);
  const guild = openGuild(repo.dir, { now: () => NOW });
  const original = await parseBoard('ACTIVE_TASKS.md', text);
  const titles = original.tasks.map((task) => task.title);
  assert.equal(new Set(titles).size, titles.length, 'titles are unique in a round-trip fixture');

  const touched = new Set<string>();
  const status = new Map(original.tasks.map((task) => [task.title, task.status]));
  const addedTitles: string[] = [];
  for (const op of scenario.ops) {
    const beforeText = repo.read();
    const board = await parseBoard('ACTIVE_TASKS.md', beforeText);
    const expected = expectWrite(board, op);
    const logBefore = readLog(repo).length;
    const { addedId } = await runOp(guild, op);

    const events = readLog(repo).slice(logBefore) as { type: string; task: string; agent: string }[];
    for (const event of events) seenEvents.set(event.type, (seenEvents.get(event.type) ?? 0) + 1);
    const known = new Set(board.byId.keys());
    const got = events.map((event) => `${event.type} ${known.has(event.task) ? event.task : '<new>'}`);
    assert.deepEqual([...got].sort(), [...expected.events].sort(), `events of ${op.kind} in "${scenario.name}"`);
    if (addedId !== undefined) assert.ok(!known.has(addedId), `add hands out a new ID, got ${addedId}`);
    if ('id' in op) {
      const own = events.find((event) => event.type === OWN_EVENT[op.kind] && event.task === op.id);
      assert.equal(own?.agent, op.agent, `${OWN_EVENT[op.kind]} is logged as the acting agent`);
    }
    for (const title of expected.touched) touched.add(title);
    for (const [title, s] of expected.status) status.set(title, s);
    if (op.kind === 'add') {
      addedTitles.push(op.title);
      const added = uniqueByTitle(await parseBoard('ACTIVE_TASKS.md', repo.read()), op.title);
      assert.equal(added.status, expected.added, `section of the added task ${op.title}`);
      status.set(op.title, expected.added!);
      touched.add(op.title);
    }
  }
  const result = await parseBoard('ACTIVE_TASKS.md', repo.read());
  for (const title of addedTitles) assert.equal(uniqueByTitle(result, title).status, status.get(title), `final status of ${title}`);
  assertMinimalDiff(original, result, touched, status, addedTitles);
}

describe('tool writes change only the lines of the tasks they change', () => {
  let repo: TempRepo;
  before(() => {
    repo = tempRepo();
  });
  after(() => repo.remove());

  for (const name of fixtureNames()) {
    const raw = readFileSync(join(FIXTURES, name), 'utf8');
    const lf = raw.replace(/\r\n/g, '\n');
    const variants = [
      { label: raw.includes('\r\n') ? 'CRLF as stored' : 'LF as stored', text: raw },
      { label: raw.includes('\r\n') ? 'converted to LF' : 'converted to CRLF', text: raw.includes('\r\n') ? lf : lf.replace(/\n/g, '\r\n') },
    ];
    for (const variant of variants) {
      test(`${name}, ${variant.label}`, async (t) => {
        const board = await parseBoard('ACTIVE_TASKS.md', variant.text);
        for (const scenario of scenariosFor(board)) {
          await t.test(scenario.name, () => runScenario(repo, variant.text, scenario));
        }
      });
    }
  }

  test('every kind of event was exercised', (t) => {
    const types = ['task.created', 'task.completed', 'task.claimed', 'task.failed', 'task.poisoned', 'task.released', 'task.unblocked', 'task.blocked'];
    for (const type of types) assert.ok(seenEvents.get(type), `no scenario produced ${type}`);
    t.diagnostic(`events: ${[...seenEvents].map(([type, n]) => `${type} ${n}`).join(', ')}`);
  });

  test('the CRLF fixture really is CRLF on disk, and the no-EOL one really ends without one', () => {
    const crlf = readFileSync(join(FIXTURES, '02-crlf.md'), 'utf8');
    assert.equal(crlf.split('\r\n').length - 1, crlf.split('\n').length - 1, 'every LF of 02-crlf.md follows a CR');
    assert.ok(!readFileSync(join(FIXTURES, '13-missing-section-no-eol.md'), 'utf8').endsWith('\n'));
    assert.match(readFileSync(join(FIXTURES, '.gitattributes'), 'utf8'), /^\*\.md -text$/m);
  });
});

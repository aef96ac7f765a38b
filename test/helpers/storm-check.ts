// What survived a storm (issue 10): after one `guild-fs sync`, the person's numbered notes,
// the front matter and hand-written lines, the log's task.cancelled events and created tasks
// against the board, and the exit codes of `replay --check` and `doctor`. Reports, never
// asserts: the tests and the bench decide what to require.
import { readFileSync } from 'node:fs';
import type { PersonResult } from './storm-person.js';
import { FRONT_MATTER, SENTINELS } from './storm-board.js';
import { guild, type Run, type RunOptions, type StormRepo } from './storm-processes.js';

export interface CommandOutcome {
  code: number;
  /** Its stderr and stdout, shortened, when it did not exit 0. */
  detail: string;
}

export interface StormCheck {
  sync: CommandOutcome;
  /** n in 1..highest with no `storm note <n>` line on the board. */
  lostNotes: number[];
  /** n whose line is on the board more than once. */
  duplicatedNotes: number[];
  frontMatterIntact: boolean;
  missingSentinels: string[];
  duplicatedSentinels: string[];
  /** Task IDs on more than one task line. */
  duplicatedTasks: string[];
  events: number;
  badLogLines: number;
  created: number;
  cancelled: number;
  cancelledTasks: string[];
  /** Tasks of task.created events with no task line on the board. */
  missingTasks: string[];
  /** Tasks an agent completed (exit 0) that are not ticked in Done: `ID (where it is)`. */
  undoneCompletions: string[];
  replay: CommandOutcome & { disagreements: number };
  doctor: CommandOutcome;
}

function outcome(run: Run): CommandOutcome {
  // One line: doctor's passing checks (`ok    board`) left out, the rest joined.
  const lines = `${run.stderr}\n${run.stdout}`.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^ok\s/.test(l));
  const detail = run.code === 0 ? '' : lines.join(' / ').slice(0, 2_000);
  return { code: run.code, detail };
}

/** Values that occur more than once. */
function repeated<T>(values: T[]): T[] {
  const seen = new Set<T>();
  const twice = new Set<T>();
  for (const value of values) (seen.has(value) ? twice : seen).add(value);
  return [...twice];
}

export interface TaskLine {
  id: string;
  ticked: boolean;
  /** The text of the level-2 heading above it. */
  section: string;
  line: string;
}

/** Every top-level task line of the board, in order. */
export function tasksOnBoard(board: string): TaskLine[] {
  const tasks: TaskLine[] = [];
  let section = '(before any section)';
  for (const line of board.split(/\r?\n/)) {
    if (line.startsWith('## ')) section = line.slice(3).trim();
    const task = /^[-*+] \[([ xX])\] ([A-Z]+-\w+)(?:\s|$)/.exec(line);
    if (task) tasks.push({ id: task[2]!, ticked: task[1] !== ' ', section, line });
  }
  return tasks;
}

export function checkStorm(repo: StormRepo, person: PersonResult | null, completed: string[], options: RunOptions): StormCheck {
  const sync = outcome(guild(repo, ['sync'], options, 'storm-check'));
  const board = readFileSync(repo.board, 'utf8');
  const lines = board.split(/\r?\n/);

  const notes = lines.map((line) => /^storm note (\d+)$/.exec(line)).filter((m) => m !== null).map((m) => Number(m![1]));
  const present = new Set(notes);
  const lostNotes: number[] = [];
  for (let n = 1; n <= (person?.highest ?? 0); n++) if (!present.has(n)) lostNotes.push(n);

  const tasks = tasksOnBoard(board);
  const taskIds = tasks.map((t) => t.id);
  const where = new Map(tasks.map((t) => [t.id, `[${t.ticked ? 'x' : ' '}] in ${t.section}`]));
  const onBoard = new Set(taskIds);
  const undoneCompletions = [...new Set(completed)].filter((id) => where.get(id)?.toLowerCase() !== '[x] in done').map((id) => `${id} (${where.get(id) ?? 'not on the board'})`);

  let events = 0;
  let badLogLines = 0;
  const created: string[] = [];
  const cancelledTasks: string[] = [];
  for (const raw of readFileSync(repo.log, 'utf8').split('\n')) {
    if (raw.trim() === '') continue;
    let event: { type?: string; task?: string };
    try {
      event = JSON.parse(raw) as { type?: string; task?: string };
    } catch {
      badLogLines++;
      continue;
    }
    events++;
    if (event.type === 'task.created' && event.task) created.push(event.task);
    if (event.type === 'task.cancelled' && event.task) cancelledTasks.push(event.task);
  }

  const replayRun = guild(repo, ['replay', '--check', '--json'], options, 'storm-check');
  let disagreements = 0;
  try {
    const doc = JSON.parse(replayRun.stdout) as { error?: { data?: { disagreements?: unknown[] } } };
    disagreements = doc.error?.data?.disagreements?.length ?? 0;
  } catch {}
  const replayText = replayRun.code === 0 ? replayRun : guild(repo, ['replay', '--check'], options, 'storm-check');

  return {
    sync,
    lostNotes,
    duplicatedNotes: repeated(notes).sort((a, b) => a - b),
    frontMatterIntact: board.startsWith(`${FRONT_MATTER}\n`),
    missingSentinels: SENTINELS.filter((s) => !lines.includes(s)),
    duplicatedSentinels: SENTINELS.filter((s) => lines.filter((l) => l === s).length > 1),
    duplicatedTasks: repeated(taskIds),
    events,
    badLogLines,
    created: created.length,
    cancelled: cancelledTasks.length,
    cancelledTasks,
    missingTasks: [...new Set(created)].filter((id) => !onBoard.has(id)),
    undoneCompletions,
    replay: { ...outcome(replayText), code: replayRun.code, disagreements },
    doctor: outcome(guild(repo, ['doctor'], options, 'storm-check')),
  };
}

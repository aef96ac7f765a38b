// Minimal-diff edits. Every change is expressed against the original line numbers and applied
// in one pass at render time, so that a write touches exactly the lines of the tasks it changes:
// a task changed in place rewrites its first line; a move deletes the task's lines in one place
// and inserts them in another; every other byte is copied through untouched, as whole slices of
// the original text.
import { FileError } from '../errors.js';
import { BoardText } from './board-text.js';
import { openBlockAt, type OpenBlock } from './open-block.js';
import { makeTask } from './parse-board.js';
import { fieldValues, formatTaskLine, parseTaskLine, type FieldChanges } from './task-line.js';
import { STATUSES, type Board, type Section, type Status, type Task } from './types.js';

export interface TaskChange {
  status?: Status;
  checked?: boolean;
  id?: string;
  fields?: FieldChanges;
}

/** Lines to insert after an original line, and what they hold, so the new board can be derived. */
interface Insertion {
  after: number;
  rank: number;
  seq: number;
  block: Block;
}

interface Block {
  lines: string[];
  /** Task items inside `lines`: where each starts and how many lines it owns. */
  tasks: { offset: number; length: number; status: Status }[];
  /** A new section's heading inside `lines`. */
  heading?: { offset: number; status: Status; text: string };
}

export class BoardEdit {
  readonly board: Board;
  private readonly changes = new Map<Task, TaskChange>();
  private readonly added: { status: Status; lines: string[] }[] = [];
  /** Tasks whose whole block is dropped (removed) or written anew (replaced), keyed by task. */
  private readonly rewritten = new Map<Task, { status: Status; lines: string[] } | null>();

  constructor(board: Board) {
    this.board = board;
  }

  get changed(): boolean {
    return this.changes.size > 0 || this.added.length > 0 || this.rewritten.size > 0;
  }

  /** Changes to one task; calls for the same task merge, later values winning. */
  update(task: Task, change: TaskChange): void {
    const merged = this.changes.get(task) ?? {};
    this.changes.set(task, {
      ...merged,
      ...change,
      fields: change.fields || merged.fields ? { ...merged.fields, ...change.fields } : undefined,
    });
  }

  /** The status a task will have once this edit is written. */
  statusOf(task: Task): Status {
    return this.changes.get(task)?.status ?? task.status;
  }

  add(status: Status, lines: string[]): void {
    this.added.push({ status, lines });
  }

  /** Drops a task's lines, body included. Not to be mixed with update() of the same task. */
  remove(task: Task): void {
    this.rewritten.set(task, null);
  }

  /**
   * Writes a task's whole block (first line and body) anew: in place when its status stays, or
   * moved to the status's section. For merges, where the other side's version of a task wins.
   */
  replace(task: Task, status: Status, lines: string[]): void {
    this.rewritten.set(task, { status, lines });
  }

  /**
   * The new text, and the board it parses to, derived from this one without reading the text
   * again: kept lines are only renumbered, and only the task lines this edit wrote are parsed.
   * This is what lets a write leave a parse cache behind at almost no cost.
   */
  renderBoard(): Board {
    const { board } = this;
    const source = board.source;
    const replaced = new Map<number, string>();
    const deleted: [number, number][] = [];
    const moving = new Map<Status, Block>();
    const blockFor = (status: Status): Block => {
      let block = moving.get(status);
      if (!block) moving.set(status, (block = { lines: [], tasks: [] }));
      return block;
    };

    for (const [task, change] of this.changes) {
      const parsed = parseTaskLine(source.line(task.line), board.settings.prefix, board.file, task.line);
      const first = formatTaskLine(parsed, change);
      if (change.status === undefined || change.status === task.status) {
        if (first !== source.line(task.line)) replaced.set(task.line, first);
        continue;
      }
      deleted.push([task.line, task.endLine]);
      const block = blockFor(change.status);
      block.tasks.push({ offset: block.lines.length, length: task.endLine - task.line + 1, status: change.status });
      block.lines.push(first, ...source.slice(task.line + 1, task.endLine));
    }
    const inPlace: Insertion[] = [];
    const added = [...this.added];
    for (const [task, next] of this.rewritten) {
      deleted.push([task.line, task.endLine]);
      if (!next) continue;
      const tasks = [{ offset: 0, length: next.lines.length, status: next.status }];
      // Same section: the new block goes where the old one was (inserted after its deleted last line).
      if (next.status === task.status) inPlace.push({ after: task.endLine, rank: 0, seq: -1, block: { lines: next.lines, tasks } });
      else added.push({ status: next.status, lines: next.lines });
    }
    for (const { status, lines } of added) {
      const block = blockFor(status);
      block.tasks.push({ offset: block.lines.length, length: lines.length, status });
      block.lines.push(...lines);
    }

    const insertions: Insertion[] = inPlace;
    let seq = 0;
    for (const status of STATUSES) {
      const block = moving.get(status);
      if (!block) continue;
      const section = board.sections.find((s) => s.status === status);
      if (section) {
        const point = insertionPoint(board, section, status);
        if (point.gapAfter) block.lines.push('');
        insertions.push({ after: point.after, rank: 0, seq: seq++, block });
      }
      else insertions.push(this.newSection(status, block, seq++));
    }
    insertions.sort((a, b) => a.after - b.after || a.rank - b.rank || a.seq - b.seq);
    deleted.sort((a, b) => a[0] - b[0]);
    return assemble(board, replaced, deleted, insertions);
  }

  /** A section that does not exist yet goes where the SPEC's order puts it. */
  private newSection(status: Status, block: Block, seq: number): Insertion {
    const { board } = this;
    const source = board.source;
    const order = STATUSES.indexOf(status);
    const later = board.sections.filter((s) => STATUSES.indexOf(s.status) > order).sort((a, b) => a.line - b.line)[0];
    const last = board.sections[board.sections.length - 1];
    let after: number;
    if (later) after = later.line - 1; // right before a heading nothing can be left open
    else {
      const from = last ? last.line + 1 : board.frontMatterEnd + 1;
      after = last ? lastNonBlank(source, last.line, last.endLine) : lastNonBlank(source, from, source.count) || board.frontMatterEnd;
      // At the end of the board, after a block left open, a new heading would not be one.
      const open = openBlockAt(source, from, after);
      if (open) throw nowhereToAdd(board, open, board.settings.headings[status]);
    }
    const text = board.settings.headings[status];
    const before = after > 0 && !isBlank(source.line(after)) ? [''] : [];
    const lines = [...before, `## ${text}`, ...block.lines];
    if (after < source.count && !isBlank(source.line(after + 1))) lines.push('');
    const shift = before.length + 1;
    return {
      after,
      rank: 1 + order,
      seq,
      block: {
        lines,
        tasks: block.tasks.map((task) => ({ ...task, offset: task.offset + shift })),
        heading: { offset: before.length, status, text },
      },
    };
  }
}

/**
 * Builds the new text from slices of the old one and the few lines that change, then derives
 * the new board: kept tasks and headings are renumbered by the lines inserted and deleted before
 * them, and the inserted task lines are parsed.
 */
function assemble(board: Board, replaced: Map<number, string>, deleted: [number, number][], insertions: Insertion[]): Board {
  const source = board.source;
  const text = source.text;
  const eol = board.eol;
  const parts: string[] = [];
  // Line-number shifts: +n for lines after an insertion, -n for lines after a deletion.
  const shifts: { from: number; by: number }[] = [];
  const placed: { insertion: Insertion; firstLine: number }[] = [];

  const points = new Set<number>(replaced.keys());
  for (const [from, to] of deleted) for (let line = from; line <= to; line++) points.add(line);
  for (const insertion of insertions) points.add(insertion.after);
  const ordered = [...points].sort((a, b) => a - b);

  let newLine = 0; // lines written so far
  let cursor = 1; // next original line to copy
  const copyUpTo = (line: number): void => {
    // Copies original lines cursor..line-1 as one slice.
    if (line <= cursor) return;
    const start = source.starts[cursor - 1]!;
    const end = source.end(line - 1);
    parts.push(text.slice(start, end));
    newLine += line - cursor;
    cursor = line;
  };
  let deletedIndex = 0;
  let insertionIndex = 0;
  const isDeleted = (line: number): boolean => {
    while (deletedIndex < deleted.length && deleted[deletedIndex]![1] < line) deletedIndex++;
    const range = deleted[deletedIndex];
    return range !== undefined && range[0] <= line && line <= range[1];
  };
  for (const point of ordered) {
    if (point >= 1) {
      copyUpTo(point);
      if (isDeleted(point)) {
        shifts.push({ from: point + 1, by: -1 });
      } else {
        const lineEol = source.eol(point);
        const hasInsertion = insertionIndex < insertions.length && insertions[insertionIndex]!.after === point;
        parts.push(replaced.get(point) ?? source.line(point), lineEol === '' && hasInsertion ? eol : lineEol);
        newLine++;
      }
      cursor = point + 1;
    }
    while (insertionIndex < insertions.length && insertions[insertionIndex]!.after === point) {
      const insertion = insertions[insertionIndex++]!;
      placed.push({ insertion, firstLine: newLine + 1 });
      for (const line of insertion.block.lines) parts.push(line, eol);
      newLine += insertion.block.lines.length;
      shifts.push({ from: point + 1, by: insertion.block.lines.length });
    }
  }
  if (cursor <= source.count) parts.push(text.slice(source.starts[cursor - 1]!));
  const newText = parts.join('');
  return deriveBoard(board, newText, replaced, deleted, shifts, placed);
}

function deriveBoard(
  board: Board,
  text: string,
  replaced: Map<number, string>,
  deleted: [number, number][],
  shifts: { from: number; by: number }[],
  placed: { insertion: Insertion; firstLine: number }[],
): Board {
  const source = new BoardText(text);
  const { prefix } = board.settings;
  // Task lines are parsed from the strings this edit wrote, so the new text is never scanned.
  const readTask = (first: string, line: number, endLine: number, status: Status): Task => {
    const parsed = parseTaskLine(first, prefix, board.file, line);
    return makeTask(parsed, fieldValues(parsed, board.file, line), status, line, endLine);
  };
  shifts.sort((a, b) => a.from - b.from);
  // Walks original line numbers in order: the shift so far applies to every line at or past it.
  let shiftIndex = 0;
  let shift = 0;
  const mapLine = (line: number): number => {
    while (shiftIndex < shifts.length && shifts[shiftIndex]!.from <= line) shift += shifts[shiftIndex++]!.by;
    return line + shift;
  };

  const movedOut = new Set<number>(deleted.map(([from]) => from));
  const inserted: Task[] = [];
  const headings: { line: number; section: Section }[] = [];
  for (const { insertion, firstLine } of placed) {
    const { block } = insertion;
    for (const task of block.tasks) {
      inserted.push(readTask(block.lines[task.offset]!, firstLine + task.offset, firstLine + task.offset + task.length - 1, task.status));
    }
    if (block.heading) {
      const line = firstLine + block.heading.offset;
      headings.push({ line, section: { status: block.heading.status, heading: block.heading.text, line, endLine: 0 } });
    }
  }
  inserted.sort((a, b) => a.line - b.line);

  // Kept tasks, renumbered, merged in line order with the inserted ones.
  const tasks: Task[] = [];
  const byId = new Map(board.byId);
  let next = 0;
  for (const task of board.tasks) {
    if (movedOut.has(task.line)) continue;
    const line = mapLine(task.line);
    while (next < inserted.length && inserted[next]!.line < line) tasks.push(inserted[next++]!);
    let kept = task;
    const rewritten = replaced.get(task.line);
    if (rewritten !== undefined) kept = readTask(rewritten, line, line + task.endLine - task.line, task.status);
    else if (line !== task.line) kept = { ...task, line, endLine: line + task.endLine - task.line };
    tasks.push(kept);
    if (kept !== task && kept.id !== null) byId.set(kept.id, kept);
  }
  while (next < inserted.length) tasks.push(inserted[next++]!);
  for (const task of inserted) if (task.id !== null) byId.set(task.id, task);

  // Headings are never deleted: renumber them (a second walk, so reset the shift).
  shiftIndex = 0;
  shift = 0;
  const boundaries: number[] = [];
  const sections: Section[] = [];
  let s = 0;
  for (const line of board.boundaries) {
    const mapped = mapLine(line);
    boundaries.push(mapped);
    while (s < board.sections.length && board.sections[s]!.line === line) sections.push({ ...board.sections[s++]!, line: mapped });
  }
  for (const heading of headings) {
    boundaries.push(heading.line);
    sections.push(heading.section);
  }
  boundaries.sort((a, b) => a - b);
  sections.sort((a, b) => a.line - b.line);
  for (const section of sections) section.endLine = (boundaries.find((line) => line > section.line) ?? source.count + 1) - 1;
  return { ...board, text, source, tasks, sections, boundaries, byId, reader: board.reader };
}

/**
 * After the section's last task, or else after its last line of text (its heading at least). When
 * that text leaves a block open (an unclosed fence or comment: see open-block.ts), right under the
 * heading instead, with a blank line after so that the text below keeps its meaning.
 */
function insertionPoint(board: Board, section: Section, status: Status): { after: number; gapAfter: boolean } {
  for (let i = board.tasks.length - 1; i >= 0; i--) {
    const task = board.tasks[i]!;
    if (task.line <= section.line) break;
    if (task.status === status && task.endLine <= section.endLine) return { after: task.endLine, gapAfter: false };
  }
  const source = board.source;
  const last = lastNonBlank(source, section.line, section.endLine);
  const open = openBlockAt(source, section.line + 1, last);
  if (!open) return { after: last, gapAfter: false };
  let after = headingEnd(source, section);
  if (after < source.count && isBlank(source.line(after + 1))) after++;
  let next = after + 1;
  while (next <= source.count && isBlank(source.line(next))) next++;
  // Text indented under the new item after a blank line would become its body.
  if (next <= source.count && /^(?: {2}|\t| ?\t)/.test(source.line(next))) throw nowhereToAdd(board, open, section.heading);
  return { after, gapAfter: after < source.count && !isBlank(source.line(after + 1)) };
}

/** The last line of a section's heading: the underline of a setext heading. */
function headingEnd(source: BoardText, section: Section): number {
  if (/^ {0,3}#{1,6}(?:[ \t]|$)/.test(source.line(section.line))) return section.line;
  for (let line = section.line + 1; line <= section.endLine; line++) if (/^ {0,3}(?:=+|-+)[ \t]*$/.test(source.line(line))) return line;
  return section.line;
}

function nowhereToAdd(board: Board, open: OpenBlock, heading: string): FileError {
  return new FileError(
    'ENOPLACE',
    board.file,
    open.line,
    `the ${open.what} opened here is never closed, so nothing after it reads as a task: a new task for ${heading} would be written where it is not read back; close it (or remove it) and try again`,
    { section: heading },
  );
}

function lastNonBlank(source: BoardText, from: number, to: number): number {
  for (let line = Math.min(to, source.count); line >= from; line--) if (!isBlank(source.line(line))) return line;
  return from - 1;
}

function isBlank(text: string | undefined): boolean {
  return text === undefined || text.trim() === '';
}

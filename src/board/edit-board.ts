// Minimal-diff edits. Every change is expressed against the original line numbers and applied
// in one pass at render time, so that a write touches exactly the lines of the tasks it changes:
// a task changed in place rewrites its first line; a move deletes the task's lines in one place
// and inserts them in another; every other byte is copied through untouched.
import { formatTaskLine, parseTaskLine, type FieldChanges } from './task-line.js';
import { STATUSES, type Board, type Status, type Task } from './types.js';

export interface TaskChange {
  status?: Status;
  checked?: boolean;
  id?: string;
  fields?: FieldChanges;
}

interface Insertion {
  after: number;
  rank: number;
  seq: number;
  lines: string[];
}

export class BoardEdit {
  readonly board: Board;
  private readonly changes = new Map<Task, TaskChange>();
  private readonly added: { status: Status; lines: string[] }[] = [];

  constructor(board: Board) {
    this.board = board;
  }

  get changed(): boolean {
    return this.changes.size > 0 || this.added.length > 0;
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

  render(): string {
    const { board } = this;
    const replaced = new Map<number, string>();
    const deleted = new Set<number>();
    const insertions: Insertion[] = [];
    const moving = new Map<Status, string[]>();
    const pushMoving = (status: Status, lines: string[]): void => {
      const list = moving.get(status) ?? [];
      list.push(...lines);
      moving.set(status, list);
    };

    for (const [task, change] of this.changes) {
      const parsed = parseTaskLine(board.lines[task.line - 1]!, board.settings.prefix, board.file, task.line);
      const first = formatTaskLine(parsed, change);
      if (change.status === undefined || change.status === task.status) {
        if (first !== board.lines[task.line - 1]) replaced.set(task.line, first);
        continue;
      }
      for (let line = task.line; line <= task.endLine; line++) deleted.add(line);
      pushMoving(change.status, [first, ...board.lines.slice(task.line, task.endLine)]);
    }
    for (const { status, lines } of this.added) pushMoving(status, lines);

    let seq = 0;
    for (const status of STATUSES) {
      const lines = moving.get(status);
      if (!lines) continue;
      const section = board.sections.find((s) => s.status === status);
      if (section) {
        insertions.push({ after: insertionPoint(board, section.line, section.endLine, status), rank: 0, seq: seq++, lines });
      } else {
        insertions.push(this.newSection(status, lines, seq++));
      }
    }
    return this.assemble(replaced, deleted, insertions);
  }

  /** A section that does not exist yet goes where the SPEC's order puts it. */
  private newSection(status: Status, lines: string[], seq: number): Insertion {
    const { board } = this;
    const order = STATUSES.indexOf(status);
    const later = board.sections.filter((s) => STATUSES.indexOf(s.status) > order).sort((a, b) => a.line - b.line)[0];
    let after: number;
    if (later) after = later.line - 1;
    else if (board.sections.length > 0) after = lastNonBlank(board, board.sections[board.sections.length - 1]!.line, board.sections[board.sections.length - 1]!.endLine);
    else after = lastNonBlank(board, board.frontMatterEnd + 1, board.lines.length) || board.frontMatterEnd;
    const block = [`## ${board.settings.headings[status]}`, ...lines];
    if (after > 0 && !isBlank(board.lines[after - 1])) block.unshift('');
    if (after < board.lines.length && !isBlank(board.lines[after])) block.push('');
    return { after, rank: 1 + order, seq, lines: block };
  }

  private assemble(replaced: Map<number, string>, deleted: Set<number>, insertions: Insertion[]): string {
    const { board } = this;
    const byLine = new Map<number, Insertion[]>();
    for (const insertion of insertions) {
      const list = byLine.get(insertion.after) ?? [];
      list.push(insertion);
      byLine.set(insertion.after, list);
    }
    for (const list of byLine.values()) list.sort((a, b) => a.rank - b.rank || a.seq - b.seq);

    const out: string[] = [];
    const emitInsertions = (after: number): void => {
      const list = byLine.get(after);
      if (list) for (const insertion of list) for (const line of insertion.lines) out.push(line, board.eol);
    };
    emitInsertions(0);
    for (let line = 1; line <= board.lines.length; line++) {
      if (!deleted.has(line)) {
        out.push(replaced.get(line) ?? board.lines[line - 1]!);
        // A last line without a line end gets one only if something now follows it.
        const eol = board.eols[line - 1]!;
        out.push(eol === '' && byLine.has(line) ? board.eol : eol);
      }
      emitInsertions(line);
    }
    return out.join('');
  }
}

/** After the section's last task, or else after its last non-blank line (its heading at least). */
function insertionPoint(board: Board, from: number, to: number, status: Status): number {
  let last = 0;
  for (const task of board.tasks) if (task.status === status && task.line > from && task.endLine <= to) last = task.endLine;
  return last || lastNonBlank(board, from, to);
}

function lastNonBlank(board: Board, from: number, to: number): number {
  for (let line = Math.min(to, board.lines.length); line >= from; line--) if (!isBlank(board.lines[line - 1])) return line;
  return from - 1;
}

function isBlank(text: string | undefined): boolean {
  return text === undefined || text.trim() === '';
}

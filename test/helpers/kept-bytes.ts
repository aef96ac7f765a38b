// What "a tool write changes only the lines of the tasks it changes" (SPEC section 2) means for
// two versions of a board, checked on bytes. Used by test/fuzz-boards.test.ts after every write
// that exited 0.
//
// The rule, as this checker reads it:
// 1. Outside tasks, nothing changes. Drop every task's lines (its first line and its body, as the
//    board parser delimits them) from the old and from the new board: the rest must be the same
//    bytes, line ends included, in the same order. The new board may hold, in addition, the
//    heading of a status section that did not exist before (a section is inserted when a task must
//    move there) and empty lines right around such a heading or an added task; and a last line
//    that had no line end may gain one when something is appended after it.
// 2. Inside tasks, only what the write means to change: no task is lost; a task's body lines keep
//    their bytes wherever the task goes (compared without their line ends, since a moved block is
//    written with the board's line end); and a task whose meaning (status, box, title, fields) is
//    the same before and after keeps all its bytes, line ends included.
// Lines are the board reader's (src/board/board-bytes.ts decodeBoard: LF, CRLF, and a bare CR where
// the file uses it as a line end), each kept as its own bytes.
import { decodeBoard, encodeBoard } from '../../src/board/board-bytes.js';
import { parseBoard } from '../../src/board/parse-board.js';
import type { Board, Task } from '../../src/board/types.js';

const FILE = 'ACTIVE_TASKS.md';

interface ByteLines {
  /** Each line with its LF (the last one may have none). */
  lines: Buffer[];
}

function byteLines(board: Buffer): ByteLines {
  const { text, lineEnds } = decodeBoard(board);
  const lines: Buffer[] = [];
  let start = 0;
  while (start < text.length) {
    const at = text.indexOf('\n', start);
    const end = at < 0 ? text.length : at + 1;
    // Encoded line by line with the file's own line ends: the lines' bytes add up to the file's.
    lines.push(encodeBoard(text.slice(start, end), lineEnds));
    start = end;
  }
  return { lines };
}

/** A line without its line end (LF or CR LF). */
function content(line: Buffer): Buffer {
  let end = line.length;
  if (end > 0 && line[end - 1] === 10) end--;
  if (end > 0 && line[end - 1] === 13) end--;
  return line.subarray(0, end);
}

/** Where two versions of a line first differ, with a little context on either side. */
function showDifference(a: Buffer | undefined, b: Buffer | undefined): string {
  if (!a || !b) return `${show(a)} -> ${show(b)}`;
  let at = 0;
  while (at < a.length && at < b.length && a[at] === b[at]) at++;
  const from = Math.max(0, at - 30);
  return `first difference at byte ${at}: ${show(a.subarray(from, at + 30))} -> ${show(b.subarray(from, at + 30))}`;
}

function show(line: Buffer | undefined): string {
  if (line === undefined) return '(end of file)';
  const text = JSON.stringify(line.toString('latin1'));
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** The meaning of a task, without where it is. */
function meaning(task: Task): string {
  const { status, checked, title, prio, needs, caps, owner, branch, tries, retry } = task;
  return JSON.stringify({ status, checked, title, prio, needs, caps, owner, branch, tries, retry });
}

function taskLineSet(board: Board): Set<number> {
  const lines = new Set<number>();
  for (const task of board.tasks) for (let n = task.line; n <= task.endLine; n++) lines.add(n);
  return lines;
}

interface Kept {
  line: number;
  bytes: Buffer;
  /** An empty line the tool may have added next to a new section heading. */
  slack: boolean;
}

function keptLines(board: Board, bytes: ByteLines, newHeadings: Set<number>, besideNewTasks: Set<number> = new Set()): Kept[] {
  const inTasks = taskLineSet(board);
  const kept: (Kept & { heading: boolean })[] = [];
  bytes.lines.forEach((line, index) => {
    const n = index + 1;
    // An empty line right beside an added task: placed under a heading whose section's text
    // follows, the task needs it, or the text would read as part of the task.
    if (!inTasks.has(n)) kept.push({ line: n, bytes: line, slack: besideNewTasks.has(n) && content(line).length === 0, heading: newHeadings.has(n) });
  });
  kept.forEach((entry, k) => {
    if (!entry.heading) return;
    for (const neighbour of [kept[k - 1], kept[k + 1]]) if (neighbour && content(neighbour.bytes).length === 0) neighbour.slack = true;
  });
  return kept.filter((entry) => !entry.heading);
}

export type ParsedBoard = { board: Board } | { error: Error };

export async function parseBytes(bytes: Buffer): Promise<ParsedBoard> {
  try {
    return { board: await parseBoard(FILE, decodeBoard(bytes).text) };
  } catch (error) {
    return { error: error as Error };
  }
}

/**
 * What a write from `before` to `after` changed that it may not have: an empty list when every
 * byte outside the changed tasks is kept. `before` must parse (the command that wrote read it).
 */
export interface KeptBytesProblem {
  /** What went wrong, the same words for every case: failures are grouped by it. */
  kind: string;
  detail: string;
}

export async function keptBytesProblems(before: Buffer, after: Buffer): Promise<KeptBytesProblem[]> {
  const old = await parseBytes(before);
  if ('error' in old) return [{ kind: 'the board before the write does not parse in-process', detail: old.error.message }];
  const now = await parseBytes(after);
  if ('error' in now) return [{ kind: 'the written board no longer parses', detail: now.error.message }];
  const problems: KeptBytesProblem[] = [];
  const oldLines = byteLines(before);
  const newLines = byteLines(after);

  const oldStatuses = new Set(old.board.sections.map((section) => section.status));
  const newHeadings = new Set(now.board.sections.filter((section) => !oldStatuses.has(section.status)).map((section) => section.line));
  const oldKept = keptLines(old.board, oldLines, new Set());
  const besideNewTasks = new Set(now.board.tasks.filter((task) => task.id === null || !old.board.byId.has(task.id)).flatMap((task) => [task.line - 1, task.endLine + 1]));
  const newKept = keptLines(now.board, newLines, newHeadings, besideNewTasks);
  const lastOld = oldLines.lines.length;
  const same = (a: Kept, b: Kept): boolean => {
    if (a.bytes.equals(b.bytes)) return true;
    // The old last line had no line end; the write appended after it.
    // (A last line that ends in a lone CR in a file of mixed line ends may get its LF: the CR stays.)
    return a.line === lastOld && a.bytes[a.bytes.length - 1] !== 10 && content(b.bytes).equals(content(a.bytes)) && b.bytes.subarray(0, a.bytes.length).equals(a.bytes) && b.bytes.length > a.bytes.length;
  };
  let i = 0;
  let j = 0;
  while (i < oldKept.length || j < newKept.length) {
    const a = oldKept[i];
    const b = newKept[j];
    if (a && b && same(a, b)) {
      i++;
      j++;
    } else if (b && b.slack) {
      j++;
    } else {
      problems.push({
        kind: 'a line outside every task changed',
        detail: `old line ${a?.line ?? '-'} became new line ${b?.line ?? '-'}, ${showDifference(a?.bytes, b?.bytes)}`,
      });
      break;
    }
  }

  for (const task of old.board.tasks) {
    if (task.id === null) continue;
    const next = now.board.byId.get(task.id);
    if (!next) {
      problems.push({ kind: 'a task is gone', detail: `${task.id} (old line ${task.line})` });
      continue;
    }
    const oldBody = oldLines.lines.slice(task.line, task.endLine).map(content);
    const newBody = newLines.lines.slice(next.line, next.endLine).map(content);
    if (oldBody.length !== newBody.length || oldBody.some((line, k) => !line.equals(newBody[k]!))) {
      problems.push({ kind: "a task's body changed", detail: `${task.id}: old lines ${task.line + 1}..${task.endLine} ${show(Buffer.concat(oldBody))}, new lines ${next.line + 1}..${next.endLine} ${show(Buffer.concat(newBody))}` });
    }
    if (meaning(task) === meaning(next)) {
      const oldFirst = oldLines.lines[task.line - 1]!;
      const newFirst = newLines.lines[next.line - 1]!;
      const firstKept = oldFirst.equals(newFirst) || (task.line === lastOld && content(newFirst).equals(oldFirst));
      if (!firstKept) problems.push({ kind: 'a task that did not change was rewritten', detail: `${task.id}: old line ${task.line}, new line ${next.line}, ${showDifference(oldFirst, newFirst)}` });
    }
  }
  return problems;
}

// Text in, Board out. Structure comes from the fast scanner, or from remark where the scanner
// declines; task lines, sections and front matter are then read the same way on both paths.
import { hasBareCr } from './board-bytes.js';
import { FileError } from '../errors.js';
import { taskNumber } from '../identifiers.js';
import { BoardText } from './board-text.js';
import { readFrontMatter } from './front-matter.js';
import { hashIdAllocator, type RandomInt } from './hash-ids.js';
import { scanFrom } from './scan-outline.js';
import { statusMatcher } from './sections.js';
import { fieldValues, parseTaskLine, type TaskFieldValues, type TaskLine } from './task-line.js';
import type { Board, BoardOutline, Section, Status, Task } from './types.js';

export interface ParseOptions {
  /** Skip the scanner and use remark: the reference reading, for the differential tests. */
  reader?: 'auto' | 'remark';
}

export async function parseBoard(file: string, text: string, options: ParseOptions = {}): Promise<Board> {
  const { lines } = splitLines(text);
  const source = new BoardText(text);
  const frontMatter = await readFrontMatter(file, lines);
  const firstLine = frontMatter.endLine + 1;
  // A byte-order mark is kept in the file but is not Markdown.
  const markdownLines = frontMatter.endLine === 0 && lines[0]?.startsWith('\uFEFF') ? [lines[0].slice(1), ...lines.slice(1)] : lines;

  const { outline, reader, bodyFenceLeftOpen } = await readOutline(file, markdownLines, firstLine, options);

  const settings = frontMatter.settings;
  const sections = sectionsOf(outline, lines.length, statusMatcher(settings.headings));
  const boundaries = outline.headings.filter((heading) => heading.depth <= 2).map((heading) => heading.line);
  const tasks = tasksOf(file, lines, outline, sections, settings.prefix);
  const byId = indexTasks(file, tasks, sections);
  return {
    file,
    text,
    source,
    eol: source.newline,
    settings,
    frontMatterEnd: frontMatter.endLine,
    sections,
    boundaries,
    tasks,
    byId,
    reader,
    // A bare CR that is not a line end (a file with all three kinds of line end; board-bytes.ts)
    // is a byte inside a line to the parser, and the edit model's line arithmetic is checked too.
    irregular: reader === 'remark' || bodyFenceLeftOpen || hasBareCr(text),
  };
}

/**
 * The scanner reads the board; where it meets a construct it does not model, remark reads that
 * stretch alone and the scanner goes on after it. A whole-board remark parse of a 50,000-task
 * board costs seconds and a gigabyte, on every cache miss, for one block quote.
 */
async function readOutline(file: string, lines: string[], firstLine: number, options: ParseOptions): Promise<{ outline: BoardOutline; reader: Board['reader']; bodyFenceLeftOpen: boolean }> {
  const check = (from: number, to: number): void => refuseDeepNesting(file, lines, from, to);
  if (options.reader === 'remark') {
    check(firstLine, lines.length);
    const { remarkOutline } = await import('./remark-outline.js');
    return { outline: remarkOutline(lines, firstLine), reader: 'remark', bodyFenceLeftOpen: false };
  }
  const outline: BoardOutline = { headings: [], items: [] };
  let reader: Board['reader'] = 'scanner';
  let remarkLines = 0;
  let bodyFenceLeftOpen = false;
  for (let from: number | null = firstLine; from !== null; ) {
    const scan = scanFrom(lines, from);
    bodyFenceLeftOpen ||= scan.bodyFenceLeftOpen;
    outline.headings.push(...scan.outline.headings);
    outline.items.push(...scan.outline.items);
    if (scan.restart === null) break;
    reader = 'remark';
    const { remarkRegion } = await import('./remark-outline.js');
    const region = remarkRegion(lines, scan.restart, scan.declined, check);
    outline.headings.push(...region.outline.headings);
    outline.items.push(...region.outline.items);
    remarkLines += region.read;
    from = region.next;
  }
  // For tests and for whoever wonders where a slow read went (see test/hostile-boards.test.ts).
  if (reader === 'remark' && process.env.GUILD_DEBUG_PARSE === '1') process.stderr.write(`guild-fs debug: remark read ${remarkLines} of ${lines.length} lines\n`);
  return { outline, reader, bodyFenceLeftOpen };
}

/**
 * remark's parse of nested containers grows with the square of their depth (a 400-level list
 * takes seconds) and recurses (10,000 `>` overflow the stack). Lines remark is to read are held to
 * a depth no board needs. The depth is estimated from the line's start alone, generously: each
 * `>`, each list marker, and every two columns of indentation (the least a nested list item adds)
 * count one level.
 */
export const MAX_NESTING = 32;

function refuseDeepNesting(file: string, lines: string[], from: number, to: number): void {
  for (let line = from; line <= to; line++) {
    const depth = nestingDepth(lines[line - 1]!);
    if (depth > MAX_NESTING) {
      throw new FileError('EDEPTH', file, line, `block quotes and lists nested about ${depth} deep: guild-fs reads them up to ${MAX_NESTING} deep (each >, each list marker and every two columns of indentation count one); flatten this part`, { depth });
    }
  }
}

function nestingDepth(text: string): number {
  let levels = 0;
  let columns = 0;
  for (let i = 0; i < text.length; ) {
    const c = text[i]!;
    if (c === ' ') columns++;
    else if (c === '\t') columns += 4;
    else if (c === '>') levels++;
    else {
      const marker = /^(?:[-*+]|\d{1,9}[.)])(?=[ \t]|$)/.exec(text.slice(i, i + 12));
      if (!marker) break;
      levels++;
      i += marker[0].length;
      continue;
    }
    i++;
  }
  return levels + (columns >> 1);
}

export function splitLines(text: string): { lines: string[]; eols: string[] } {
  const lines: string[] = [];
  const eols: string[] = [];
  let start = 0;
  while (start < text.length) {
    const newline = text.indexOf('\n', start);
    if (newline < 0) {
      lines.push(text.slice(start));
      eols.push('');
      return { lines, eols };
    }
    const crlf = newline > start && text.charCodeAt(newline - 1) === 13;
    lines.push(text.slice(start, crlf ? newline - 1 : newline));
    eols.push(crlf ? '\r\n' : '\n');
    start = newline + 1;
  }
  return { lines, eols };
}

function sectionsOf(outline: BoardOutline, lineCount: number, statusOf: (text: string) => Section['status'] | null): Section[] {
  const sections: Section[] = [];
  let open: Section | null = null;
  for (const heading of outline.headings) {
    if (heading.depth > 2) continue;
    if (open) open.endLine = heading.line - 1;
    open = null;
    if (heading.depth !== 2) continue;
    const status = statusOf(heading.text);
    if (status) {
      open = { status, heading: heading.text, line: heading.line, endLine: lineCount };
      sections.push(open);
    }
  }
  return sections;
}

function tasksOf(file: string, lines: string[], outline: BoardOutline, sections: Section[], prefix: string): Task[] {
  const tasks: Task[] = [];
  let s = 0;
  for (const item of outline.items) {
    while (s < sections.length && sections[s]!.endLine < item.line) s++;
    const section = sections[s];
    if (!section || section.line > item.line) continue; // an item outside every status section is free text
    const parsed = parseTaskLine(lines[item.line - 1]!, prefix, file, item.line);
    tasks.push(makeTask(parsed, fieldValues(parsed, file, item.line), section.status, item.line, item.endLine));
  }
  return tasks;
}

/** One object shape for every task, built in one go: this runs 10,000 times for a large board. */
export function makeTask(parsed: TaskLine, values: TaskFieldValues, status: Status, line: number, endLine: number): Task {
  return {
    id: parsed.id,
    title: parsed.title,
    status,
    checked: parsed.checked,
    prio: values.prio,
    needs: values.needs,
    caps: values.caps,
    owner: values.owner,
    branch: values.branch,
    tries: values.tries,
    retry: values.retry,
    empty: values.empty,
    line,
    endLine,
  };
}

export function indexById(tasks: readonly Task[]): Map<string, Task> {
  const byId = new Map<string, Task>();
  for (const task of tasks) if (task.id !== null) byId.set(task.id, task);
  return byId;
}

function indexTasks(file: string, tasks: Task[], sections: Section[]): Map<string, Task> {
  const byId = new Map<string, Task>();
  for (const task of tasks) {
    if (task.id === null) continue;
    const first = byId.get(task.id);
    if (first) {
      const where = (t: Task): string => headingOf(sections, t);
      const what =
        first.status === task.status
          ? `duplicate task ID ${task.id}: this line and line ${first.line} both have it`
          : `task ${task.id} is in two sections: ${where(first)} (line ${first.line}) and ${where(task)} (line ${task.line})`;
      // Every command reads the whole board, so this stops them all: say how to get out. An item
      // without an ID is given the next free one by the next write (sync is the write that does
      // nothing else), which is what makes the second way true.
      const fix = `keep the ID on one line and remove it from the other (leave "- [ ] title"), then run \`guild-fs sync\`, which gives that item the next free ID; or delete the line that is a copy`;
      throw new FileError('EDUPLICATE', file, task.line, `${what}; ${fix}`, { id: task.id, lines: [first.line, task.line] });
    }
    byId.set(task.id, task);
  }
  return byId;
}

/** The largest number a task ID can carry: TASK_ID_PATTERN allows nine digits. */
const LAST_ID_NUMBER = 999_999_999;

/** New task IDs: random ones with `ids: hash` (board/hash-ids.ts), else the next numbers. */
export function idAllocator(board: Board, random?: RandomInt): () => string {
  if (board.settings.ids === 'hash') return hashIdAllocator(board, random);
  return numericIdAllocator(board);
}

/**
 * Numbered above every number the board names, as an ID or in needs (a number once named is never
 * handed out again). A need can name any number, and one typo (needs:GLD-999999999) used
 * PREFIX-1000000000, which does not read back as an ID: every write then failed, on a line of its
 * own new text. So when the numbers above the needs run out, IDs go on above the task IDs,
 * skipping every number a need names; only when the task IDs themselves reach the end is a new ID
 * refused, at the line that holds the largest. Hash IDs merged in from a clone with `ids: hash`
 * carry no number (taskNumber gives 0) and do not move the count.
 */
function numericIdAllocator(board: Board): () => string {
  let highest = 0;
  let highestTask = 0;
  let holder: { id: string; line: number } = { id: '', line: 0 };
  for (const task of board.tasks) {
    const n = task.id ? taskNumber(task.id) : 0;
    if (n > highestTask) {
      highestTask = n;
      holder = { id: task.id!, line: task.line };
    }
    for (const need of task.needs) highest = Math.max(highest, taskNumber(need));
  }
  highest = Math.max(highest, highestTask);
  let named: Set<number> | null = null;
  const given: number[] = [];
  const prefix = board.settings.prefix;
  return () => {
    if (highest < LAST_ID_NUMBER) {
      given.push(++highest);
      return `${prefix}-${highest}`;
    }
    named ??= new Set([...board.tasks.flatMap((task) => task.needs.map(taskNumber)), ...given]);
    do highestTask++;
    while (named.has(highestTask));
    if (highestTask > LAST_ID_NUMBER) {
      throw new FileError('EIDSPACE', board.file, holder.line, `no task ID is left to give a new task: IDs stop at ${prefix}-${LAST_ID_NUMBER} (nine digits), and new ones go above ${holder.id} here, the largest on the board; if it is a typo, correct it`, { id: holder.id });
    }
    return `${prefix}-${highestTask}`;
  };
}

function headingOf(sections: Section[], task: Task): string {
  return sections.find((section) => section.line < task.line && section.endLine >= task.line)?.heading ?? task.status;
}

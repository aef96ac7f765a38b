// Adding a task from the command line. The new lines are built only from validated values, and
// a title that would read back differently (a trailing "prio:high", a line break, a control
// character) is refused
// rather than silently turned into something else.
import type { Priority, Status } from '../board/types.js';
import { FIELD_KEYS } from '../board/types.js';
import { NoSuchTaskError, UsageError } from '../errors.js';
import type { Guild } from './guild.js';
import { BoardText } from '../board/board-text.js';
import { refuseControlCharacters } from '../control-characters.js';
import { openBlockAt } from '../board/open-block.js';
import { updateBoard } from './update-board.js';

export interface AddRequest {
  agent: string;
  title: string;
  prio?: Priority;
  needs?: string[];
  caps?: string[];
  /** `empty:ok`: it may be done with no change. */
  emptyOk?: boolean;
  body?: string;
  status?: Status;
}

export interface AddResult {
  id: string;
  status: Status;
}

const ADDABLE: Status[] = ['backlog', 'blocked', 'ready'];
/** Under a paragraph, `===`/`---` make it a setext heading and a row of dashes and pipes a table header. */
const UNDERLINE = /^ {0,3}(?:=+|-+)[ \t]*$/;
const TABLE_DELIMITER = /^ {0,3}[-:|][-:| \t]*$/;
const TRAILING_FIELD = new RegExp(`(^|\\s)\`?(${FIELD_KEYS.join('|')}):\\S+$`);

export async function addTask(guild: Guild, request: AddRequest): Promise<AddResult> {
  const title = request.title.trim();
  if (title === '') throw new UsageError('a task needs a title');
  refuseControlCharacters({ name: 'the title', value: title, lines: 'one' });
  if (TRAILING_FIELD.test(title)) throw new UsageError(`the title ends with what reads as a field (${title.split(/\s+/).pop()}); use --prio, --needs, --caps or --empty-ok`);
  const wanted = request.status ?? 'ready';
  if (!ADDABLE.includes(wanted)) throw new UsageError(`--status must be one of ${ADDABLE.join(', ')} (claim a task to put it in progress)`);
  const needs = request.needs ?? [];
  if (request.body !== undefined) refuseControlCharacters({ name: 'the body', value: request.body, lines: 'many' });
  if (request.body !== undefined) refuseOpenBody(request.body);

  return updateBoard(guild, request.agent, `add for ${request.agent}`, (tx) => {
    for (const need of needs) if (!tx.board.byId.has(need)) throw new NoSuchTaskError(need, { field: 'needs' });
    const id = tx.nextId();
    const met = needs.every((need) => tx.edit.statusOf(tx.board.byId.get(need)!) === 'done');
    const status: Status = wanted === 'backlog' ? 'backlog' : met ? 'ready' : 'blocked';
    const fields = [
      request.prio && request.prio !== 'normal' ? `prio:${request.prio}` : '',
      needs.length ? `needs:${needs.join(',')}` : '',
      request.caps?.length ? `caps:${request.caps.join(',')}` : '',
      request.emptyOk ? 'empty:ok' : '',
    ].filter(Boolean);
    const lines = [[`- [ ] ${id} ${title}`, ...fields].join(' ')];
    for (const line of (request.body ?? '').replace(/\r\n?/g, '\n').split('\n')) {
      if (request.body === undefined) break;
      lines.push(line.trim() === '' ? '' : `  ${line}`);
    }
    while (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
    refuseHeadingMakers(lines[1]);
    tx.edit.add(status, lines);
    tx.addedNeeds(id, needs);
    tx.emit('task.created', id, { title, status, prio: request.prio ?? 'normal', needs, caps: request.caps ?? [] });
    return { id, status };
  });
}

/**
 * A body whose first line sits right under the task line as `---`, `===` or `|---|` turns the
 * task line into a heading or a table header: the task would be written but never read back, and
 * its ID handed out again by the next `add`.
 */
function refuseHeadingMakers(bodyLine: string | undefined): void {
  if (bodyLine === undefined || bodyLine === '') return;
  const text = bodyLine.slice(2); // the body's two columns of indentation
  if (UNDERLINE.test(text) || TABLE_DELIMITER.test(text)) {
    throw new UsageError(`the body's first line ${JSON.stringify(text.trim())} would turn the task line above it into a heading or a table header; start the body with an empty line`);
  }
}

/**
 * A body that leaves a code fence or an HTML comment open: inside the task it is closed by the
 * task's end, but wherever the board must later write a line after it (a new section, a moved
 * task) the edit would not read back, so every later claim or move there would be refused.
 */
function refuseOpenBody(body: string): void {
  const source = new BoardText(body.replace(/\r\n?/g, '\n'));
  const open = source.count === 0 ? null : openBlockAt(source, 1, source.count);
  if (open) throw new UsageError(`the body leaves a ${open.what} open (its line ${open.line}); close it in the body`);
}

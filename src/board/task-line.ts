// One task's first line: `- [ ] GLD-4 Create the users table prio:high owner:agent-a`.
// Read into parts that can be written back so that only what changed changes: the marker,
// the spacing, the title and the order and backtick style of the fields all survive.
import { FileError } from '../errors.js';
import { CAP_PATTERN, TASK_ID_PATTERN, isAgentName, isBranchName, isHashShaped } from '../identifiers.js';
import { FIELD_KEYS, PRIORITIES, type FieldKey, type FieldToken, type Priority, type Task } from './types.js';

// marker, box, gap, ID (anything shaped like one: a wrong prefix is an error, not a title),
// then the rest: the title and the trailing run of known key:value fields, each optionally in
// backticks, which splitFields cuts off from the end. One pattern for the whole line (a lazy title
// before the field run) backtracks quadratically on a long run of spaces in the title: 40,000
// spaces cost ten seconds a command. The title is sliced, never matched, so U+2028 and U+2029
// (text in Markdown and on the board: lines end only at CR and LF) stay in it.
const TASK_HEAD = /^([ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+)\[([ xX])\]([ \t]+)(?:([A-Z][A-Z0-9]*-(?:\d+|[A-Z][A-Z0-9]{3,11}))(?=[ \t]|$))?/;
const FIELD = new RegExp(`^(\`?)(?:${FIELD_KEYS.join('|')}):[^\\s\`]+\\1$`);

export interface TaskLine {
  /** Indentation, bullet and the space before the checkbox. */
  marker: string;
  checked: boolean;
  /** The character typed in the box: ' ', 'x' or 'X'. */
  checkChar: string;
  /** Space between the checkbox and the text. */
  gap: string;
  id: string | null;
  /** The text between the checkbox and the fields, ID included, as written. */
  core: string;
  title: string;
  fields: FieldToken[];
}

/**
 * The text after a task line's ID (or its gap, without one) as the title and the field run: the
 * longest run at the line's end of fields each after a space or tab. The title keeps its leading
 * space and loses the spaces before the fields; the run has no trailing spaces. Each token is
 * looked at once, from the end, so a line costs its length.
 */
function splitFields(text: string, from: number): { title: string; fields: string } {
  const end = trimmedEnd(text);
  if (end <= from) return { title: '', fields: '' };
  let cut = end;
  for (;;) {
    let start = cut;
    while (start > from && !isSpaceOrTab(text.charCodeAt(start - 1))) start--;
    // A field needs a space or tab before it: a title's first word is never a field.
    if (start === from || !FIELD.test(text.slice(start, cut))) break;
    const before = trimmedEnd(text, start);
    if (before < from) break;
    cut = before;
  }
  return { title: text.slice(from, cut), fields: text.slice(cut, end) };
}

const isSpaceOrTab = (code: number): boolean => code === 32 || code === 9;

/** Where `text` (up to `to`) ends without its trailing spaces and tabs. */
export function trimmedEnd(text: string, to = text.length): number {
  let end = to;
  while (end > 0 && isSpaceOrTab(text.charCodeAt(end - 1))) end--;
  return end;
}

/** What a task's fields say, defaults filled in. */
export type TaskFieldValues = Pick<Task, FieldKey>;

export function parseTaskLine(text: string, prefix: string, file: string, line: number): TaskLine {
  const match = TASK_HEAD.exec(text);
  if (!match) throw new FileError('EBOARD', file, line, `expected a task item like "- [ ] ${prefix}-1 title", got ${JSON.stringify(text)}`);
  let id = match[4] ?? null;
  const { title: titlePart, fields: tail } = splitFields(text, match[0].length);
  let rest = titlePart;
  // A word like HTTP-TIMEOUT is a title's, not a hash ID of another board: only the board's own
  // prefix makes letters after the dash an ID (numbers with a wrong prefix stay an error).
  if (id !== null && isHashShaped(id) && !id.startsWith(`${prefix}-`)) {
    rest = id + rest;
    id = null;
  }
  if (id !== null) {
    const shape = TASK_ID_PATTERN.exec(id);
    if (!shape || shape[1] !== prefix) {
      throw new FileError('EBADID', file, line, `task ID ${id} is not ${prefix}-<n>: ${idProblem(id, prefix, shape)}`, { id });
    }
  }
  const title = rest.trim();
  const fields: FieldToken[] = [];
  if (tail !== '') {
    for (const token of tail.trim().split(/[ \t]+/)) {
      const backticks = token.charCodeAt(0) === 96;
      const body = backticks ? token.slice(1, -1) : token;
      const colon = body.indexOf(':');
      fields.push({ key: body.slice(0, colon) as FieldKey, value: body.slice(colon + 1), backticks });
    }
  }
  const core = id === null ? title : title === '' ? id : `${id}${rest.slice(0, trimmedEnd(rest))}`;
  return { marker: match[1]!, checked: match[2] !== ' ', checkChar: match[2]!, gap: match[3]!, id, core, title, fields };
}

/** Validated field values. A known key with a bad value is an error: it is never silently dropped. */
export function fieldValues(task: TaskLine, file: string, line: number): TaskFieldValues {
  const values: TaskFieldValues = { prio: 'normal', needs: NONE, caps: NONE, owner: null, branch: null, tries: 0, retry: null, empty: null };
  if (task.fields.length === 0) return values;
  const seen: string[] = [];
  for (const field of task.fields) {
    const value = field.value;
    if (seen.includes(field.key)) badField(field, file, line, `${field.key} is given twice`);
    seen.push(field.key);
    switch (field.key) {
      case 'prio':
        if (!(PRIORITIES as readonly string[]).includes(value)) badField(field, file, line, `prio must be one of ${PRIORITIES.join(', ')}`);
        values.prio = value as Priority;
        break;
      case 'needs':
        values.needs = value.split(',').filter(Boolean);
        for (const need of values.needs) if (!TASK_ID_PATTERN.test(need)) badField(field, file, line, `${JSON.stringify(need)} is not a task ID`);
        break;
      case 'caps':
        values.caps = value.split(',').filter(Boolean);
        for (const cap of values.caps) if (!CAP_PATTERN.test(cap)) badField(field, file, line, `${JSON.stringify(cap)} is not a capability name`);
        break;
      case 'owner':
        if (!isAgentName(value)) badField(field, file, line, 'not a valid agent name');
        values.owner = value;
        break;
      case 'branch':
        if (!isBranchName(value)) badField(field, file, line, 'not a safe branch name');
        values.branch = value;
        break;
      case 'tries':
        if (!/^\d{1,6}$/.test(value)) badField(field, file, line, 'tries must be a whole number');
        values.tries = Number(value);
        break;
      case 'retry':
        if (!RETRY_TIME.test(value) || Number.isNaN(Date.parse(value))) badField(field, file, line, 'retry must be an ISO time like 2026-11-21T10:00:00.000Z');
        values.retry = value;
        break;
      case 'empty':
        if (value !== 'ok') badField(field, file, line, 'empty takes one value, ok (the task may be done with no change)');
        values.empty = 'ok';
        break;
    }
  }
  return values;
}

const NONE = Object.freeze([]) as unknown as string[];
const RETRY_TIME = /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:?\d{2})$/;

function badField(field: FieldToken, file: string, line: number, what: string): never {
  throw new FileError('EFIELD', file, line, `${field.key}:${field.value}: ${what}`, { field: field.key });
}

/** Field values to write: null, empty and default values are left off the line. */
export type FieldChanges = Partial<{ [K in FieldKey]: string | null }>;

export function formatTaskLine(task: TaskLine, change: { checked?: boolean; id?: string; fields?: FieldChanges }): string {
  const checked = change.checked ?? task.checked;
  const checkChar = checked === task.checked ? task.checkChar : checked ? 'x' : ' ';
  let core = task.core;
  if (change.id !== undefined && task.id === null) core = core === '' ? change.id : `${change.id} ${core}`;

  const fields = task.fields.map((field) => ({ ...field }));
  const backticks = fields.length > 0 && fields.every((field) => field.backticks);
  for (const [key, value] of Object.entries(change.fields ?? {}) as [FieldKey, string | null][]) {
    const index = fields.findIndex((field) => field.key === key);
    if (value === null || value === '') {
      if (index >= 0) fields.splice(index, 1);
    } else if (index >= 0) {
      fields[index]!.value = value;
    } else {
      fields.push({ key, value, backticks });
    }
  }
  const tail = fields.map((field) => (field.backticks ? `\`${field.key}:${field.value}\`` : `${field.key}:${field.value}`)).join(' ');
  return `${task.marker}[${checkChar}]${task.gap}${core}${core && tail ? ' ' : ''}${tail}`;
}

/** Why an ID on the board is not one of its IDs, said as precisely as the ID allows. */
function idProblem(id: string, prefix: string, shape: RegExpExecArray | null): string {
  if (shape) return `the board's prefix is ${prefix}, not ${shape[1]}`;
  const number = id.slice(id.lastIndexOf('-') + 1);
  if (/^0[0-9]*$/.test(number)) return 'IDs have no leading zeros';
  if (/^[0-9]{10,}$/.test(number)) return 'the number after the prefix has at most 9 digits';
  return `the board's prefix is ${prefix}, and after it comes a number of 1 to 9 digits without leading zeros or a hash ID of 4 to 12 letters and digits starting with a letter`;
}

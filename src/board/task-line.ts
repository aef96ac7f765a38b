// One task's first line: `- [ ] GLD-4 Create the users table prio:high owner:agent-a`.
// Read into parts that can be written back so that only what changed changes: the marker,
// the spacing, the title and the order and backtick style of the fields all survive.
import { FileError } from '../errors.js';
import { CAP_PATTERN, TASK_ID_PATTERN, isAgentName, isBranchName, isHashShaped } from '../identifiers.js';
import { FIELD_KEYS, PRIORITIES, type FieldKey, type FieldToken, type Priority, type Task } from './types.js';

// marker, box, gap, ID (anything shaped like one: a wrong prefix is an error, not a title),
// title, then the trailing run of known key:value fields, each optionally in backticks. The s
// flag: U+2028 and U+2029 are text in Markdown and on the board (lines end only at CR and LF),
// but a plain . would not match them and the whole line would be refused.
const FIELD_RUN = `(?:[ \\t]+(\`?)(?:${FIELD_KEYS.join('|')}):[^\\s\`]+\\7)*`;
const TASK_LINE = new RegExp(`^([ \\t]*(?:[-*+]|\\d{1,9}[.)])[ \\t]+)\\[([ xX])\\]([ \\t]+)(?:([A-Z][A-Z0-9]*-(?:\\d+|[A-Z][A-Z0-9]{3,11}))(?=[ \\t]|$))?(.*?)(${FIELD_RUN})[ \\t]*$`, 's');

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

/** What a task's fields say, defaults filled in. */
export type TaskFieldValues = Pick<Task, FieldKey>;

export function parseTaskLine(text: string, prefix: string, file: string, line: number): TaskLine {
  // One native regex match per task: this runs for every task of a 10,000-task board on every
  // command, where a loop over tokens in (cold, unoptimised) JavaScript costs several times more.
  const match = TASK_LINE.exec(text);
  if (!match) throw new FileError('EBOARD', file, line, `expected a task item like "- [ ] ${prefix}-1 title", got ${JSON.stringify(text)}`);
  let id = match[4] ?? null;
  let rest = match[5]!;
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
  const tail = match[6]!;
  const fields: FieldToken[] = [];
  if (tail !== '') {
    for (const token of tail.trim().split(/[ \t]+/)) {
      const backticks = token.charCodeAt(0) === 96;
      const body = backticks ? token.slice(1, -1) : token;
      const colon = body.indexOf(':');
      fields.push({ key: body.slice(0, colon) as FieldKey, value: body.slice(colon + 1), backticks });
    }
  }
  const core = id === null ? title : title === '' ? id : `${id}${rest.replace(/[ \t]+$/, '')}`;
  return { marker: match[1]!, checked: match[2] !== ' ', checkChar: match[2]!, gap: match[3]!, id, core, title, fields };
}

/** Validated field values. A known key with a bad value is an error: it is never silently dropped. */
export function fieldValues(task: TaskLine, file: string, line: number): TaskFieldValues {
  const values: TaskFieldValues = { prio: 'normal', needs: NONE, caps: NONE, owner: null, branch: null, tries: 0, retry: null };
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

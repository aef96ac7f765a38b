// One task's first line: `- [ ] GLD-4 Create the users table prio:high owner:agent-a`.
// Read into parts that can be written back so that only what changed changes: the marker,
// the spacing, the title and the order and backtick style of the fields all survive.
import { FileError } from '../errors.js';
import { CAP_PATTERN, TASK_ID_PATTERN, isAgentName, isBranchName } from '../identifiers.js';
import { FIELD_KEYS, PRIORITIES, type FieldKey, type FieldToken, type Priority } from './types.js';

const LEAD = /^([ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+)\[([ xX])\]([ \t]+)(.*)$/;
const FIELD = /^(`?)([a-z]+):(\S+?)\1$/;
const ID_SHAPE = /^[A-Z][A-Z0-9]*-\d+$/;
const KNOWN = new Set<string>(FIELD_KEYS);

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

export interface TaskFieldValues {
  prio: Priority;
  needs: string[];
  caps: string[];
  owner: string | null;
  branch: string | null;
  tries: number;
  retry: string | null;
}

export function parseTaskLine(text: string, prefix: string, file: string, line: number): TaskLine {
  const lead = LEAD.exec(text);
  if (!lead) throw new FileError('EBOARD', file, line, `expected a task item like "- [ ] ${prefix}-1 title", got ${JSON.stringify(text)}`);
  const rest = lead[4]!;
  // Fields are read from the end, token by token, until one is not a known key:value. This runs
  // for every task on every command, so it walks indexes instead of splitting the line.
  const fields: FieldToken[] = [];
  let coreEnd = trimEnd(rest, rest.length);
  while (coreEnd > 0) {
    const space = lastSpace(rest, coreEnd);
    const token = rest.slice(space + 1, coreEnd);
    const match = token.indexOf(':') > 0 ? FIELD.exec(token) : null;
    if (!match || !KNOWN.has(match[2]!)) break;
    fields.push({ key: match[2] as FieldKey, value: match[3]!, backticks: match[1] === '`' });
    coreEnd = trimEnd(rest, space + 1);
  }
  fields.reverse();
  const core = rest.slice(0, coreEnd);

  let id: string | null = null;
  let title = core;
  const firstEnd = core.search(/[ \t]/);
  const first = firstEnd < 0 ? core : core.slice(0, firstEnd);
  if (ID_SHAPE.test(first)) {
    const shape = TASK_ID_PATTERN.exec(first);
    if (!shape || shape[1] !== prefix) {
      throw new FileError('EBADID', file, line, `task ID ${first} is not ${prefix}-<n> (the board's prefix is ${prefix}; IDs have no leading zeros)`, { id: first });
    }
    id = first;
    title = firstEnd < 0 ? '' : core.slice(firstEnd).trimStart();
  }
  return { marker: lead[1]!, checked: lead[2] !== ' ', checkChar: lead[2]!, gap: lead[3]!, id, core, title, fields };
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

function lastSpace(text: string, end: number): number {
  for (let i = end - 1; i >= 0; i--) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9) return i;
  }
  return -1;
}

/** The index just after the last non-blank character before `end`. */
function trimEnd(text: string, end: number): number {
  while (end > 0) {
    const c = text.charCodeAt(end - 1);
    if (c !== 32 && c !== 9) break;
    end--;
  }
  return end;
}

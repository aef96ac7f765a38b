// One task changed on both sides of a merge, merged part by part: where it stands (status and
// the fields events set), its title, each other field, and its body are each taken from the side
// that changed them. A `prio` set
// on one branch and a title changed on the other both survive; so do a claim made by a tool and
// a retitle made by a person in a stale buffer. Only a part changed differently on both sides is
// a clash, decided for the whole clash by one side (the caller's choice: the later event).
import { formatTaskLine, parseTaskLine, type FieldChanges, type TaskLine } from '../board/task-line.js';
import { FIELD_KEYS, type FieldKey, type Status } from '../board/types.js';
import { GuildError } from '../errors.js';

export interface TaskVersion {
  status: Status;
  lines: string[];
}

export type MergeSide = 'ours' | 'theirs';

/** Fields that say where a task stands, set by events: merged together with the status. */
const STATE_FIELDS: readonly FieldKey[] = ['owner', 'tries', 'retry', 'branch'];

interface Parts {
  status: Status;
  checked: boolean;
  core: string;
  fields: Map<FieldKey, string>;
  body: string;
  line: TaskLine;
}

export interface FieldMerge {
  version: TaskVersion;
  /** Parts changed differently on both sides; empty when the merge needed no choice. */
  clashes: string[];
}

/**
 * Merges a task's three versions part by part; where a part clashes, `prefer`'s value is taken.
 * null when a version's first line cannot be read as a task line.
 */
export function mergeTaskFields(base: TaskVersion, ours: TaskVersion, theirs: TaskVersion, prefix: string, prefer: MergeSide): FieldMerge | null {
  const [b, o, t] = [partsOf(base, prefix), partsOf(ours, prefix), partsOf(theirs, prefix)];
  if (!b || !o || !t) return null;
  const clashes: string[] = [];
  const pick = <V>(name: string, bv: V, ov: V, tv: V): V => {
    if (ov === tv || tv === bv) return ov;
    if (ov === bv) return tv;
    clashes.push(name);
    return prefer === 'ours' ? ov : tv;
  };
  // Where the task stands (status, box, owner, tries, retry, branch) moves as one: it is what
  // the events made of it, and a mix of two sides' states (done, with the other side's retry)
  // is a state no history explains. The parts a person edits are merged one by one.
  const stateOf = (p: Parts): string => JSON.stringify([p.status, p.checked, ...STATE_FIELDS.map((key) => p.fields.get(key) ?? null)]);
  const state = pick('state', stateOf(b), stateOf(o), stateOf(t)) === stateOf(o) ? o : t;
  const status = state.status;
  const checked = state.checked;
  const core = pick('title', b.core, o.core, t.core);
  const body = pick('body', b.body, o.body, t.body);
  const fields: FieldChanges = {};
  const style = prefer === 'ours' ? o.line : t.line;
  const styleFields = new Map(style.fields.map((field) => [field.key, field.value]));
  for (const key of FIELD_KEYS) {
    const value = STATE_FIELDS.includes(key) ? (state.fields.get(key) ?? null) : pick(key, b.fields.get(key) ?? null, o.fields.get(key) ?? null, t.fields.get(key) ?? null);
    if (value !== (styleFields.get(key) ?? null)) fields[key] = value;
  }
  const first = formatTaskLine({ ...style, core }, { checked, fields });
  const lines = [first, ...(body === '' ? [] : body.split('\n'))];
  return { version: { status, lines }, clashes };
}

function partsOf(version: TaskVersion, prefix: string): Parts | null {
  let line: TaskLine;
  try {
    line = parseTaskLine(version.lines[0]!, prefix, 'merge', 1);
  } catch (error) {
    if (error instanceof GuildError) return null;
    throw error;
  }
  return {
    status: version.status,
    checked: line.checked,
    core: line.core,
    fields: new Map(line.fields.map((field) => [field.key, field.value])),
    body: version.lines.slice(1).join('\n'),
    line,
  };
}

// Replay: fold the audit log into each task's status, owner and tries. Events are applied in
// (ts, id) order with duplicate ids dropped, so a log whose lines a union merge left out of
// order replays the same as one written in order. For a log in order (the usual case) memory
// grows with tasks, not events; an out-of-order log is sorted in memory.
import { EVENT_TYPES, type AuditEvent } from './event.js';
import { readEventBatches, readEvents, type LogWarning } from './read-events.js';

export interface ReplayedTask {
  id: string;
  status: string;
  owner: string | null;
  tries: number;
  /** What the log last said of these; null when it never said (an old or hand-started log). */
  fields: { title: string | null; prio: string | null; needs: string[] | null; caps: string[] | null };
  /** The event that last changed the task, for messages. */
  last: { type: string; agent: string; ts: string; line: number };
}

export interface ReplayResult {
  tasks: Map<string, ReplayedTask>;
  events: number;
  warnings: LogWarning[];
  /** Events of a type replay does not know: kept, reported, not fatal. */
  unknown: { line: number; type: string }[];
}

export interface ReplayOptions {
  /** Only events at or before this time (ms since the epoch). */
  until?: number;
  lenient?: boolean;
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

const STATUS_OF: Record<string, string> = {
  'task.blocked': 'blocked',
  'task.unblocked': 'ready',
  'task.released': 'ready',
  'task.retried': 'ready',
  'task.poisoned': 'failed',
};

const KNOWN = new Set<string>(EVENT_TYPES);

export async function replayLog(path: string, options: ReplayOptions = {}): Promise<ReplayResult> {
  // A log is almost always in (ts, id) order already: fold it as it streams, keeping nothing but
  // the tasks, and fall back to sorting only when an event turns up out of order (a union merge
  // put another branch's older lines after ours). In order, a duplicate id sits right after its
  // twin, so dropping duplicates needs only the previous event.
  const streamed = await foldInOrder(path, options);
  return streamed ?? foldSorted(path, options);
}

async function foldInOrder(path: string, options: ReplayOptions): Promise<ReplayResult | null> {
  const warnings: LogWarning[] = [];
  const unknown: { line: number; type: string }[] = [];
  const tasks = new Map<string, ReplayedTask>();
  let previousTs = '';
  let previousId = '';
  let events = 0;
  for await (const batch of readEventBatches(path, { lenient: options.lenient, onProgress: options.onProgress, onWarning: (warning) => warnings.push(warning) })) {
    for (const { event, line } of batch) {
      if (event.ts < previousTs || (event.ts === previousTs && event.id < previousId)) return null;
      if (event.ts === previousTs && event.id === previousId) continue;
      previousTs = event.ts;
      previousId = event.id;
      events++;
      if (!KNOWN.has(event.type)) unknown.push({ line, type: event.type });
      if (options.until !== undefined && Date.parse(event.ts) > options.until) continue;
      if (typeof event.task === 'string') applyEvent(tasks, event, line);
    }
  }
  return { tasks, events, warnings, unknown };
}

async function foldSorted(path: string, options: ReplayOptions): Promise<ReplayResult> {
  const warnings: LogWarning[] = [];
  const unknown: { line: number; type: string }[] = [];
  // Events are sorted before folding; only what the fold needs is kept of each.
  const kept: { event: AuditEvent; line: number }[] = [];
  const seen = new Set<string>();
  for await (const { event, line } of readEvents(path, { lenient: options.lenient, onProgress: options.onProgress, onWarning: (warning) => warnings.push(warning) })) {
    if (seen.has(event.id)) continue;
    seen.add(event.id);
    if (!KNOWN.has(event.type)) unknown.push({ line, type: event.type });
    if (options.until !== undefined && Date.parse(event.ts) > options.until) continue;
    if (typeof event.task !== 'string') continue;
    kept.push({ event: { ...event, data: slim(event) }, line });
  }
  kept.sort((a, b) => (a.event.ts < b.event.ts ? -1 : a.event.ts > b.event.ts ? 1 : a.event.id < b.event.id ? -1 : a.event.id > b.event.id ? 1 : 0));
  const tasks = new Map<string, ReplayedTask>();
  for (const { event, line } of kept) applyEvent(tasks, event, line);
  return { tasks, events: seen.size, warnings, unknown };
}

/** The data fields the fold reads; the rest is dropped so that memory stays small. */
function slim(event: AuditEvent): Record<string, unknown> {
  const { status, to, tries, owner, title, prio, needs, caps } = event.data ?? {};
  return { status, to, tries, owner, title, prio, needs, caps };
}

function readFields(data: Record<string, unknown>, fields: ReplayedTask['fields']): void {
  if (typeof data.title === 'string') fields.title = data.title;
  if (typeof data.prio === 'string') fields.prio = data.prio;
  if (Array.isArray(data.needs)) fields.needs = data.needs as string[];
  if (Array.isArray(data.caps)) fields.caps = data.caps as string[];
}

export function applyEvent(tasks: Map<string, ReplayedTask>, event: AuditEvent, line: number): void {
  const id = event.task!;
  const last = { type: event.type, agent: event.agent, ts: event.ts, line };
  let task = tasks.get(id);
  if (event.type === 'task.created') {
    const status = typeof event.data.status === 'string' ? event.data.status : 'ready';
    const fields = { title: null, prio: null, needs: null, caps: null };
    readFields(event.data, fields);
    tasks.set(id, { id, status, owner: null, tries: 0, fields, last });
    return;
  }
  if (!task) {
    // History that begins mid-way (a rotated or hand-started log): start from nothing known.
    task = { id, status: 'unknown', owner: null, tries: 0, fields: { title: null, prio: null, needs: null, caps: null }, last };
    tasks.set(id, task);
  }
  const tries = typeof event.data.tries === 'number' ? event.data.tries : undefined;
  switch (event.type) {
    case 'task.claimed':
      task.status = 'in-progress';
      task.owner = event.agent;
      break;
    case 'task.completed':
      task.status = event.data.to === 'review' ? 'review' : 'done';
      // A box ticked by hand keeps whatever owner the line had.
      break;
    case 'task.failed':
      task.status = 'ready';
      task.owner = null;
      if (tries !== undefined) task.tries = tries;
      break;
    case 'lock.healed':
      // A requeue carries tries; a half-made claim undone changes nothing on the board.
      if (tries === undefined) return;
      task.status = 'ready';
      task.owner = null;
      task.tries = tries;
      break;
    case 'task.poisoned':
      task.status = 'failed';
      task.owner = null;
      break;
    case 'task.released':
      task.status = 'ready';
      task.owner = null;
      break;
    case 'task.edited':
      // A hand edit recorded by sync: whatever it names.
      if (typeof event.data.status === 'string') task.status = event.data.status;
      if (event.data.owner !== undefined) task.owner = typeof event.data.owner === 'string' ? event.data.owner : null;
      if (tries !== undefined) task.tries = tries;
      readFields(event.data, task.fields);
      break;
    case 'task.cancelled':
      task.status = 'cancelled';
      task.owner = null;
      break;
    default: {
      const status = STATUS_OF[event.type];
      if (!status) return;
      task.status = status;
    }
  }
  task.last = last;
}

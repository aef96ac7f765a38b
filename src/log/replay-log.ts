// Replay: fold the audit log into each task's status, owner and tries. Events are applied in
// (ts, id) order with duplicate ids dropped, so a log whose lines a union merge left out of
// order replays the same as one written in order (ordered-events.ts). For a log in order (the usual
// case) memory grows with tasks, not events; an out-of-order log is sorted in memory.
import { EVENT_TYPES, type AuditEvent } from './event.js';
import { LOG_FILE } from './append-event.js';
import { foldOrdered } from './ordered-events.js';
import type { LogWarning } from './read-events.js';

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
  /** Tasks claimed twice over (replay --check reports them). */
  doubleClaims: DoubleClaim[];
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
  let result!: ReplayResult;
  let claims!: ClaimWatch;
  const warnings: LogWarning[] = [];
  const events = await foldOrdered(path, { lenient: options.lenient, onProgress: options.onProgress, onWarning: (warning) => warnings.push(warning), slim: slimEvent }, () => {
    // A fresh start each time foldOrdered begins a pass.
    result = { tasks: new Map(), events: 0, warnings, unknown: [], doubleClaims: [] };
    claims = new ClaimWatch(result.doubleClaims);
    return {
      wants: (event, line) => {
        if (!KNOWN.has(event.type)) result.unknown.push({ line, type: event.type });
        if (options.until !== undefined && Date.parse(event.ts) > options.until) return false;
        return typeof event.task === 'string';
      },
      visit: (event, line, file) => {
        claims.see(event, line, file ?? LOG_FILE);
        applyEvent(result.tasks, event, line);
      },
    };
  });
  result.events = events;
  return result;
}

/** Two task.claimed of one task with no release, completion, failure or heal between them. */
export interface DoubleClaim {
  task: string;
  first: { id: string; file: string; line: number; agent: string; ts: string };
  second: { id: string; file: string; line: number; agent: string; ts: string };
}

/**
 * Watches each task's claims as the fold goes, in replay's order: a claim is open from its
 * task.claimed until the task is given back (released, failed, healed, poisoned, cancelled),
 * finished (completed), or put elsewhere by a hand edit. A second claim while one is open is
 * what two clones claiming offline produce: each thinks it holds the task. Memory: one entry per
 * task with an open claim.
 */
export class ClaimWatch {
  private readonly open = new Map<string, DoubleClaim['first']>();
  constructor(private readonly found: DoubleClaim[]) {}

  see(event: AuditEvent, line: number, file: string): void {
    const task = event.task!;
    if (event.type === 'task.claimed') {
      const claim = { id: event.id, file, line, agent: event.agent, ts: event.ts };
      const first = this.open.get(task);
      if (first) this.found.push({ task, first, second: claim });
      this.open.set(task, claim);
    } else if (CLOSES_CLAIM.has(event.type) || (event.type === 'task.edited' && typeof event.data.status === 'string' && event.data.status !== 'in-progress')) {
      this.open.delete(task);
    }
  }
}

const CLOSES_CLAIM = new Set(['task.released', 'task.completed', 'task.failed', 'lock.healed', 'task.poisoned', 'task.cancelled', 'task.retried', 'task.created']);

/** An event with only the data fields the fold reads: what is held of it while a log is sorted. */
export function slimEvent(event: AuditEvent): AuditEvent {
  const data: Record<string, unknown> = {};
  const from = event.data ?? {};
  // Only the keys present: a key set to undefined still takes room in each of a million objects.
  for (const key of SLIM_KEYS) if (from[key] !== undefined) data[key] = from[key];
  return { v: 1, id: event.id, ts: event.ts, type: event.type, task: event.task, agent: event.agent, host: '', data };
}

const SLIM_KEYS = ['status', 'to', 'tries', 'owner', 'title', 'prio', 'needs', 'caps'] as const;

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

// One line of .guild/audit.jsonl.
import { randomBytes } from 'node:crypto';

export const EVENT_TYPES = [
  'task.created',
  'task.edited',
  'task.claimed',
  'task.released',
  'task.completed',
  'task.failed',
  'task.retried',
  'task.poisoned',
  'task.blocked',
  'task.unblocked',
  'task.cancelled',
  'lock.healed',
  'worktree.created',
  'worktree.removed',
  'board.synced',
  'daemon.started',
  'daemon.stopped',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface AuditEvent {
  v: 1;
  id: string;
  ts: string;
  type: EventType | string;
  task?: string;
  agent: string;
  host: string;
  data: Record<string, unknown>;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
let lastTime = -1;
let lastRandom: number[] = [];

/**
 * A ULID: 48 bits of milliseconds and 80 random bits, Crockford base32, so that ids sort by time.
 * Within one millisecond the random part counts up, keeping one process's ids in order.
 */
export function newUlid(now: number = Date.now()): string {
  if (now === lastTime) {
    let i = lastRandom.length - 1;
    while (i >= 0 && lastRandom[i] === 31) lastRandom[i--] = 0;
    if (i >= 0) lastRandom[i]! += 1;
  } else {
    const bytes = randomBytes(16);
    lastRandom = Array.from({ length: 16 }, (_, k) => bytes[k]! & 31);
    lastTime = now;
  }
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  return time + lastRandom.map((n) => CROCKFORD[n]).join('');
}

export function makeEvent(
  fields: { type: EventType; task?: string; agent: string; host: string; data?: Record<string, unknown>; id?: string },
  now: number = Date.now(),
): AuditEvent {
  const event: AuditEvent = { v: 1, id: fields.id ?? newUlid(now), ts: new Date(now).toISOString(), type: fields.type, agent: fields.agent, host: fields.host, data: fields.data ?? {} };
  if (fields.task !== undefined) {
    // Keep the SPEC's key order: task before agent.
    return { v: 1, id: event.id, ts: event.ts, type: event.type, task: fields.task, agent: event.agent, host: event.host, data: event.data };
  }
  return event;
}

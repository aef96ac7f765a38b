// `guild-fs log`: the audit log filtered, streamed. Events are read in file order; with a limit
// only the last N matches are kept, so memory stays bounded either way.
import type { AuditEvent } from '../log/event.js';
import { LastEvents } from '../log/last-events.js';
import { compareEvents } from '../log/ordered-events.js';
import { readEventBatches, readEvents, type LogWarning } from '../log/read-events.js';
import type { Guild } from './guild.js';

export interface LogFilter {
  task?: string;
  agent?: string;
  types?: string[];
  since?: number;
  until?: number;
  /** Only what went wrong: failures, poisonings, healed locks. */
  errors?: boolean;
  /** The last N matches. */
  limit?: number;
  lenient?: boolean;
}

const ERROR_TYPES = new Set(['task.failed', 'task.poisoned', 'lock.healed']);

export function matches(event: AuditEvent, filter: LogFilter): boolean {
  if (filter.task !== undefined && event.task !== filter.task) return false;
  if (filter.agent !== undefined && event.agent !== filter.agent) return false;
  if (filter.types && !filter.types.includes(event.type)) return false;
  if (filter.errors && !ERROR_TYPES.has(event.type)) return false;
  if (filter.since !== undefined || filter.until !== undefined) {
    const ts = Date.parse(event.ts);
    if (filter.since !== undefined && ts < filter.since) return false;
    if (filter.until !== undefined && ts > filter.until) return false;
  }
  return true;
}

/**
 * Calls `emit` with each matching event, in file order (the last `limit` when given). A task's
 * history (`--task`) comes in replay's (ts, id) order instead, each id once, as `show` prints it:
 * after a merge, file order is not the order things happened in.
 */
export async function queryLog(guild: Guild, filter: LogFilter, emit: (event: AuditEvent) => void | Promise<void>, onWarning: (warning: LogWarning) => void): Promise<number> {
  if (filter.task !== undefined) {
    const history = await orderedMatches(guild.logPath, (event) => matches(event, filter), { last: filter.limit, lenient: filter.lenient, onWarning });
    for (const event of history.events) await emit(event);
    return history.events.length;
  }
  const last = new LastEvents(filter.limit ?? 0);
  let count = 0;
  for await (const { event } of readEvents(guild.logPath, { lenient: filter.lenient, onWarning })) {
    if (!matches(event, filter)) continue;
    count++;
    if (filter.limit === undefined) await emit(event);
    else last.add(event);
  }
  const kept = last.events();
  for (const event of kept) await emit(event);
  return filter.limit === undefined ? count : kept.length;
}

export interface OrderedMatches {
  /** In (ts, id) order; with `last`, only the last that many. */
  events: AuditEvent[];
  /** How many distinct events matched in all. */
  total: number;
}

/**
 * The events `match` accepts, sorted as replay sorts them, each id once; with `last`, only the last
 * that many. As replay does (ordered-events.ts), the log is first read as if its matches were in
 * order, where a duplicate sits next to its twin: memory is then the `last` events kept. Only if
 * a match turns up out of order is it read again, holding the matched ids (to drop a duplicate
 * wherever a merge put it) and about twice `last` events, sorted and cut back as they fill.
 */
export async function orderedMatches(path: string, match: (event: AuditEvent) => boolean, options: MatchOptions = {}): Promise<OrderedMatches> {
  const warnings: LogWarning[] = [];
  const inOrder = await matchesInOrder(path, match, { ...options, onWarning: (warning) => warnings.push(warning) });
  if (inOrder === null) return matchesSorted(path, match, options);
  for (const warning of warnings) options.onWarning?.(warning);
  return inOrder;
}

interface MatchOptions {
  last?: number;
  lenient?: boolean;
  onWarning?: (warning: LogWarning) => void;
}

async function matchesInOrder(path: string, match: (event: AuditEvent) => boolean, options: MatchOptions): Promise<OrderedMatches | null> {
  const window = options.last === undefined ? null : new LastEvents(options.last);
  const all: AuditEvent[] = [];
  let previous: AuditEvent | null = null;
  let total = 0;
  for await (const batch of readEventBatches(path, { lenient: options.lenient, onWarning: options.onWarning })) {
    for (const { event } of batch) {
      if (!match(event)) continue;
      if (previous !== null) {
        const order = compareEvents(previous, event);
        if (order > 0) return null;
        if (order === 0) continue;
      }
      previous = event;
      total++;
      if (window) window.add(event);
      else all.push(event);
    }
  }
  return { events: window ? window.events() : all, total };
}

async function matchesSorted(path: string, match: (event: AuditEvent) => boolean, options: MatchOptions): Promise<OrderedMatches> {
  const seen = new Set<string>();
  let held: AuditEvent[] = [];
  const last = options.last;
  const room = last === undefined ? Infinity : Math.max(2 * last, last + 1024);
  const cut = (): void => {
    held.sort(compareEvents);
    if (last !== undefined && held.length > last) held = held.slice(held.length - last);
  };
  for await (const batch of readEventBatches(path, { lenient: options.lenient, onWarning: options.onWarning })) {
    for (const { event } of batch) {
      if (!match(event) || seen.has(event.id)) continue;
      seen.add(event.id);
      held.push(event);
      if (held.length >= room) cut();
    }
  }
  cut();
  return { events: held, total: seen.size };
}

// A filtered slice of the log in replay's (ts, id) order, each event once, in bounded memory:
// what `show` and `log --task` print of one task's history.
import type { AuditEvent } from './event.js';
import { LastEvents } from './last-events.js';
import { compareEvents } from './ordered-events.js';
import { readEventBatches, type LogWarning } from './read-events.js';

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

// `guild-fs log`: the audit log filtered, streamed. Events are read in file order; with a limit
// only the last N matches are kept, so memory stays bounded either way.
import type { AuditEvent } from '../log/event.js';
import { LastEvents } from '../log/last-events.js';
import { orderedMatches } from '../log/ordered-matches.js';
import { readEvents, type LogWarning } from '../log/read-events.js';
import type { Guild } from '../tasks/guild.js';

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

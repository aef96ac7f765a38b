// The log's events in replay's order: sorted by (ts, id), each id once. Replay and stats fold
// them this way, so that they agree about every log, a union-merged one included.
//
// A log is almost always in (ts, id) order already: it is folded as it streams, keeping nothing
// of the events, and a duplicate (a line a merge kept twice) sits right after its twin, so the
// previous event is all the dedupe needs. Only when an event turns up out of order (a merge put
// another branch's older lines after ours) is that pass abandoned and the log read again, holding
// what the fold needs of each event to sort it in memory.
import type { AuditEvent } from './event.js';
import { readEventBatches, readEvents, type ReadOptions } from './read-events.js';

export interface OrderedFold {
  /**
   * Called once per distinct event in file order, before any sorting: counts and filters that do
   * not depend on order go here. Returns whether the fold wants the event at all.
   */
  wants(event: AuditEvent, line: number): boolean;
  /** Called with each wanted event, in (ts, id) order; `file` is set for a rotated segment's. */
  visit(event: AuditEvent, line: number, file?: string): void;
}

export interface OrderedOptions extends ReadOptions {
  /** What to hold of a wanted event while sorting (default: all of it). Only the sorting pass calls it. */
  slim?: (event: AuditEvent) => AuditEvent;
}

/**
 * Folds the log at `path` in (ts, id) order. `begin` makes a fresh fold: it is called again (and
 * the first one's results must be dropped) when the log turns out not to be in order. Returns the
 * number of distinct events.
 */
export async function foldOrdered(path: string, options: OrderedOptions, begin: () => OrderedFold): Promise<number> {
  // Warnings are reported by the pass that finishes, once.
  const warnings: Parameters<NonNullable<ReadOptions['onWarning']>>[0][] = [];
  const streamed = await foldStreaming(path, { ...options, onWarning: (warning) => warnings.push(warning) }, begin());
  if (streamed !== null) {
    for (const warning of warnings) options.onWarning?.(warning);
    return streamed;
  }
  return foldSorted(path, options, begin());
}

async function foldStreaming(path: string, options: ReadOptions, fold: OrderedFold): Promise<number | null> {
  let previousTs = '';
  let previousId = '';
  let events = 0;
  for await (const batch of readEventBatches(path, options)) {
    for (const { event, line, file } of batch) {
      if (event.ts < previousTs || (event.ts === previousTs && event.id < previousId)) return null;
      if (event.ts === previousTs && event.id === previousId) continue;
      previousTs = event.ts;
      previousId = event.id;
      events++;
      if (fold.wants(event, line)) fold.visit(event, line, file);
    }
  }
  return events;
}

async function foldSorted(path: string, options: OrderedOptions, fold: OrderedFold): Promise<number> {
  const kept: { event: AuditEvent; line: number; file?: string }[] = [];
  const seen = new Set<string>();
  const slim = options.slim ?? ((event: AuditEvent) => event);
  for await (const { event, line, file } of readEvents(path, options)) {
    if (seen.has(event.id)) continue;
    seen.add(event.id);
    if (fold.wants(event, line)) kept.push(file === undefined ? { event: slim(event), line } : { event: slim(event), line, file });
  }
  kept.sort((a, b) => compareEvents(a.event, b.event));
  for (const { event, line, file } of kept) fold.visit(event, line, file);
  return seen.size;
}

/** Replay's order: by time, then by id (ULIDs sort by time within one millisecond too). */
export function compareEvents(a: AuditEvent, b: AuditEvent): number {
  return a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

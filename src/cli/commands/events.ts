// `guild-fs events [--follow]`: the live log's events, one a line (NDJSON with --json), and with
// --follow every event appended after them, as it comes: `tail -F` for the log, so tools react
// without polling the board. Rotated history (.guild/audit/*.jsonl.gz) is `guild-fs log`'s; this
// reads the live file. A reader that goes away (`| head`) ends it quietly (EPIPE, in main.ts).
import { wakeOnChange } from '../folder-wakeup.js';
import { dirname } from 'node:path';
import { once } from 'node:events';
import { requireDuration } from '../../duration.js';
import { UsageError } from '../../errors.js';
import type { AuditEvent } from '../../log/event.js';
import { LogFollower } from '../../log/follow-log.js';
import { LastEvents } from '../../log/last-events.js';
import type { Context } from '../context.js';
import { humanLine } from './log.js';

export interface EventsArgs {
  follow?: boolean;
  since?: string;
  limit?: number;
  poll?: string;
}

/** Prints its own output as it goes. */
export const streams = true;

export async function run(args: EventsArgs, ctx: Context): Promise<{ events: number }> {
  const guild = ctx.guild();
  const since = args.since === undefined ? undefined : timeOption(args.since, guild.now());
  if (args.limit !== undefined && (!Number.isInteger(args.limit) || args.limit < 0)) throw new UsageError(`--limit must be a whole number, got ${args.limit}`);
  const follower = new LogFollower(guild.logPath, { onWarning: (w) => process.stderr.write(`guild-fs events: warning: ${w.file}:${w.line}: ${w.message}\n`) });
  let printed = 0;
  const print = async (events: AuditEvent[]): Promise<void> => {
    if (events.length === 0) return;
    const text = events.map((event) => (ctx.json ? JSON.stringify(event) : humanLine(event))).join('\n');
    printed += events.length;
    // Backpressure: a slow reader holds the follower back rather than filling memory.
    if (!process.stdout.write(`${text}\n`)) await once(process.stdout, 'drain');
  };
  const wanted = (event: AuditEvent): boolean => since === undefined || Date.parse(event.ts) >= since;

  // What is there now: all of it, or the last --limit (kept in a window, not the whole log). Read
  // a few thousand events at a time, so that neither memory nor one call's arguments grow with
  // the log (a spread of a 130k-event batch overflowed the stack).
  const window = new LastEvents(args.limit ?? 0);
  for (;;) {
    const polled = follower.poll(POLL_EVENTS);
    if (polled.length === 0) break;
    const batch = polled.map((numbered) => numbered.event).filter(wanted);
    if (args.limit === undefined) await print(batch);
    else for (const event of batch) window.add(event);
  }
  if (args.limit !== undefined) await print(window.events());
  if (!args.follow) {
    follower.close();
    return { events: printed };
  }

  // Woken by fs.watch on the log's folder (appends, and the rename of a rotation), with a slow
  // poll beside it for file systems where fs.watch hears nothing (network mounts).
  const pollMs = args.poll === undefined ? 1_000 : requireDuration(args.poll, '--poll');
  const wakeup = wakeOnChange(dirname(guild.logPath), pollMs);
  try {
    for (;;) {
      await wakeup.next();
      for (;;) {
        // A rotation or truncation makes the follower read a whole file again: in bounded steps.
        const polled = follower.poll(POLL_EVENTS);
        if (polled.length === 0) break;
        await print(polled.map((numbered) => numbered.event).filter(wanted));
      }
    }
  } finally {
    wakeup.close();
    follower.close();
  }
}

/** How many events one read of the existing log takes at most. */
const POLL_EVENTS = 4096;

export function render(): string {
  return '';
}

function timeOption(value: string, now: number): number {
  const time = Date.parse(value);
  if (!Number.isNaN(time) && /\d{4}-\d{2}-\d{2}/.test(value)) return time;
  return now - requireDuration(value, '--since');
}

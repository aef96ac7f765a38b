// Appending is the one write the log ever gets: a file opened O_APPEND and one write() per
// event, so that concurrent writers never interleave inside a line and a crash can at worst
// leave a torn last line, which readers report and skip.
import { closeSync, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from '../errors.js';
import { withFileOpen } from '../open-for-reading.js';
import type { AuditEvent } from './event.js';
import { MAX_EVENT_BYTES, MAX_EVENT_TEXT } from './log-lines.js';
import { readLogMark, writeLogMark } from './log-mark.js';

export const LOG_FILE = '.guild/audit.jsonl';

export interface AppendOptions {
  /**
   * The caller holds the board mutex, so no other guild-fs process is appending: a file that
   * ends inside a line was torn by a crash, and a new line is started before our events. (Without
   * the mutex the check could see another process's write half-copied, so it is not made.)
   */
  exclusive?: boolean;
  /**
   * Where to note the log's size and the last event's id after the append (see log-mark.ts):
   * <git-common-dir>/guild/log-mark.json, Guild.logMarkPath. Every append guild-fs makes to the
   * live log passes it; the mark is how the daemon tells a log git rewound from one it wrote.
   */
  markPath?: string;
}

export function appendEvents(path: string, events: readonly AuditEvent[], options: AppendOptions = {}): void {
  if (events.length === 0) return;
  // Checked before anything is written: readers refuse a line over the limit, so writing one
  // would make the whole log unreadable (a --body of megabytes, say).
  const lines = events.map((event) => Buffer.from(`${JSON.stringify(event)}\n`, 'utf8'));
  const long = lines.findIndex((line) => line.length - 1 > MAX_EVENT_BYTES);
  if (long >= 0) {
    const event = events[long]!;
    throw new UsageError(`${event.type}${event.task ? ` of ${event.task}` : ''} would take ${lines[long]!.length - 1} bytes in the log, more than the ${MAX_EVENT_TEXT} one event may take: nothing was written`, { bytes: lines[long]!.length - 1, limit: MAX_EVENT_BYTES }, 'EEVENTSIZE');
  }
  let fd: number;
  try {
    fd = openSync(path, 'a+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(dirname(path), { recursive: true });
    fd = openSync(path, 'a+');
  }
  try {
    // After a crash mid-append the file ends inside a line: torn text, or the NUL bytes a power
    // loss leaves. Starting a new line keeps our event whole instead of gluing it to those bytes,
    // which readers then report as torn and skip. Nothing is cut off: the torn bytes may end in a
    // complete event whose newline was lost (readers keep it), and the file only ever grows, so a
    // follower never mistakes a repair for a truncation.
    let lead = options.exclusive && endsInsideLine(fd) ? '\n' : '';
    if (options.markPath && options.exclusive) announceAppend(options.markPath, fstatSync(fd).size + lead.length + lines.reduce((sum, line) => sum + line.length, 0), events[events.length - 1]!.id);
    for (const bytes of lines) {
      const line = lead === '' ? bytes : Buffer.concat([Buffer.from(lead), bytes]);
      lead = '';
      const written = writeSync(fd, line);
      // A regular file takes the whole buffer in one write; if a file system ever does not,
      // finishing the line beats leaving it torn.
      if (written < line.length) writeSync(fd, line, written);
    }
    // The size as this process leaves the file: exact under the board mutex, where every append
    // but init's is made; a mark that misses is searched for (logBehindMark), never wrong.
    if (options.markPath) writeLogMark(options.markPath, { size: fstatSync(fd).size, id: events[events.length - 1]!.id });
  } finally {
    closeSync(fd);
  }
}

/** The mark as it is, plus what the log will be after this append (LogMark.next). */
function announceAppend(markPath: string, size: number, id: string): void {
  const mark = readLogMark(markPath);
  writeLogMark(markPath, { size: mark?.size ?? -1, id: mark?.id ?? '', next: { size, id } });
}

/** Whether the log ends inside a line: a look without the mutex, before deciding to take it. */
export function logEndsInsideLine(path: string): boolean {
  return withFileOpen(path, false, endsInsideLine);
}

/**
 * What heal does for a log whose last line is torn (a crash or power loss mid-append): ends that
 * line, as the next exclusive append would, so that the damage stays a torn line readers warn
 * about and skip, and nothing written later is glued to it. The caller holds the board mutex.
 * Returns whether the line needed ending.
 */
export function endTornTail(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'a+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  try {
    if (!endsInsideLine(fd)) return false;
    writeSync(fd, '\n');
    return true;
  } finally {
    closeSync(fd);
  }
}

function endsInsideLine(fd: number): boolean {
  const size = fstatSync(fd).size;
  if (size === 0) return false;
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  return last[0] !== 0x0a;
}

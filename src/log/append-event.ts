// Appending is the one write the log ever gets: a file opened O_APPEND and one write() per
// event, so that concurrent writers never interleave inside a line and a crash can at worst
// leave a torn last line, which readers report and skip.
import { closeSync, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AuditEvent } from './event.js';
import { writeLogMark } from './log-mark.js';

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
  let fd: number;
  try {
    fd = openSync(path, 'a+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(dirname(path), { recursive: true });
    fd = openSync(path, 'a+');
  }
  try {
    // After a crash mid-append the file ends inside a line. Starting a new line keeps our event
    // whole instead of gluing it to the torn bytes (readers report those as torn and skip them).
    let lead = options.exclusive && endsInsideLine(fd) ? '\n' : '';
    for (const event of events) {
      const bytes = Buffer.from(`${lead}${JSON.stringify(event)}\n`, 'utf8');
      lead = '';
      const written = writeSync(fd, bytes);
      // A regular file takes the whole buffer in one write; if a file system ever does not,
      // finishing the line beats leaving it torn.
      if (written < bytes.length) writeSync(fd, bytes, written);
    }
    // The size as this process leaves the file: exact under the board mutex, where every append
    // but init's is made; a mark that misses is searched for (logBehindMark), never wrong.
    if (options.markPath) writeLogMark(options.markPath, { size: fstatSync(fd).size, id: events[events.length - 1]!.id });
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

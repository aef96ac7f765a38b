// Appending is the one write the log ever gets: a file opened O_APPEND and one write() per
// event, so that concurrent writers never interleave inside a line and a crash can at worst
// leave a torn last line, which readers report and skip.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AuditEvent } from './event.js';

export const LOG_FILE = '.guild/audit.jsonl';

export function appendEvents(path: string, events: readonly AuditEvent[]): void {
  if (events.length === 0) return;
  let fd: number;
  try {
    fd = openSync(path, 'a');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(dirname(path), { recursive: true });
    fd = openSync(path, 'a');
  }
  try {
    for (const event of events) {
      const bytes = Buffer.from(`${JSON.stringify(event)}\n`, 'utf8');
      const written = writeSync(fd, bytes);
      // A regular file takes the whole buffer in one write; if a file system ever does not,
      // finishing the line beats leaving it torn.
      if (written < bytes.length) writeSync(fd, bytes, written);
    }
  } finally {
    closeSync(fd);
  }
}

// Questions about the end of the log, answered by reading it backwards in chunks: heal asks which
// of a dead process's events made it in, doctor asks who last claimed a task. Both stop as soon
// as they know, which for recent events is after a chunk or two. What the live file does not
// hold may have been rotated out: the segments are then read, newest first.
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MAX_EVENT_BYTES } from './log-lines.js';
import { SEGMENTS_DIR, segmentNames } from './read-events.js';

const CHUNK = 1 << 16;

/**
 * Calls `visit` with each line of the whole history, last line first: the live file, then the
 * rotated segments from the newest, until it returns true.
 */
export function scanHistoryBackwards(path: string, visit: (line: string) => boolean | void): void {
  let done = false;
  scanBackwards(path, (line) => (done = Boolean(visit(line))));
  if (!done) scanSegmentsBackwards(path, visit);
}

/** The rotated segments of the log at `path` only, newest line first, until `visit` returns true. */
export function scanSegmentsBackwards(path: string, visit: (line: string) => boolean | void): void {
  const dir = join(dirname(path), SEGMENTS_DIR);
  for (const name of segmentNames(dir).reverse()) {
    // Segments are old and rarely read: one month's gzip decompressed at once is simplest.
    const lines = gunzipSync(readFileSync(join(dir, name))).toString('utf8').split('\n');
    for (let i = lines.length - 1; i >= 0; i--) if (lines[i] !== '' && visit(lines[i]!)) return;
  }
}

/**
 * Calls `visit` with each line, last line first, until it returns true or the file ends. `end` is
 * the byte offset where the line stops (its newline, or the end of the file). A line longer than
 * one event may take (MAX_EVENT_BYTES) is passed over unread: it cannot be an event, the forward
 * readers report it, and holding it would make this scan's memory grow with it. A line holding
 * NUL bytes (a power loss) is visited as its pieces between them, so that an event beside them
 * is still found.
 */
export function scanBackwards(path: string, visit: (line: string, end: number) => boolean | void): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    let position = fstatSync(fd).size;
    // The line being put together from its pieces, last piece first; where it ends in the file.
    let parts: Buffer[] = [];
    let held = 0;
    let tooLong = false;
    let lineEnd = position;
    const chunk = Buffer.alloc(CHUNK);
    while (position > 0) {
      const length = Math.min(CHUNK, position);
      position -= length;
      readSync(fd, chunk, 0, length, position);
      // Lines are cut at '\n' bytes, never inside a multi-byte character.
      let end = length;
      for (;;) {
        const at = end > 0 ? chunk.lastIndexOf(10, end - 1) : -1;
        const from = at + 1;
        const complete = at >= 0 || position === 0;
        let text: string | null = null;
        if (complete && parts.length === 0 && !tooLong) {
          // The whole line is in this chunk: no copy.
          if (end > from) text = chunk.toString('utf8', from, end);
        } else if (!tooLong && end > from) {
          if (held + end - from > MAX_EVENT_BYTES) {
            tooLong = true;
            parts = [];
            held = 0;
          } else {
            parts.unshift(Buffer.from(chunk.subarray(from, end)));
            held += end - from;
          }
        }
        if (!complete) break; // the line goes on in the chunk before this one
        if (text === null && !tooLong && held > 0) text = Buffer.concat(parts, held).toString('utf8');
        if (text !== null && visitLine(text, lineEnd, visit)) return;
        parts = [];
        held = 0;
        tooLong = false;
        lineEnd = position + at;
        if (at < 0) break;
        end = at;
      }
    }
  } finally {
    closeSync(fd);
  }
}

function visitLine(text: string, end: number, visit: (line: string, end: number) => boolean | void): boolean {
  if (!text.includes('\0')) return Boolean(visit(text, end));
  const pieces = text.split(/\0+/);
  for (let i = pieces.length - 1; i >= 0; i--) if (pieces[i] !== '' && visit(pieces[i]!, end)) return true;
  return false;
}

/**
 * Which of `ids` are in the log. Found events are near the end, so that is quick; proving an
 * event absent reads the whole log, since the log is not in time order (a union merge appends
 * another branch's older lines, heal re-appends a dead process's events with their own times).
 * Heal asks this only about work a crash cut short.
 */
export function findEventIds(path: string, ids: readonly string[]): Set<string> {
  const found = new Set<string>();
  if (ids.length === 0) return found;
  scanHistoryBackwards(path, (line) => {
    for (const id of ids) if (line.includes(`"id":"${id}"`)) found.add(id);
    return found.size === ids.length;
  });
  return found;
}

/** The last event of `type` for `task` in file order, or null. */
export function lastEventOf(path: string, task: string, type: string): Record<string, unknown> | null {
  let event: Record<string, unknown> | null = null;
  const needle = `"type":"${type}","task":"${task}"`;
  scanHistoryBackwards(path, (line) => {
    if (!line.includes(needle)) return false;
    try {
      event = JSON.parse(line) as Record<string, unknown>;
      return true;
    } catch {
      return false;
    }
  });
  return event;
}

// The log mark: after every append, guild-fs notes in <git-common-dir>/guild/log-mark.json how
// long the log was and which event it appended last. The mark is outside the working tree, so git
// does not move it: when a stash, a checkout or a rebase puts an older log in the working tree,
// the log no longer holds the marked event, and the daemon knows to wait rather than react to a
// board and log that git will bring back. A CLI write writes a new mark: that is how a person who
// went back on purpose says so.
import { fstatSync, mkdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { withFileOpen } from '../open-for-reading.js';
import { scanBackwards, scanSegmentsBackwards } from './find-events.js';

export const LOG_MARK_FILE = 'log-mark.json';

export interface LogMark {
  /** The log's size in bytes just after the append: the marked event's line ends there. */
  size: number;
  /** The id of the last event appended. */
  id: string;
  /**
   * Written just before an append, as what the log will be once it is made: a writer killed
   * between its append and the mark after it (a SIGKILLed runner) leaves a log that is still
   * as guild-fs left it, not one git moved.
   */
  next?: { size: number; id: string };
}

/**
 * Replaces the mark (temp + rename: a reader sees the old mark or the new). Never throws: the
 * events are in the log already, and a caller between log and board must go on to the board. A
 * mark that failed to move still names an event the log holds, so it never reads as "behind".
 */
/** The mark of a log guild-fs left empty (a rotate that moved every event out): nothing to be behind. */
export const EMPTY_LOG_MARK: LogMark = { size: 0, id: '' };

export function writeLogMark(markPath: string, mark: LogMark): void {
  const temp = `${markPath}.${process.pid}.tmp`;
  try {
    try {
      writeFileSync(temp, JSON.stringify(mark));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      mkdirSync(dirname(markPath), { recursive: true });
      writeFileSync(temp, JSON.stringify(mark));
    }
    renameSync(temp, markPath);
  } catch {
    rmSync(temp, { force: true });
  }
}

export function readLogMark(markPath: string): LogMark | null {
  try {
    const value = JSON.parse(readFileSync(markPath, 'utf8')) as Partial<LogMark>;
    if (typeof value.size !== 'number' || typeof value.id !== 'string') return null;
    const next = value.next;
    return typeof next?.size === 'number' && typeof next.id === 'string' ? { size: value.size, id: value.id, next: { size: next.size, id: next.id } } : { size: value.size, id: value.id };
  } catch {
    // Missing, or damaged by hand: no mark, nothing to be behind.
    return null;
  }
}

export function removeLogMark(markPath: string): void {
  rmSync(markPath, { force: true });
}

export interface MarkVerdict {
  behind: boolean;
  reason?: string;
}

/**
 * Whether the log at `logPath` lacks the last event guild-fs appended: git rewound it. Fast
 * path: the line ending at the marked size holds the marked id. Otherwise the log is searched for
 * the id, since a merge driver or a pull may have moved lines: found, the mark is moved to where
 * it is now; not found, the log is behind. Proving absence reads the whole log; callers that ask
 * often while it stays behind should ask again only once the log or the mark changed.
 */
export function logBehindMark(logPath: string, markPath: string): MarkVerdict {
  const mark = readLogMark(markPath);
  if (mark === null) return { behind: false };
  // The append the mark announced was made (its writer died before the mark after it).
  if (mark.next && lineEndingAt(logPath, mark.next.size)?.includes(`"id":"${mark.next.id}"`)) return { behind: false };
  // An empty log left by a rotate, or an announced first append: nothing to be behind.
  if (mark.size <= 0 || mark.id === '') return { behind: false };
  const needle = `"id":"${mark.id}"`;
  if (lineEndingAt(logPath, mark.size)?.includes(needle)) return { behind: false };
  let end: number | null = null;
  scanBackwards(logPath, (line, lineEnd) => {
    if (!line.includes(needle)) return false;
    end = lineEnd;
    return true;
  });
  if (end !== null) {
    // Only guild-fs moves the mark forward; a concurrent append may have moved it already.
    if (readLogMark(markPath)?.id === mark.id) writeLogMark(markPath, { size: end + 1, id: mark.id });
    return { behind: false };
  }
  let rotated = false;
  scanSegmentsBackwards(logPath, (line) => (rotated = line.includes(needle)));
  if (rotated) {
    // Rotated out (a rotate that left no mark, or an old one): the fast path can never hit again.
    if (readLogMark(markPath)?.id === mark.id) removeLogMark(markPath);
    return { behind: false };
  }
  return { behind: true, reason: `the log does not hold ${mark.id}, the last event guild-fs appended (it was ${mark.size} bytes long then)` };
}

/**
 * Whether the log is exactly as guild-fs's last append left it: the marked size, its last line
 * the marked event. False when there is no mark, and when anything else moved the log (git
 * bringing back or taking away events, a person's edit): then its board moved with it, and no
 * difference between the board and the last board guild-fs wrote is a save from a stale buffer.
 */
export function logAtMark(logPath: string, markPath: string): boolean {
  const mark = readLogMark(markPath);
  if (mark === null) return false;
  let size: number;
  try {
    size = statSync(logPath).size;
  } catch {
    return false;
  }
  return [mark, mark.next].some((at) => at !== undefined && at.size === size && (at.size === 0 || (lineEndingAt(logPath, at.size)?.includes(`"id":"${at.id}"`) ?? false)));
}

/** The line whose newline is the last byte before `size`, or null (no such line, no file). */
function lineEndingAt(path: string, size: number): string | null {
  return withFileOpen(path, null, (fd) => {
    if (size < 1 || fstatSync(fd).size < size) return null;
    // One event line is a few hundred bytes; an event longer than this misses the fast path only.
    const length = Math.min(size, 1 << 14);
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, size - length);
    if (read !== length || buffer[length - 1] !== 0x0a) return null;
    const start = buffer.lastIndexOf(0x0a, length - 2) + 1;
    return buffer.toString('utf8', start, length - 1);
  });
}

/**
 * Takes the log as it is now for what guild-fs wrote: the mark moves to its last event (or goes,
 * when it has none). What `guild-fs sync` does for a person who took the log back on purpose.
 */
export function markLogAsItIs(logPath: string, markPath: string): void {
  let mark: LogMark | null = null;
  scanBackwards(logPath, (line, end) => {
    try {
      const id = (JSON.parse(line) as { id?: unknown }).id;
      if (typeof id !== 'string') return false;
      mark = { size: end + 1, id };
      return true;
    } catch {
      return false; // a torn last line: the event before it is the last one
    }
  });
  if (mark) writeLogMark(markPath, mark);
  else removeLogMark(markPath);
}

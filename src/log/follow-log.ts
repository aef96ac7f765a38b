// Following .guild/audit.jsonl as it grows: `tail -F` for the log. Whoever owns the clock and
// the notifications (fs.watch for `events --follow`, chokidar in the daemon) calls poll(); each
// call reads whatever was appended since the last one.
//   - Torn lines: bytes after the last newline are kept until their newline arrives. An append
//     is one write(), so a reader can see half of one for an instant; it is never an error here.
//   - Rotation: `log rotate` replaces the live file with a rename. When the path names another
//     inode than the one open, the old file is read to its end (appends that raced the rename
//     land there) and the new one is opened from its start.
//   - Truncation (the file got shorter): read again from the start.
//   - A line over the limit (log-lines.ts) is a warning and skipped unread; NUL bytes (a power
//     loss) are skipped with a warning, and any complete event beside them kept.
// A complete line that is not an event is reported through onWarning and skipped: a follower
// must outlive a damaged line.
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import type { AuditEvent } from './event.js';
import { LineSplitter, type RawLine } from './log-lines.js';
import { checkEvent, oversizeMessage, type LogWarning, type NumberedEvent } from './read-events.js';

export interface FollowOptions {
  /** Start at the current end of the file (only new events), not at its start. */
  fromEnd?: boolean;
  displayName?: string;
  onWarning?: (warning: LogWarning) => void;
}

const CHUNK = 1 << 16;

export class LogFollower {
  private fd: number | null = null;
  private ino = -1;
  private offset = 0;
  private lines = new LineSplitter();
  private readonly buffer = Buffer.alloc(CHUNK);

  constructor(
    readonly path: string,
    private readonly options: FollowOptions = {},
  ) {
    this.open(Boolean(options.fromEnd));
  }

  /**
   * What was appended since the last call, in file order: all of it, or, with `max`, at least
   * `max` events or the rest of the file, whichever is less (call again for more). The bound keeps
   * a reader of a big log streaming instead of holding all of it.
   */
  poll(max = Infinity): NumberedEvent[] {
    const events: NumberedEvent[] = [];
    if (this.fd === null) this.open(false);
    if (this.fd === null) return events;
    if (fstatSync(this.fd).size < this.offset) {
      // Truncated (or rewritten shorter in place): start again from the top.
      this.offset = 0;
      this.lines = new LineSplitter();
    }
    if (!this.drain(events, max)) return events;
    const now = statSync(this.path, { throwIfNoEntry: false });
    if (now === undefined || now.ino !== this.ino) {
      // Replaced (rotation) or removed: what was appended to the old file before the rename is
      // in `events` already; a torn tail there will never be finished.
      this.flushTornTail();
      this.close();
      if (now !== undefined) {
        this.open(false);
        this.drain(events, max);
      }
    }
    return events;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private open(fromEnd: boolean): void {
    try {
      this.fd = openSync(this.path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.fd = null;
      return;
    }
    const stat = fstatSync(this.fd);
    this.ino = stat.ino;
    this.offset = fromEnd ? stat.size : 0;
    this.lines = new LineSplitter();
    if (fromEnd && stat.size > 0) this.skipToLineStart();
  }

  /** Starting at the end: line numbers still count from the top, so count the newlines before. */
  private skipToLineStart(): void {
    // A torn last line at the start is someone's append in flight: its end will come.
    const lastNewline = this.lastNewlineBefore(this.offset);
    this.offset = lastNewline + 1;
    let position = 0;
    let newlines = 0;
    while (position < this.offset) {
      const length = readSync(this.fd!, this.buffer, 0, Math.min(CHUNK, this.offset - position), position);
      if (length === 0) break;
      for (let at = this.buffer.indexOf(10); at >= 0 && at < length; at = this.buffer.indexOf(10, at + 1)) newlines++;
      position += length;
    }
    this.lines.lineNo = newlines;
  }

  private lastNewlineBefore(end: number): number {
    let position = end;
    while (position > 0) {
      const length = Math.min(CHUNK, position);
      position -= length;
      readSync(this.fd!, this.buffer, 0, length, position);
      const at = this.buffer.subarray(0, length).lastIndexOf(10);
      if (at >= 0) return position + at;
    }
    return -1;
  }

  /** Reads on until the end of the file (true) or until `max` events are in `events` (false). */
  private drain(events: NumberedEvent[], max: number): boolean {
    for (;;) {
      if (events.length >= max) return false;
      const length = readSync(this.fd!, this.buffer, 0, CHUNK, this.offset);
      if (length === 0) return true;
      this.offset += length;
      for (const line of this.lines.push(this.buffer.subarray(0, length))) this.read(line, events);
    }
  }

  private flushTornTail(): void {
    const line = this.lines.end();
    if (line === null || line.text === null) return;
    this.warn(line.no, `torn last line (a write cut short), skipped: ${JSON.stringify(line.text.slice(0, 80))}`);
  }

  private read({ no, text, nul }: RawLine, events: NumberedEvent[]): void {
    if (text === null) {
      this.warn(no, `${oversizeMessage()}, skipped`);
      return;
    }
    if (!nul) {
      const event = this.parse(text, no);
      if (event) events.push({ line: no, event });
      return;
    }
    this.warn(no, 'NUL bytes (left by a power loss or a crash mid-write), skipped');
    for (const piece of text.split('\0')) {
      const event = this.parse(piece, no);
      if (event) events.push({ line: no, event });
    }
  }

  private parse(raw: string, line: number): AuditEvent | null {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.trim() === '') return null;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.warn(line, `not valid JSON, skipped: ${JSON.stringify(text.slice(0, 80))}`);
      return null;
    }
    const problem = checkEvent(value);
    if (problem) {
      this.warn(line, `${problem}, skipped`);
      return null;
    }
    return value as AuditEvent;
  }

  private warn(line: number, message: string): void {
    this.options.onWarning?.({ file: this.options.displayName ?? '.guild/audit.jsonl', line, message });
  }
}

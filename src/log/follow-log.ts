// Following .guild/audit.jsonl as it grows: `tail -F` for the log. Whoever owns the clock and
// the notifications (fs.watch for `events --follow`, chokidar in the daemon) calls poll(); each
// call reads whatever was appended since the last one.
//   - Torn lines: bytes after the last newline are kept until their newline arrives. An append
//     is one write(), so a reader can see half of one for an instant; it is never an error here.
//   - Rotation: `log rotate` replaces the live file with a rename. When the path names another
//     inode than the one open, the old file is read to its end (appends that raced the rename
//     land there) and the new one is opened from its start.
//   - Truncation (the file got shorter): read again from the start.
// A complete line that is not an event is reported through onWarning and skipped: a follower
// must outlive a damaged line.
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import type { AuditEvent } from './event.js';
import { checkEvent, type LogWarning, type NumberedEvent } from './read-events.js';

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
  private line = 0;
  private pending: Buffer = Buffer.alloc(0);
  private readonly buffer = Buffer.alloc(CHUNK);

  constructor(
    readonly path: string,
    private readonly options: FollowOptions = {},
  ) {
    this.open(Boolean(options.fromEnd));
  }

  /** Everything appended since the last call, in file order. */
  poll(): NumberedEvent[] {
    const events: NumberedEvent[] = [];
    if (this.fd === null) this.open(false);
    if (this.fd === null) return events;
    if (fstatSync(this.fd).size < this.offset) {
      // Truncated (or rewritten shorter in place): start again from the top.
      this.offset = 0;
      this.line = 0;
      this.pending = Buffer.alloc(0);
    }
    this.drain(events);
    const now = statSync(this.path, { throwIfNoEntry: false });
    if (now === undefined || now.ino !== this.ino) {
      // Replaced (rotation) or removed: what was appended to the old file before the rename is
      // in `events` already; a torn tail there will never be finished.
      this.flushTornTail();
      this.close();
      if (now !== undefined) {
        this.open(false);
        this.drain(events);
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
    this.line = 0;
    this.pending = Buffer.alloc(0);
    if (fromEnd && stat.size > 0) this.skipToLineStart();
  }

  /** Starting at the end: line numbers still count from the top, so count the newlines before. */
  private skipToLineStart(): void {
    let position = 0;
    while (position < this.offset) {
      const length = readSync(this.fd!, this.buffer, 0, Math.min(CHUNK, this.offset - position), position);
      if (length === 0) break;
      for (let i = 0; i < length; i++) if (this.buffer[i] === 10) this.line++;
      position += length;
    }
    // A torn last line at the start is someone's append in flight: its end will come.
    const lastNewline = this.lastNewlineBefore(this.offset);
    this.offset = lastNewline + 1;
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

  private drain(events: NumberedEvent[]): void {
    for (;;) {
      const length = readSync(this.fd!, this.buffer, 0, CHUNK, this.offset);
      if (length === 0) return;
      this.offset += length;
      let chunk = Buffer.concat([this.pending, this.buffer.subarray(0, length)]);
      let newline = chunk.indexOf(10);
      while (newline >= 0) {
        this.line++;
        const event = this.parse(chunk.toString('utf8', 0, newline));
        if (event) events.push({ line: this.line, event });
        chunk = chunk.subarray(newline + 1);
        newline = chunk.indexOf(10);
      }
      this.pending = Buffer.from(chunk);
    }
  }

  private flushTornTail(): void {
    if (this.pending.length === 0) return;
    this.warn(this.line + 1, `torn last line (a write cut short), skipped: ${JSON.stringify(this.pending.toString('utf8').slice(0, 80))}`);
    this.pending = Buffer.alloc(0);
  }

  private parse(raw: string): AuditEvent | null {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.trim() === '') return null;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.warn(this.line, `not valid JSON, skipped: ${JSON.stringify(text.slice(0, 80))}`);
      return null;
    }
    const problem = checkEvent(value);
    if (problem) {
      this.warn(this.line, `${problem}, skipped`);
      return null;
    }
    return value as AuditEvent;
  }

  private warn(line: number, message: string): void {
    this.options.onWarning?.({ file: this.options.displayName ?? '.guild/audit.jsonl', line, message });
  }
}

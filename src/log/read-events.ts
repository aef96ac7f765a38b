// Streaming reader for .guild/audit.jsonl: memory grows with one chunk (and one line of at most
// MAX_EVENT_BYTES), not with the log, and time with its bytes however long a line (log-lines.ts).
// A last line without its newline is a crash mid-append: a warning, skipped. NUL bytes are a power
// loss: a warning, the text between them read on its own. A line that does not parse anywhere
// else, or is over the limit, is damage: an error with its line number (a warning when lenient).
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { FileError } from '../errors.js';
import { LOG_FILE } from './append-event.js';
import type { AuditEvent } from './event.js';
import { LineSplitter, MAX_EVENT_BYTES, MAX_EVENT_TEXT, type RawLine } from './log-lines.js';

export interface LogWarning {
  file: string;
  line: number;
  message: string;
}

export interface ReadOptions {
  /** Name used in messages. */
  displayName?: string;
  /** Skip malformed middle lines with a warning instead of failing. */
  lenient?: boolean;
  onWarning?: (warning: LogWarning) => void;
  /** Called after each chunk with the bytes read so far and the file's size. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

export interface NumberedEvent {
  line: number;
  event: AuditEvent;
  /** The file the line is in, as messages name it, when it is a rotated segment (absent: the live log). */
  file?: string;
}

export async function* readEvents(path: string, options: ReadOptions = {}): AsyncGenerator<NumberedEvent> {
  for await (const batch of readEventBatches(path, options)) yield* batch;
}

/**
 * The same events, a chunk's worth at a time. A replay of a million events spends more in one
 * promise per event than in JSON.parse; loops that fold every event use this.
 */
export async function* readEventBatches(path: string, options: ReadOptions = {}): AsyncGenerator<NumberedEvent[]> {
  // Rotated segments first, oldest month first, then the live file: one history.
  const segmentsDir = join(dirname(path), SEGMENTS_DIR);
  for (const name of segmentNames(segmentsDir)) {
    yield* readFileBatches(join(segmentsDir, name), `${dirname(options.displayName ?? LOG_FILE)}/${SEGMENTS_DIR}/${name}`, { ...options, onProgress: undefined }, true);
  }
  yield* readFileBatches(path, options.displayName ?? LOG_FILE, options, false);
}

/** Where `log rotate` puts events older than its cut-off: .guild/audit/YYYY-MM.jsonl.gz. */
export const SEGMENTS_DIR = 'audit';
const SEGMENT_NAME = /^\d{4}-\d{2}\.jsonl\.gz$/;

export function segmentNames(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => SEGMENT_NAME.test(name)).sort();
  } catch {
    return [];
  }
}

async function* readFileBatches(path: string, file: string, options: ReadOptions, gzipped: boolean): AsyncGenerator<NumberedEvent[]> {
  const warn = options.onWarning ?? (() => {});
  // Segments' events say where they are; the live log's, the usual case, carry nothing extra.
  const where = gzipped ? file : undefined;
  let stream: NodeJS.ReadableStream & { bytesRead?: number };
  try {
    const raw = createReadStream(path, { highWaterMark: 1 << 16 });
    if (gzipped) {
      const gunzip = createGunzip();
      raw.on('error', (error) => gunzip.destroy(error));
      stream = raw.pipe(gunzip);
    } else {
      stream = raw;
    }
    const totalBytes = options.onProgress ? statSync(path).size : 0;
    // Bytes, not text: lines are cut at '\n' bytes (never inside a character) and measured in bytes.
    const splitter = new LineSplitter();
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const batch: NumberedEvent[] = [];
      try {
        for (const line of splitter.push(chunk)) readLine(line, false, batch);
      } catch (error) {
        // The events before the damage still reach the reader, then the error does.
        if (batch.length > 0) yield batch;
        throw error;
      }
      options.onProgress?.(stream.bytesRead ?? 0, totalBytes);
      if (batch.length > 0) yield batch;
    }
    const last = splitter.end();
    if (last) {
      const batch: NumberedEvent[] = [];
      readLine(last, true, batch);
      if (batch.length > 0) yield batch;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    if (gzipped && !(error instanceof FileError)) throw new FileError('ESEGMENT', file, undefined, `not a readable gzip segment: ${(error as Error).message}`);
    throw error;
  }

  function readLine({ no, text, nul }: RawLine, last: boolean, batch: NumberedEvent[]): void {
    if (text === null) {
      damaged(no, oversizeMessage());
      return;
    }
    if (!nul) {
      const event = parseLine(text, no, last);
      if (event) batch.push(where === undefined ? { line: no, event } : { line: no, event, file: where });
      return;
    }
    // NUL bytes are what a power loss leaves: the write before them was cut short, whatever
    // follows them was appended since. Each piece is read on its own, so that no complete event
    // on the line is lost; a piece cut short is torn, a warning like any torn line.
    warn({ file, line: no, message: 'NUL bytes (left by a power loss or a crash mid-write), skipped' });
    const pieces = text.split('\0');
    pieces.forEach((piece, i) => {
      const final = i === pieces.length - 1;
      const event = parseLine(piece, no, final && last, !final);
      if (event) batch.push(where === undefined ? { line: no, event } : { line: no, event, file: where });
    });
  }

  function parseLine(raw: string, line: number, last: boolean, beforeNul = false): AuditEvent | null {
    const text = raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
    // Every line but a blank one starts with "{": only those are trimmed to be sure.
    if (text.charCodeAt(0) !== 123 && text.trim() === '') return null;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      if (beforeNul) {
        warn({ file, line, message: `a write cut short before NUL bytes, skipped: ${preview(text)}` });
        return null;
      }
      if (last) {
        warn({ file, line, message: `torn last line (a write cut short by a crash), skipped: ${preview(text)}` });
        return null;
      }
      if (isTornFragment(text)) {
        // A torn line that later appends went past: they start a new line after it.
        warn({ file, line, message: `torn line (a write cut short by a crash, appended past since), skipped: ${preview(text)}` });
        return null;
      }
      return damaged(line, `not valid JSON: ${preview(text)}`);
    }
    const problem = checkEvent(value);
    if (problem) return damaged(line, problem);
    return value as AuditEvent;
  }

  function damaged(line: number, what: string): null {
    if (options.lenient) {
      warn({ file, line, message: `${what} (skipped)` });
      return null;
    }
    throw new FileError('ELOG', file, line, what);
  }
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

export function checkEvent(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'an event must be a JSON object';
  const event = value as Record<string, unknown>;
  for (const key of ['id', 'ts', 'type']) if (typeof event[key] !== 'string') return `event has no string "${key}"`;
  // A shape check, not Date.parse: this runs for every event of a million-line replay.
  if (!ISO_TIME.test(event.ts as string)) return `event ts is not a time: ${JSON.stringify(event.ts)}`;
  return null;
}

/**
 * What a cut-short append leaves: the start of a line as appendEvents writes it, never its end.
 * Anything else that does not parse (a line ending in "}", text of another shape) is damage.
 */
const EVENT_START = '{"v":1,"id":"';
function isTornFragment(text: string): boolean {
  return EVENT_START.startsWith(text) || (text.startsWith(EVENT_START) && !text.trimEnd().endsWith('}'));
}

/** Why a line over the limit is refused: the same words wherever a reader meets one. */
export function oversizeMessage(): string {
  return `line longer than ${MAX_EVENT_TEXT} (${MAX_EVENT_BYTES} bytes), the most one event may take: not an event (a file pasted or damaged?); see README.md, "The audit log"`;
}

function preview(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}

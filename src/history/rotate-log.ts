// log rotate: events older than a cut-off move from .guild/audit.jsonl to one gzip segment per
// month, .guild/audit/YYYY-MM.jsonl.gz, which every reader reads before the live file as one
// history. Under the board mutex, so no append races it (every append happens under it).
// Order: segments first (appended as new gzip members, fsynced), then the live file is replaced
// atomically by what stays. A crash in between leaves events in both places, which readers
// drop as duplicates; it never loses one. The log mark (log/log-mark.ts) is moved to where the
// last kept event now ends (the empty mark when none is kept), so the daemon does not take the
// shorter file for one git rewound.
import { once } from 'node:events';
import { closeSync, createReadStream, createWriteStream, fsyncSync, mkdirSync, openSync, renameSync, rmSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { createGzip, type Gzip } from 'node:zlib';
import { withBoardMutex } from '../lock/board-mutex.js';
import { EMPTY_LOG_MARK, writeLogMark, type LogMark } from '../log/log-mark.js';
import { FileError } from '../errors.js';
import { LOG_FILE } from '../log/append-event.js';
import { LineSplitter } from '../log/log-lines.js';
import { oversizeMessage, SEGMENTS_DIR } from '../log/read-events.js';
import type { Guild } from '../tasks/guild.js';

export interface RotateResult {
  moved: number;
  kept: number;
  segments: string[];
}

export async function rotateLog(guild: Guild, before: number): Promise<RotateResult> {
  return withBoardMutex(guild.mutexPath, 'log rotate', async () => {
    const segmentsDir = join(dirname(guild.logPath), SEGMENTS_DIR);
    const temp = `${guild.logPath}.rotate-${process.pid}.tmp`;
    const kept = createWriteStream(temp);
    const open = new Map<string, { gzip: Gzip; file: WriteStream; path: string }>();
    const result: RotateResult = { moved: 0, kept: 0, segments: [] };
    let keptBytes = 0;
    let mark: LogMark | null = null;
    const write = async (stream: NodeJS.WritableStream, text: string): Promise<void> => {
      if (!stream.write(text)) await once(stream, 'drain');
    };
    try {
      // A line over the limit cannot be carried over (the line reader skips its bytes), and a
      // half-written segment is damage: refuse before writing anything.
      await refuseOversizeLines(guild.logPath);
      for await (const line of logLines(guild.logPath)) {
        const event = parseEvent(line);
        const month = monthOf(event, before);
        if (month === null) {
          // Recent, torn or damaged: it stays where readers report it.
          if (line !== '') result.kept++;
          await write(kept, `${line}\n`);
          keptBytes += Buffer.byteLength(line) + 1;
          if (typeof event?.id === 'string') mark = { size: keptBytes, id: event.id };
          continue;
        }
        let segment = open.get(month);
        if (!segment) {
          mkdirSync(segmentsDir, { recursive: true });
          const path = join(segmentsDir, `${month}.jsonl.gz`);
          // A new gzip member appended to the month's segment: gunzip reads members as one.
          const gzip = createGzip();
          const file = createWriteStream(path, { flags: 'a' });
          gzip.pipe(file);
          segment = { gzip, file, path };
          open.set(month, segment);
          result.segments.push(path);
        }
        await write(segment.gzip, `${line}\n`);
        result.moved++;
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        kept.destroy();
        rmSync(temp, { force: true });
        throw error;
      }
    }
    for (const { gzip, file, path } of open.values()) {
      gzip.end();
      await once(file, 'finish');
      syncFile(path);
    }
    kept.end();
    await once(kept, 'finish');
    syncFile(temp);
    if (result.moved > 0) {
      renameSync(temp, guild.logPath);
      // Every event moved out: the log is as guild-fs left it, empty (a stale save is still merged).
      writeLogMark(guild.logMarkPath, mark ?? EMPTY_LOG_MARK);
    } else {
      rmSync(temp, { force: true });
    }
    return result;
  });
}

/**
 * The log's lines as text, without their newlines (or a CR before one). Not node:readline: it
 * glues each chunk onto a line in progress and searches it again, quadratic in a long line.
 */
async function* logLines(path: string): AsyncGenerator<string> {
  const lines = new LineSplitter();
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (const line of lines.push(chunk)) {
      if (line.text === null) throw new FileError('ELOG', LOG_FILE, line.no, oversizeMessage());
      yield withoutCr(line.text);
    }
  }
  const last = lines.end();
  if (last?.text) yield withoutCr(last.text);
}

function withoutCr(text: string): string {
  return text.endsWith('\r') ? text.slice(0, -1) : text;
}

async function refuseOversizeLines(path: string): Promise<void> {
  const lines = new LineSplitter();
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (const line of lines.push(chunk)) if (line.text === null) throw new FileError('ELOG', LOG_FILE, line.no, `${oversizeMessage()}; nothing was rotated`);
  }
}

function parseEvent(line: string): { id?: unknown; ts?: unknown } | null {
  try {
    const value = JSON.parse(line) as unknown;
    return typeof value === 'object' && value !== null ? (value as { id?: unknown; ts?: unknown }) : null;
  } catch {
    return null;
  }
}

/** The segment month of an event older than `before`, or null when the line stays. */
function monthOf(event: { ts?: unknown } | null, before: number): string | null {
  if (event === null) return null;
  if (typeof event.ts !== 'string' || !/^\d{4}-\d{2}-/.test(event.ts)) return null;
  return Date.parse(event.ts) < before ? event.ts.slice(0, 7) : null;
}

function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

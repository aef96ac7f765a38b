// log rotate: events older than a cut-off move from .guild/audit.jsonl to one gzip segment per
// month, .guild/audit/YYYY-MM.jsonl.gz, which every reader reads before the live file as one
// history. Under the board mutex, so no append races it (every append happens under it).
// Order: segments first (appended as new gzip members, fsynced), then the live file is replaced
// atomically by what stays. A crash in between leaves events in both places, which readers
// drop as duplicates; it never loses one.
import { once } from 'node:events';
import { closeSync, createReadStream, createWriteStream, fsyncSync, mkdirSync, openSync, renameSync, rmSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGzip, type Gzip } from 'node:zlib';
import { withBoardMutex } from '../lock/board-mutex.js';
import { SEGMENTS_DIR } from '../log/read-events.js';
import type { Guild } from './guild.js';

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
    const write = async (stream: NodeJS.WritableStream, text: string): Promise<void> => {
      if (!stream.write(text)) await once(stream, 'drain');
    };
    let input;
    try {
      input = createReadStream(guild.logPath);
      for await (const line of createInterface({ input, crlfDelay: Infinity })) {
        const month = monthOf(line, before);
        if (month === null) {
          // Recent, torn or damaged: it stays where readers report it.
          if (line !== '') result.kept++;
          await write(kept, `${line}\n`);
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
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    for (const { gzip, file, path } of open.values()) {
      gzip.end();
      await once(file, 'finish');
      syncFile(path);
    }
    kept.end();
    await once(kept, 'finish');
    syncFile(temp);
    if (result.moved > 0) renameSync(temp, guild.logPath);
    else rmSync(temp, { force: true });
    return result;
  });
}

/** The segment month of an event older than `before`, or null when the line stays. */
function monthOf(line: string, before: number): string | null {
  let event: { ts?: unknown };
  try {
    event = JSON.parse(line) as { ts?: unknown };
  } catch {
    return null;
  }
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

// The person of the storm (issue 10): a separate node process that saves the board the way
// editors do, about 50 times a second, each save adding one numbered line `storm note <n>` at
// the end of the board's `## Notes` section. It takes no mutex and knows nothing of guild-fs.
//
//   node --import tsx test/helpers/storm-person.ts '<json PersonOptions>'
//
// Styles: 'rename' writes a temp file beside the board and renames it over (vim's default,
// VS Code, most IDEs); 'inplace' opens the board with O_TRUNC and writes it again in one write
// (vim with backupcopy=yes, nano, many small editors: fopen "w"); 'inplace-chunks' does the same
// in 4 KiB writes, yielding to the event loop between them, so the board is short for a while;
// 'inplace-rplus' opens the board read-write without truncating (`r+`) and truncates it with a
// separate call, then writes once: the editors of board task GLD-41, whose save can land in a
// file a tool's rename has already replaced (see allowedLost in storm.ts).
// When done it prints one JSON line, a PersonResult, on stdout.
import { closeSync, ftruncateSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';

export type SaveStyle = 'rename' | 'inplace' | 'inplace-chunks' | 'inplace-rplus';

export interface PersonOptions {
  board: string;
  style: SaveStyle;
  /** Epoch ms: the first save starts then (both the person and the agents wait for it). */
  startAt: number;
  /** Epoch ms: no save starts after it; the save under way finishes. */
  until: number;
  /** One save started every pauseMs (20: 50 saves a second) while the machine keeps up. */
  pauseMs: number;
}

export interface PersonResult {
  saves: number;
  /** The highest n saved: notes 1..highest should all be on the board. */
  highest: number;
  /** Saves whose read found no `## Notes` heading (the note then went to the end of the file). */
  notesMissing: number;
  /** Reads that found an empty board. */
  emptyReads: number;
  /** Saves that threw (their note was not written), and the first messages. */
  failedSaves: number;
  errors: string[];
  startedAt: number;
  endedAt: number;
}

export const NOTE = (n: number): string => `storm note ${n}`;
export const NOTES_HEADING = '## Notes';

/** The text with `line` added as the last line of the `## Notes` section (or of the file). */
export function insertNote(text: string, line: string): { text: string; hadNotes: boolean } {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const heading = lines.findIndex((l) => l.trimEnd() === NOTES_HEADING);
  if (heading === -1) return { text: [...lines, line, ''].join(eol), hadNotes: false };
  let end = lines.findIndex((l, i) => i > heading && /^#{1,2} /.test(l));
  if (end === -1) end = lines.length;
  // After the section's last non-blank line, so that blank lines before the next heading stay.
  let at = end;
  while (at > heading + 1 && lines[at - 1]!.trim() === '') at--;
  lines.splice(at, 0, line);
  return { text: [...lines, ''].join(eol), hadNotes: true };
}

/** Saves `text` as the board the way an editor of that style does; `n` names the temp file. */
export async function saveBoard(board: string, text: string, style: SaveStyle, n = 0): Promise<void> {
  const bytes = Buffer.from(text, 'utf8');
  if (style === 'rename') {
    const temp = join(dirname(board), `.${basename(board)}.swp${process.pid}-${n}`);
    writeFileSync(temp, bytes);
    try {
      renameSync(temp, board);
    } catch (error) {
      try {
        unlinkSync(temp);
      } catch {}
      throw error;
    }
    return;
  }
  if (style === 'inplace') {
    const fd = openSync(board, 'w');
    try {
      writeSync(fd, bytes, 0, bytes.length, 0);
    } finally {
      closeSync(fd);
    }
    return;
  }
  if (style === 'inplace-rplus') {
    const fd = openSync(board, 'r+');
    try {
      ftruncateSync(fd, 0);
      writeSync(fd, bytes, 0, bytes.length, 0);
    } finally {
      closeSync(fd);
    }
    return;
  }
  // Opened with O_TRUNC, as editors that save in place open the file (fopen "w", Node's
  // writeFile): the truncation is the open itself. (A separate truncate a few event-loop turns
  // later would leave a window in which a tool's rename, made after the open, is invisible:
  // no program can see another one's open file handle.)
  const handle = await open(board, 'w');
  try {
    for (let offset = 0; offset < bytes.length; offset += 4096) {
      await handle.write(bytes, offset, Math.min(4096, bytes.length - offset), offset);
      await yieldToLoop();
    }
  } finally {
    await handle.close();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function person(options: PersonOptions): Promise<PersonResult> {
  const result: PersonResult = { saves: 0, highest: 0, notesMissing: 0, emptyReads: 0, failedSaves: 0, errors: [], startedAt: 0, endedAt: 0 };
  if (Date.now() < options.startAt) await sleep(options.startAt - Date.now());
  result.startedAt = Date.now();
  let n = 0;
  let nextAt = result.startedAt;
  while (Date.now() < options.until) {
    try {
      const text = readFileSync(options.board, 'utf8');
      if (text === '') result.emptyReads++;
      const next = insertNote(text, NOTE(n + 1));
      if (!next.hadNotes) result.notesMissing++;
      await saveBoard(options.board, next.text, options.style, n + 1);
      n++;
      result.saves++;
      result.highest = n;
    } catch (error) {
      // The note was not saved; its number is used by the next save.
      result.failedSaves++;
      if (result.errors.length < 20) result.errors.push(String((error as Error).message ?? error));
    }
    // A steady cadence: a save that ran late is followed at once by the next, with no burst to
    // catch up.
    nextAt = Math.max(nextAt + options.pauseMs, Date.now());
    await sleep(nextAt - Date.now());
  }
  result.endedAt = Date.now();
  return result;
}

if (process.argv[1] && import.meta.url.endsWith(basename(process.argv[1]))) {
  const options = JSON.parse(process.argv[2]!) as PersonOptions;
  person(options).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error) => {
      process.stderr.write(`storm person: ${(error as Error).stack ?? error}\n`);
      process.exit(1);
    },
  );
}

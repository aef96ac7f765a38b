// Reading a board that people's editors may be writing at that very moment.
//
// An editor that saves by rename is never seen half-way: the name points at the old file or the
// new one. One that saves in place (truncate, then write, maybe in 4 KiB pieces) is seen empty
// or cut short by a reader that comes in between, and a tool that acted on such a read would
// write back a board missing everything after the cut. So a read is taken through one open file
// with a stat before and after (a size or mtime that moved while reading is read again), a file
// written in the last few milliseconds is given those milliseconds, and a text that looks cut
// short against the last board guild-fs knows (no front matter where it had some, most tasks
// gone, empty, no final line end where it had one, much shorter) is waited on until the file is
// quiet. A board that stays that way is the person's deliberate edit, and is taken as it is.
import { closeSync, fstatSync, openSync, readSync, type BigIntStats } from 'node:fs';
import { sleepSync } from '../lock/sleep.js';
import { decodeBoard, noteLineEnds, type DecodedBoard, type LineEnds } from './board-bytes.js';

/** What guild-fs remembers of the last board it wrote, to tell a cut-short read from it. */
export interface BoardShape {
  length: number;
  frontMatter: boolean;
  finalEol: boolean;
  tasks: number;
}

export interface SteadyReadOptions {
  now?: () => number;
  sleep?: (ms: number) => void;
  /** A file modified this recently may still be being written: wait this long after its mtime. */
  settleMs?: number;
  /** Quiet time that ends the wait for a text that looks cut short. */
  quietMs?: number;
  /** A text that still looks cut short after being unchanged this long is taken as deliberate. */
  deliberateMs?: number;
}

export interface Snapshot {
  /** Every byte kept, bare CRs shown as line ends (board-bytes.ts). */
  text: string;
  lineEnds: LineEnds;
  /** Identity of what was read: device, inode, size and mtime (ns). */
  stamp: string;
}

const SETTLE_MS = 4;
const QUIET_MS = 40;
const DELIBERATE_MS = 1_000;
/** A reader gives up waiting for a settled stat after this many tries and takes what it has. */
const MAX_RESTATS = 200;

/**
 * One consistent read: the file did not change (size, mtime, inode) while it was read. Its line
 * ends are remembered for the next write at `path` (board-bytes.ts, lineEndsAt).
 */
export function readSnapshot(path: string, options: SteadyReadOptions = {}): Snapshot {
  const sleep = options.sleep ?? sleepSync;
  for (let attempt = 0; ; attempt++) {
    const fd = openSync(path, 'r');
    try {
      const before = fstatSync(fd, { bigint: true });
      const bytes = readAll(fd, Number(before.size));
      const after = fstatSync(fd, { bigint: true });
      if (stampOf(before) === stampOf(after) || attempt >= MAX_RESTATS) {
        const { text, lineEnds } = decodeBoard(bytes);
        noteLineEnds(path, lineEnds);
        return { text, lineEnds, stamp: stampOf(after) };
      }
    } finally {
      closeSync(fd);
    }
    sleep(1);
  }
}

/**
 * A read to act on: like readSnapshot, but a file written within the last few milliseconds is
 * read again once they have passed, and a text that `looksCutShort` against the last board
 * guild-fs wrote (`knownShape`, asked only when needed) is waited on
 * (see the file's header). `accept` is asked first: a text guild-fs itself wrote or accepted
 * before (the parse cache knows it) needs none of this.
 */
export function readSteady(path: string, knownShape: () => BoardShape | null, accept: (text: string) => boolean, options: SteadyReadOptions = {}): Snapshot {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? sleepSync;
  const settleMs = options.settleMs ?? SETTLE_MS;
  const quietMs = options.quietMs ?? QUIET_MS;
  const deliberateMs = options.deliberateMs ?? DELIBERATE_MS;
  let suspectSince: number | null = null;
  let suspect: Snapshot | null = null;
  for (let attempt = 0; ; attempt++) {
    const snap = readSnapshot(path, options);
    if (accept(snap.text)) return snap;
    // A future mtime (clock skew, a touched file) says nothing about a save under way.
    const age = now() - mtimeMsOf(snap.stamp);
    if (age >= 0 && age < settleMs && attempt < MAX_RESTATS) {
      sleep(Math.max(1, Math.ceil(settleMs - age)));
      continue;
    }
    const known = knownShape();
    if (!known || !looksCutShort(snap.text, known)) return snap;
    // Looks cut short: wait for quiet, and take it only once it has stayed this way.
    if (!suspect || suspect.stamp !== snap.stamp || suspect.text !== snap.text) {
      suspect = snap;
      suspectSince = now();
    } else if (now() - suspectSince! >= deliberateMs && (age >= quietMs || age < 0)) {
      return snap;
    }
    sleep(Math.min(quietMs, 20));
  }
}

/** The shape that readSteady compares against, of a text guild-fs wrote. */
export function shapeOf(text: string, tasks: number): BoardShape {
  return { length: text.length, frontMatter: hasFrontMatter(text), finalEol: endsWithEol(text), tasks };
}

/**
 * Whether `text` looks like an in-place save caught half-way, against the last board guild-fs
 * knows. Each test is one an editor's finished save almost never fails: a cut lands mid-line (no
 * final line end), before the end of the front matter, or before most of the tasks.
 */
export function looksCutShort(text: string, known: BoardShape): boolean {
  if (text.length === 0) return known.length > 0;
  if (known.finalEol && !endsWithEol(text)) return true;
  if (known.frontMatter && !hasFrontMatter(text)) return true;
  if (known.tasks >= 4 && countTaskLines(text) * 2 < known.tasks) return true;
  return known.length >= 256 && text.length * 2 < known.length;
}

/** Top-level checkbox items, counted cheaply (no parse): enough to see most tasks gone. */
export function countTaskLines(text: string): number {
  let count = 0;
  const pattern = /^(?:[-*+]|\d{1,9}[.)])[ \t]+\[[ xX]\]/gm;
  while (pattern.exec(text)) count++;
  return count;
}

function hasFrontMatter(text: string): boolean {
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  if (!text.startsWith('---', start)) return false;
  // A closing fence must be there too: a cut inside the front matter is not front matter.
  return /\r?\n(?:---|\.\.\.)[ \t]*(?:\r\n|\r|\n|$)/.test(text.slice(start + 3));
}

function endsWithEol(text: string): boolean {
  const last = text.charCodeAt(text.length - 1);
  return last === 0x0a || last === 0x0d;
}

/**
 * The whole board behind `fd`, read to its end whatever its size was a moment ago, decoded as
 * readSnapshot decodes it; with `path`, its line ends are remembered for the next write there.
 */
export function readFdBoard(fd: number, path?: string): DecodedBoard {
  const board = decodeBoard(readAll(fd, fstatSync(fd).size));
  if (path !== undefined) noteLineEnds(path, board.lineEnds);
  return board;
}

function readAll(fd: number, sizeHint: number): Buffer {
  // One byte more than the stat said: a read that fills it shows the file grew (the after-stat
  // then differs too), and only then does the buffer grow.
  let buffer = Buffer.allocUnsafe(sizeHint + 1);
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      const grown = Buffer.allocUnsafe(buffer.length * 2);
      buffer.copy(grown, 0, 0, length);
      buffer = grown;
    }
    const read = readSync(fd, buffer, length, buffer.length - length, length);
    if (read === 0) return buffer.subarray(0, length);
    length += read;
  }
}

export function stampOf(stat: BigIntStats): string {
  return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}`;
}

function mtimeMsOf(stamp: string): number {
  return Number(BigInt(stamp.slice(stamp.lastIndexOf(':') + 1)) / 1_000_000n);
}

// Reading and writing ACTIVE_TASKS.md itself. Writes are atomic (temp file + rename) so that a
// reader, a crash or a SIGKILL never sees half a board; reads wait out an editor's in-place save
// (steady-read.ts); and a write renames only over the very text it read (prepareBoardWrite).
// init's first write goes through write-file-atomic; updates need a check between the fsync and
// the rename that write-file-atomic has no place for.
import { randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, fstatSync, linkSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { sleepSync } from '../lock/sleep.js';
import { FileError } from '../errors.js';
import { ASIDE_PREFIX, restoreAsideBoard } from './board-aside.js';
import { decodeBoard, encodeBoard, encodeLossless, lineEndsAt, noteLineEnds, type DecodedBoard } from './board-bytes.js';
import { contentKey, loadCachedBoard, storeBoardCache } from './board-cache.js';
import { parseBoard, type ParseOptions } from './parse-board.js';
import { countTaskLines, looksCutShort, readFdBoard, readSteady, shapeOf, stampOf, type BoardShape, type SteadyReadOptions } from './steady-read.js';
import type { Board } from './types.js';

export const BOARD_FILE = 'ACTIVE_TASKS.md';
export { ASIDE_PREFIX, restoreAsideBoard } from './board-aside.js';

export interface ReadOptions extends ParseOptions {
  /** Where the parse cache lives; no cache when absent. */
  cachePath?: string;
  /** On a miss, leave the cache alone: a writer stores the board it writes instead. */
  storeOnMiss?: boolean;
  /** The shape of the last board guild-fs wrote, asked only on a cache miss (see steady-read.ts). */
  known?: () => BoardShape | null;
  steady?: SteadyReadOptions;
}

/**
 * Reads and parses the board. A text the parse cache knows is taken at once (guild-fs wrote or
 * accepted it before); any other may be an editor's save caught half-way, and is read through
 * readSteady, which waits such a save out.
 */
export async function readBoardFile(path: string, displayName = BOARD_FILE, options: ReadOptions = {}): Promise<Board> {
  const useCache = options.cachePath !== undefined && options.reader !== 'remark';
  let cached: Board | null = null;
  let known: BoardShape | null | undefined;
  let key: string | undefined;
  let text: string;
  try {
    text = readSteady(
      path,
      () => (known === undefined ? (known = options.known?.() ?? null) : known),
      (candidate) => useCache && (cached = loadCachedBoard(options.cachePath!, displayName, candidate, (key = contentKey(candidate)))) !== null,
      options.steady,
    ).text;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      // Between a write's two steps, or left there by a writer killed between them.
      if (restoreAsideBoard(path)) return readBoardFile(path, displayName, options);
      throw new FileError('ENOBOARD', displayName, undefined, 'no board here: run `guild-fs init` first');
    }
    throw error;
  }
  if (cached) {
    if (process.env.GUILD_VERIFY_CACHE === '1') await verifyAgainstParse(cached);
    return Object.assign(cached as Board, { key });
  }
  const board = await parseBoard(displayName, text, options);
  if (useCache) {
    board.key = key;
    if (options.storeOnMiss !== false) storeBoardCache(options.cachePath!, board, key);
  }
  return board;
}

/**
 * Test mode (GUILD_VERIFY_CACHE=1): every board that did not come from a full parse is parsed
 * again and compared, so that the whole suite checks the cache and the edit derivation.
 */
export async function verifyAgainstParse(board: Board): Promise<void> {
  if ((await readBackDifference(board)) !== null) throw new Error(`internal error: the ${board.reader === 'cache' ? 'cached' : 'derived'} board differs from a fresh parse of ${board.file}`);
}

/**
 * Null when a fresh parse of the board's text finds what `board` says (its tasks, sections, front
 * matter); otherwise the first task that reads back differently (null: not a task, the sections).
 */
export async function readBackDifference(board: Board): Promise<{ id: string | null } | null> {
  const fresh = await parseBoard(board.file, board.text);
  const view = (b: Board) => JSON.stringify({ tasks: b.tasks, sections: b.sections, boundaries: b.boundaries, frontMatterEnd: b.frontMatterEnd, settings: b.settings });
  if (view(fresh) === view(board)) return null;
  const at = board.tasks.findIndex((task, i) => JSON.stringify(task) !== JSON.stringify(fresh.tasks[i]));
  return { id: at >= 0 ? board.tasks[at]!.id : null };
}

export async function writeBoardText(path: string, text: string): Promise<void> {
  // Loaded on first write: read-only commands never pay for it.
  const { default: writeFileAtomic } = await import('write-file-atomic');
  // fsync before the rename: after a power cut the board is the old one or the new one, never empty.
  writeFileAtomic.sync(path, encodeLossless(text), { fsync: true });
}

/** A board write prepared (temp file written and fsynced) and waiting for its rename. */
export interface PreparedWrite {
  /** True while the board still holds `read`: a cheap look before anything is logged. */
  unchangedSince(read: string): boolean;
  /**
   * Renames the new board into place if the board still holds `read`; otherwise leaves it and
   * returns what the board holds now. After the rename, the file that was replaced is looked at
   * once more through the handle the check used: an editor saving in place that had opened it
   * before the rename wrote its save into that file, which no name reaches any more; the save is
   * returned (once the file is quiet) so that the caller can merge it instead of losing it.
   */
  commit(read: string): { written: true; orphan: string | null } | { written: false; disk: string };
  abandon(): void;
}

export interface CommitOptions {
  now?: () => number;
  sleep?: (ms: number) => void;
  /** Test seam: runs between the last check and the rename, the window no POSIX call closes. */
  beforeRename?: () => void;
}

/**
 * The new text is written to a temp file and fsynced first (after a power cut the board is the
 * old one or the new one, never empty), so that the check that the board is unchanged and the
 * rename follow each other as closely as the platform allows. Temp names carry a marker no person
 * types (TEMP_MARKER), so heal sweeps one left by a killed writer and never a person's backup
 * such as ACTIVE_TASKS.md.1.
 *
 * The bytes keep the line ends of the board last read at `path` (board-bytes.ts): the board this
 * write replaces, since it replaces only a board that still reads as `read`, line ends included.
 */
export async function prepareBoardWrite(path: string, text: string, options: CommitOptions = {}): Promise<PreparedWrite> {
  const temp = join(dirname(path), `.${basename(path)}${TEMP_MARKER}${process.pid}-${randomBytes(4).toString('hex')}`);
  const lineEnds = lineEndsAt(path);
  /** The file holds `read` in the line ends these bytes are written with (a CR board turned LF by a person is a change). */
  const holds = (disk: DecodedBoard, read: string): boolean => disk.text === read && disk.lineEnds === lineEnds;
  const bytes = encodeBoard(text, lineEnds);
  // Which line ends a bare CR stands for depends on the whole file (board-bytes.ts): a write that
  // drops the file's last bare LF, say, would make its bare CRs line ends, and the board read back
  // would not be the one written. Checked only where a CR is in play.
  if ((lineEnds !== 'as-is' || text.includes('\r')) && decodeBoard(bytes).text !== text) {
    throw new FileError('EBOARDEDIT', basename(path), undefined, 'this change would not read back as written: the board mixes CR, LF and CR LF line ends, and the change would alter which of them end lines; nothing was written. Give the board one kind of line end, then try again');
  }
  // Written and fsynced off the event loop: the temp file is nobody's until the rename below, so
  // nothing changes if other work runs meanwhile, and in `guild-fs run` it does: the fsync (the
  // disk's time, milliseconds) held the one thread every worker's git and agent processes need
  // (measured: 5 ms of it per task, 200 tasks, 4 workers). The rename still waits for the fsync.
  const handle = await open(temp, 'w');
  try {
    for (let at = 0; at < bytes.length; ) at += (await handle.write(bytes, at)).bytesWritten;
    await handle.sync();
  } catch (error) {
    await handle.close();
    rmSync(temp, { force: true });
    throw error;
  }
  await handle.close();
  // The board as unchangedSince last saw it: a handle on it and its identity (inode, size,
  // mtime). The commit then needs one stat before its rename instead of a whole read: the
  // window in which a save by rename can still be replaced is that stat and the rename.
  let held: { fd: number; stamp: string } | null = null;
  const steps: string[] = [];
  const step = (name: string): void => void steps.push(name);
  const release = (): void => {
    if (held) closeSync(held.fd);
    held = null;
  };
  return {
    unchangedSince: (read) => {
      release();
      let fd: number;
      try {
        fd = openSync(path, 'r');
      } catch {
        return false;
      }
      const stamp = stampOf(fstatSync(fd, { bigint: true }));
      if (!holds(readFdBoard(fd, path), read) || stampOf(fstatSync(fd, { bigint: true })) !== stamp) {
        closeSync(fd);
        return false;
      }
      held = { fd, stamp };
      return true;
    },
    commit: (read) => traced(commitNow(read)),
    abandon: () => {
      release();
      rmSync(temp, { force: true });
    },
  };

  function commitNow(read: string): { written: true; orphan: string | null } | { written: false; disk: string } {
    if (held) {
      const { fd, stamp } = held;
      held = null;
      try {
        const now = statSync(path, { bigint: true, throwIfNoEntry: false });
        if (now && stampOf(now) === stamp) return renameAndLook(fd, read, stamp);
        step('changed-since-look');
      } catch (error) {
        closeSync(fd);
        throw error;
      }
      closeSync(fd);
    }
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // Deleted meanwhile (a rename-save caught between its unlink and its rename, or a person).
      rmSync(temp, { force: true });
      return { written: false, disk: '' };
    }
    const stamp = stampOf(fstatSync(fd, { bigint: true }));
    if (!holds(readFdBoard(fd, path), read)) {
      try {
        rmSync(temp, { force: true });
        // Possibly an in-place save under way: what the caller merges must be the whole save.
        return { written: false, disk: settledAt(path, fd, read, options) };
      } finally {
        closeSync(fd);
      }
    }
    return renameAndLook(fd, read, stamp);
  }

  /** GUILD_TRACE_BOARD_WRITES=<file>: one JSON line per commit, the steps it took (off by default). */
  function traced<T extends { written: boolean }>(outcome: T): T {
    if (process.env.GUILD_TRACE_BOARD_WRITES) {
      const orphan = outcome.written && (outcome as { orphan?: string | null }).orphan != null;
      appendFileSync(process.env.GUILD_TRACE_BOARD_WRITES, `${JSON.stringify({ pid: process.pid, at: Date.now(), written: outcome.written, orphan, steps })}\n`);
    }
    steps.length = 0;
    return outcome;
  }

  /** A save an editor wrote in place into the replaced file (still open as `fd`) since the look, or null. */
  function savedInto(fd: number, read: string, looked: string): string | null {
    if (untouchedSince(fd, looked, options.now ?? Date.now) || readFdBoard(fd).text === read) return null;
    step('saved-into-replaced');
    return settledContent(fd, read, options).text;
  }

  /**
   * Puts the new board in place without ever replacing a save it has not seen; then reads the
   * replaced file once more through `fd`, for an in-place save written into it. A plain rename
   * would replace whatever is at the name by then, and a save renamed there after the last look
   * (a writer preempted between its look and its rename, on a loaded machine, makes that window
   * milliseconds wide) would be gone. So the board is first moved aside (a rename, which takes
   * whatever is there, atomically), the new one linked in (link never replaces: a save that
   * arrived meanwhile keeps its place), and only then is what was moved aside looked at: not the
   * file this write read, it is a save made after the look, handed back to be merged. For the
   * microseconds between the two steps the board has no name; readers wait that out, and one
   * that finds it gone for long (a writer killed there) puts the moved-aside board back
   * (restoreAsideBoard).
   */
  function renameAndLook(fd: number, read: string, looked: string): { written: true; orphan: string | null } | { written: false; disk: string } {
    const aside = join(dirname(path), `${ASIDE_PREFIX}${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      options.beforeRename?.();
      try {
        renameSync(path, aside);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        rmSync(temp, { force: true });
        return { written: false, disk: '' };
      }
      let linked = true;
      try {
        linkSync(temp, path);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') {
          linked = false;
          step('save-took-the-name');
        }
        else {
          // No hard links here (some network and FAT file systems): a plain rename, as before.
          renameSync(temp, path);
        }
      }
      rmSync(temp, { force: true });
      const mine = fstatSync(fd);
      const moved = statSync(aside, { throwIfNoEntry: false });
      // Not the file this write looked at: a save renamed in after the look, caught here.
      let caught: string | null = null;
      if (moved && (moved.ino !== mine.ino || moved.dev !== mine.dev)) {
        step('save-caught-aside');
        const other = openSync(aside, 'r');
        try {
          caught = settledContent(other, read, options).text;
        } finally {
          closeSync(other);
        }
      }
      rmSync(aside, { force: true });
      if (!linked) {
        // A save took the name between the two steps: it stays, and is what gets merged.
        const now = openSync(path, 'r');
        try {
          return { written: false, disk: settledAt(path, now, read, options) };
        } finally {
          closeSync(now);
        }
      }
      return { written: true, orphan: caught ?? savedInto(fd, read, looked) };
    } finally {
      closeSync(fd);
    }
  }
}

/** In the name of every temp board: `.ACTIVE_TASKS.md.guild-tmp-<pid>-<8 hex>`. */
export const TEMP_MARKER = '.guild-tmp-';

/**
 * The file behind `fd` has not been written since it had identity `looked`: the same size and
 * mtime, and that mtime old enough that a write now would have moved it by a clock tick (file
 * times are coarse; a write in the same tick as the last one can leave them equal). Saves reading
 * a large board back after every rename.
 */
function untouchedSince(fd: number, looked: string, now: () => number): boolean {
  const stat = fstatSync(fd, { bigint: true });
  return stampOf(stat) === looked && now() - Number(stat.mtimeNs / 1_000_000n) > 50;
}

/**
 * A file's content once its writer has finished a save: not looking cut short against the board
 * it replaced (an in-place save is empty, then a growing prefix) and unchanged for a moment. An
 * editor saving again and again (each save whole) is not waited out: the first whole save is
 * taken. A text that stays cut short is taken after a second more, as deliberate.
 */
function settledContent(fd: number, replaced: string, options: CommitOptions): DecodedBoard {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? sleepSync;
  const known = shapeOf(replaced, countTaskLines(replaced));
  const start = now();
  let last = readFdBoard(fd);
  let since = start;
  for (;;) {
    sleep(SETTLE_STEP_MS);
    const board = readFdBoard(fd);
    if (board.text !== last.text || board.lineEnds !== last.lineEnds) {
      last = board;
      since = now();
      continue;
    }
    if (!looksCutShort(board.text, known) && now() - since >= SETTLE_QUIET_MS) return board;
    if (now() - start >= SETTLE_GIVE_UP_MS) return board;
  }
}

/** settledContent of the board now at `path`: the write that merges it replaces it, so its line ends are the ones to keep. */
function settledAt(path: string, fd: number, replaced: string, options: CommitOptions): string {
  const board = settledContent(fd, replaced, options);
  noteLineEnds(path, board.lineEnds);
  return board.text;
}

const SETTLE_STEP_MS = 3;
const SETTLE_QUIET_MS = 10;
const SETTLE_GIVE_UP_MS = 2_000;

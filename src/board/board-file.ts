// Reading and writing ACTIVE_TASKS.md itself. Writes are atomic (temp file + rename, through
// write-file-atomic) so that a reader, a crash or a SIGKILL never sees half a board.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { FileError } from '../errors.js';
import { contentKey, loadCachedBoard, storeBoardCache } from './board-cache.js';
import { parseBoard, type ParseOptions } from './parse-board.js';
import type { Board } from './types.js';

export const BOARD_FILE = 'ACTIVE_TASKS.md';

export interface ReadOptions extends ParseOptions {
  /** Where the parse cache lives; no cache when absent. */
  cachePath?: string;
  /** On a miss, leave the cache alone: a writer stores the board it writes instead. */
  storeOnMiss?: boolean;
}

export async function readBoardFile(path: string, displayName = BOARD_FILE, options: ReadOptions = {}): Promise<Board> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new FileError('ENOBOARD', displayName, undefined, 'no board here: run `guild-fs init` first');
    }
    throw error;
  }
  if (!options.cachePath || options.reader === 'remark') return parseBoard(displayName, text, options);
  const key = contentKey(text);
  const cached = loadCachedBoard(options.cachePath, displayName, text, key);
  if (cached) {
    if (process.env.GUILD_VERIFY_CACHE === '1') await verifyAgainstParse(cached);
    return cached;
  }
  const board = await parseBoard(displayName, text, options);
  if (options.storeOnMiss !== false) storeBoardCache(options.cachePath, board, key);
  return board;
}

/**
 * Test mode (GUILD_VERIFY_CACHE=1): every board that did not come from a full parse is parsed
 * again and compared, so that the whole suite checks the cache and the edit derivation.
 */
export async function verifyAgainstParse(board: Board): Promise<void> {
  const fresh = await parseBoard(board.file, board.text);
  const view = (b: Board) => JSON.stringify({ tasks: b.tasks, sections: b.sections, boundaries: b.boundaries, frontMatterEnd: b.frontMatterEnd, settings: b.settings });
  if (view(fresh) !== view(board)) {
    throw new Error(`internal error: the ${board.reader === 'cache' ? 'cached' : 'derived'} board differs from a fresh parse of ${board.file}`);
  }
}

export async function writeBoardText(path: string, text: string): Promise<void> {
  // Loaded on first write: read-only commands never pay for it.
  const { default: writeFileAtomic } = await import('write-file-atomic');
  // fsync before the rename: after a power cut the board is the old one or the new one, never empty.
  writeFileAtomic.sync(path, text, { encoding: 'utf8', fsync: true });
}

/**
 * A board write in two steps, for a writer that must not replace a save made by hand while it
 * worked (the daemon): the new text is written to a temp file and fsynced first, then the caller
 * checks the board still holds what it read, and only then renames. The window in which a
 * person's save could still be replaced shrinks from the whole read-modify-write (parse, fsync)
 * to the check and the rename. Temp names end in digits, like write-file-atomic's, so heal sweeps
 * one left by a killed writer.
 */
export function prepareBoardText(path: string, text: string): { unchangedSince(read: string): boolean; commit(): void; abandon(): void } {
  const temp = `${path}.${process.pid}${String(Date.now() % 1_000_000).padStart(6, '0')}`;
  const fd = openSync(temp, 'wx');
  try {
    const bytes = Buffer.from(text, 'utf8');
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return {
    unchangedSince: (read) => {
      try {
        return readFileSync(path, 'utf8') === read;
      } catch {
        return false;
      }
    },
    commit: () => renameSync(temp, path),
    abandon: () => rmSync(temp, { force: true }),
  };
}

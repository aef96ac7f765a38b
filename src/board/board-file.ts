// Reading and writing ACTIVE_TASKS.md itself. Writes are atomic (temp file + rename, through
// write-file-atomic) so that a reader, a crash or a SIGKILL never sees half a board.
import { readFileSync } from 'node:fs';
import writeFileAtomic from 'write-file-atomic';
import { FileError } from '../errors.js';
import { parseBoard, type ParseOptions } from './parse-board.js';
import type { Board } from './types.js';

export const BOARD_FILE = 'ACTIVE_TASKS.md';

export async function readBoardFile(path: string, displayName = BOARD_FILE, options: ParseOptions = {}): Promise<Board> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new FileError('ENOBOARD', displayName, undefined, 'no board here: run `guild-fs init` first');
    }
    throw error;
  }
  return parseBoard(displayName, text, options);
}

export function writeBoardText(path: string, text: string): void {
  // fsync before the rename: after a power cut the board is the old one or the new one, never empty.
  writeFileAtomic.sync(path, text, { encoding: 'utf8', fsync: true });
}

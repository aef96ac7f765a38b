// The repository's .gitattributes lines that hand ACTIVE_TASKS.md and the log to guild-fs's merge
// drivers: what `init` writes and what doctor checks, read in one place so the two cannot drift.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BOARD_FILE } from '../board/board-file.js';
import { DRIVER_NAMES } from '../git/merge-drivers.js';
import { LOG_FILE } from '../log/append-event.js';

export const ATTRIBUTE_LINES = [`/${BOARD_FILE} merge=${DRIVER_NAMES.board}`, `${LOG_FILE} merge=${DRIVER_NAMES.log}`];

/** The repository's .gitattributes, and which of guild-fs's merge lines it lacks (for init and doctor). */
export function readAttributes(root: string): { path: string; text: string; lines: string[]; missing: string[] } {
  const path = join(root, '.gitattributes');
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const lines = text === '' ? [] : text.replace(/\r?\n$/, '').split(/\r?\n/);
  return { path, text, lines, missing: ATTRIBUTE_LINES.filter((line) => !lines.some((have) => have.trim() === line)) };
}

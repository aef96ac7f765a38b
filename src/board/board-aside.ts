// The board moved aside by a write between its two steps (board-file.ts, renameAndLook): for a
// few microseconds every board write leaves the board without a name. Kept apart from
// board-file.ts, with nothing but node:fs behind it, so that the light readers of the board
// (board-head.ts: a claim's look at the front matter) can wait that instant out too.
import { existsSync, linkSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { sleepSync } from '../lock/sleep.js';

/** Names of boards moved aside by a write between its two steps (see renameAndLook). */
export const ASIDE_PREFIX = '.guild-aside.';

/**
 * The board has no name and a write moved it aside longer ago than a write takes (its writer
 * was killed between the two steps): the moved-aside board is linked back (never replacing a
 * board that came back meanwhile). True when a board is there afterwards.
 */
export function restoreAsideBoard(path: string, options: { waitMs?: number; sleep?: (ms: number) => void } = {}): boolean {
  const sleep = options.sleep ?? sleepSync;
  const prefix = `${ASIDE_PREFIX}${basename(path)}.`;
  const asides = (): string[] => {
    try {
      return readdirSync(dirname(path)).filter((name) => name.startsWith(prefix));
    } catch {
      return [];
    }
  };
  // A live writer puts the new board in place within microseconds; a preempted one, milliseconds.
  for (let waited = 0; waited < (options.waitMs ?? 250); waited += 5) {
    if (existsSync(path)) return true;
    // None aside: no write is between its steps, or one finished since the look above.
    if (asides().length === 0) return existsSync(path);
    sleep(5);
  }
  for (const name of asides()) {
    try {
      linkSync(join(dirname(path), name), path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return true;
    }
  }
  return existsSync(path);
}

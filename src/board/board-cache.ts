// A parse cache keyed by the board's content. Reading a 10,000-task board costs tens of
// milliseconds of cold JavaScript on every command; the cache turns that into one hash and one
// JSON.parse. Writers leave the cache for the text they wrote (derived from the edit, not
// re-parsed), so a claim after a claim hits it too. It lives in <git-common-dir>/guild/cache/,
// is never committed, and any doubt (another version, other bytes, a damaged file) is a miss.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { encodeLossless } from './board-bytes.js';
import { BoardText } from './board-text.js';
import { indexById } from './parse-board.js';
import type { Board, Settings, Section, Task } from './types.js';

/** Bump whenever what a parse produces changes. */
const CACHE_VERSION = 4;

interface CacheFile {
  v: number;
  key: string;
  file: string;
  frontMatterEnd: number;
  settings: Settings;
  sections: Section[];
  boundaries: number[];
  reader: Board['reader'];
  irregular?: boolean;
  /** Stored as the objects themselves: JSON.parse builds them natively, far faster than a loop. */
  tasks: Task[];
}

/**
 * The hash of the text's bytes. Not of `update(text)`: that encodes each escaped byte (a Latin-1
 * `é`, see board-bytes.ts) as U+FFFD, so two boards differing only in such bytes would share a
 * key and one would be handed the other's cached titles. (encodeLossless costs nothing more than
 * `update(text)` on a board that is valid UTF-8.)
 */
export function contentKey(text: string): string {
  return createHash('sha1').update(encodeLossless(text)).digest('hex');
}

export function loadCachedBoard(cachePath: string, file: string, text: string, key: string = contentKey(text)): Board | null {
  let cache: CacheFile;
  try {
    cache = JSON.parse(readFileSync(cachePath, 'utf8')) as CacheFile;
  } catch {
    return null;
  }
  if (cache.v !== CACHE_VERSION || cache.key !== key || cache.file !== file || !Array.isArray(cache.tasks)) return null;
  const source = new BoardText(text);
  const tasks = cache.tasks;
  return {
    file,
    text,
    source,
    eol: source.newline,
    settings: cache.settings,
    frontMatterEnd: cache.frontMatterEnd,
    sections: cache.sections,
    boundaries: cache.boundaries,
    tasks,
    byId: indexById(tasks),
    reader: 'cache',
    irregular: cache.irregular === true,
  };
}

export function storeBoardCache(cachePath: string, board: Board, key: string = contentKey(board.text)): void {
  const cache: CacheFile = {
    v: CACHE_VERSION,
    key,
    file: board.file,
    frontMatterEnd: board.frontMatterEnd,
    settings: board.settings,
    sections: board.sections,
    boundaries: board.boundaries,
    reader: board.reader,
    irregular: board.irregular === true,
    tasks: board.tasks,
  };
  try {
    mkdirSync(dirname(cachePath), { recursive: true });
    // Readers and writers race here without the mutex: a unique temp name and a rename keep
    // every reader on a whole file, and whichever rename lands last is still a valid entry.
    const temp = `${cachePath}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(temp, JSON.stringify(cache));
    renameSync(temp, cachePath);
  } catch {
    // A cache that cannot be written only costs the next reader a parse.
  }
}

// A save from a stale buffer, merged instead of obeyed.
//
// A person opens the board, agents claim and add tasks, the person saves: the file now holds
// the board as it was when they opened it plus their edit. Taken as the truth, it would undo the
// claims (heal would then requeue live work), reopen finished tasks (a runner would do them
// again) and drop the new tasks (sync would log them cancelled). So the next write that reads
// such a save merges three ways, through the same task-by-task merge as the merge driver: base =
// the kept version the save started from (board-versions.ts keeps a day of them and finds the
// closest), ours = the latest board guild-fs wrote, theirs = the save. Only what the person
// changed on top of what they saw counts as their edit; every tool change since survives beside
// it. Where both changed the same field of a task, the tools' side wins: it is backed by an event
// in the log and, for a claim, by a lock.
//
// Where the base cannot be found (the buffer is older than every version kept), nothing is guessed: the tools'
// board stays, the person's save is kept whole beside it (<git-common-dir>/guild/unplaced/), and
// both the write and `doctor` say so. A save that does not merge cleanly is kept the same way.
//
// When git itself moved the board (a stash and its pop, a checkout, a merge), the log moved with
// it, and that is no stale save: an editor never touches the log. So a save is merged only while
// the log is exactly as guild-fs's last append left it; otherwise the board is taken as it is.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { encodeLossless } from '../board/board-bytes.js';
import { contentKey } from '../board/board-cache.js';
import type { BoardVersions } from '../board/board-versions.js';
import { parseBoard } from '../board/parse-board.js';
import type { Board } from '../board/types.js';
import { GuildError } from '../errors.js';
import { mergeBoards } from './merge-board.js';

export interface StaleSaveOptions {
  /** True when the log is exactly as guild-fs last left it; false when git (or anyone) moved it. */
  logAsLeft: () => boolean;
  /** Where to say what was merged (stderr in the CLI). */
  say?: (line: string) => void;
  /** Now, for the name of a save kept aside. */
  now: number;
}

/** The board to write instead of a save from a stale buffer. */
export interface SaveMerge {
  board: Board;
  /** Where the person's save was kept when it could not be placed on the board. */
  unplaced?: string;
}

/** The board merged with the tools' changes when `read` is a save from a stale buffer; null when it is not one. */
export async function mergeStaleSave(read: Board, versions: BoardVersions, options: StaleSaveOptions): Promise<SaveMerge | null> {
  const latestKey = versions.latestKey();
  // The reader hashed the text already (Board.key): no second hash of the whole board per write.
  if (latestKey === null || latestKey === (read.key ?? contentKey(read.text))) return null;
  if (!options.logAsLeft()) return null;
  // The save's key lets a save that is a kept version be found without a scan (board-versions.ts).
  const found = versions.findBase(read.text, { key: read.key });
  // Closest to the latest: an edit made on top of what the tools last wrote, taken as it is.
  if (found === null || found.baseIsLatest) return null;
  // Only a base older than everything kept is unknown. A save far from every version is not:
  // a person saving many times between two tool writes builds on saves no tool has read (none
  // of them a version), and each save is the last version plus all their edits since.
  if (found.beyondKept) return keepAside(read, found.latest, versions, options, 'was saved from a buffer older than every version guild-fs keeps (a day): which changes are yours cannot be told');
  const merged = await mergeSave(read.file, found.base, found.latest, read);
  if (merged === null) return keepAside(read, found.latest, versions, options, 'was saved from an older version and could not be merged with the changes made since without a conflict');
  if (merged.text === read.text) return null;
  options.say?.(`${read.file} was saved from an older version; merged with the changes guild-fs made since`);
  return { board: merged };
}

/** The tools' latest board stays; the person's save is kept whole in unplaced/, and said. */
async function keepAside(read: Board, latest: string, versions: BoardVersions, options: StaleSaveOptions, why: string): Promise<SaveMerge | null> {
  let board: Board;
  try {
    board = await parseBoard(read.file, latest);
  } catch {
    // The latest version no longer reads (another guild-fs's settings?): the save is all there is.
    return null;
  }
  const path = keepUnplaced(unplacedDir(versions), read.text, options.now);
  options.say?.(`${read.file} ${why}; every change guild-fs made was kept, and your save was kept whole in ${path}: copy what you meant to change from it (\`guild-fs doctor\` lists such saves)`);
  return { board, unplaced: path };
}

/** <git-common-dir>/guild/unplaced/: saves that could not be placed on the board. */
export function unplacedDir(versions: BoardVersions): string {
  return join(dirname(versions.dir), 'unplaced');
}

function keepUnplaced(dir: string, text: string, now: number): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${new Date(now).toISOString().replace(/[:.]/g, '-')}-${contentKey(text).slice(0, 8)}.md`);
  writeFileSync(path, encodeLossless(text));
  return path;
}

/** The saves kept in unplaced/, oldest first (file names only). */
export function unplacedSaves(versions: BoardVersions): string[] {
  try {
    return readdirSync(unplacedDir(versions)).filter((name) => name.endsWith('.md')).sort();
  } catch {
    return [];
  }
}

/**
 * Three-way merge of a person's save (`theirs`, started from `base`) with the tools' board
 * (`ours`); null when it leaves a board that does not read. Tools never write free text, so
 * free text that differs on both sides is a person's on both (an earlier save merged in on our
 * side, the latest on theirs): both sides' lines are kept, as `merge-file --union` keeps them,
 * rather than one save dropped for a conflict.
 */
export async function mergeSave(file: string, base: string, ours: string | Board, theirs: string | Board): Promise<Board | null> {
  // A side given as a board was parsed already (the save the write read, the board it made): on
  // a 10,000-task board each parse not made again is a tenth of a second.
  const parsed = { ...(typeof ours === 'string' ? {} : { ours }), ...(typeof theirs === 'string' ? {} : { theirs }) };
  const text = (side: string | Board): string => (typeof side === 'string' ? side : side.text);
  // No histories: the tools' side wins a field both changed (see the header).
  try {
    const merged = await mergeBoards({ file, base, ours: text(ours), theirs: text(theirs), parsed, histories: async () => ({ ours: new Map(), theirs: new Map() }), preferOnClash: 'ours', unionText: true });
    if (merged.conflicts > 0) return null;
    return merged.board ?? (await parseBoard(file, merged.text));
  } catch (error) {
    // A side that reads with other settings (no front matter: another prefix) cannot be merged task by task.
    if (error instanceof GuildError) return null;
    throw error;
  }
}

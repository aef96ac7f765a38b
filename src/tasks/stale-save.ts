// A save from a stale buffer, merged instead of obeyed.
//
// A person opens the board, agents claim and add tasks, the person saves: the file now holds
// the board as it was when they opened it plus their edit. Taken as the truth, it would undo the
// claims (heal would then requeue live work) and drop the new tasks (sync would log them
// cancelled). So the next write that reads such a save merges three ways, through the same
// task-by-task merge as the merge driver: base = the kept version the save started from (the
// closest one, see board-versions.ts), ours = the latest board guild-fs wrote, theirs = the save.
// Only what the person changed on top of what they saw counts as their edit; every tool change
// since survives beside it. Where both changed the same field of a task, the tools' side wins:
// it is backed by an event in the log and, for a claim, by a lock.
//
// When git itself moved the board (a stash and its pop, a checkout, a merge), the log moved with
// it, and that is no stale save: an editor never touches the log. So a save is merged only while
// the log is exactly as guild-fs's last append left it; otherwise the board is taken as it is.
import { contentKey } from '../board/board-cache.js';
import { closestVersion, type BoardVersions } from '../board/board-versions.js';
import { parseBoard } from '../board/parse-board.js';
import type { Board } from '../board/types.js';
import { GuildError } from '../errors.js';
import { mergeBoards } from './merge-board.js';

export interface StaleSaveOptions {
  /** True when the log is exactly as guild-fs last left it; false when git (or anyone) moved it. */
  logAsLeft: () => boolean;
  /** Where to say what was merged (stderr in the CLI). */
  say?: (line: string) => void;
}

/** Two versions of the tools' side to merge a person's save against. */
export interface SaveMerge {
  base: string;
  board: Board;
}

/** The board merged with the tools' changes when `read` is a save from a stale buffer; null when it is not one. */
export async function mergeStaleSave(read: Board, versions: BoardVersions, options: StaleSaveOptions): Promise<SaveMerge | null> {
  const kept = versions.list();
  // The reader hashed the text already (Board.key): no second hash of the whole board per write.
  if (kept.length === 0 || kept[0]!.key === (read.key ?? contentKey(read.text))) return null;
  const texts: { text: string }[] = [];
  for (const version of kept) {
    const text = versions.read(version);
    if (text !== null) texts.push({ text });
  }
  if (texts.length < 2 || contentKey(texts[0]!.text) !== kept[0]!.key) return null;
  const closest = closestVersion(read.text, texts);
  // Closest to the latest: an edit made on top of what the tools last wrote, taken as it is.
  if (closest <= 0) return null;
  if (!options.logAsLeft()) return null;
  const merged = await mergeSave(read.file, texts[closest]!.text, texts[0]!.text, read.text);
  if (merged === null) {
    options.say?.(`${read.file} was saved from an older version and could not be merged with the changes made since without a conflict; taken as saved (run \`guild-fs sync\` to record it)`);
    return null;
  }
  if (merged.text === read.text) return null;
  options.say?.(`${read.file} was saved from an older version; merged with the changes guild-fs made since`);
  return { base: texts[closest]!.text, board: merged };
}

/**
 * Three-way merge of a person's save (`theirs`, started from `base`) with the tools' board
 * (`ours`); null when it leaves a board that does not read. Tools never write free text, so
 * free text that differs on both sides is a person's on both (an earlier save merged in on our
 * side, the latest on theirs): both sides' lines are kept, as `merge-file --union` keeps them,
 * rather than one save dropped for a conflict.
 */
export async function mergeSave(file: string, base: string, ours: string, theirs: string): Promise<Board | null> {
  // No histories: the tools' side wins a field both changed (see the header).
  try {
    const merged = await mergeBoards({ file, base, ours, theirs, histories: async () => ({ ours: new Map(), theirs: new Map() }), preferOnClash: 'ours', unionText: true });
    if (merged.conflicts > 0) return null;
    return await parseBoard(file, merged.text);
  } catch (error) {
    // A side that reads with other settings (no front matter: another prefix) cannot be merged task by task.
    if (error instanceof GuildError) return null;
    throw error;
  }
}

// What git runs for ACTIVE_TASKS.md and .guild/audit.jsonl during a merge, a rebase or a
// cherry-pick: read the three versions git hands over, merge them (merge-board.ts,
// merge-log.ts) and leave the result in ours' file, as a merge driver must. Also the
// registration of both drivers, which `init` does.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { decodeBoard, encodeBoard } from '../board/board-bytes.js';
import { BOARD_FILE } from '../board/board-file.js';
import { fileAtCommit, theirsCommit } from '../git/merge-plumbing.js';
import { type MergeKind } from '../git/merge-drivers.js';
import { LOG_FILE } from '../log/append-event.js';
import { mergeBoards, taskEventsOf, type SideHistories } from '../tasks/merge-board.js';
import { mergeLogs } from './merge-log.js';

export interface MergeDriverRun {
  kind: MergeKind;
  /** The path being merged, as git names it (%P). */
  path: string;
  conflicts: number;
  notes: string[];
}

export interface MergeFiles {
  base: string;
  ours: string;
  theirs: string;
  /** %P: the file's path in the repository. */
  path?: string;
}

export async function runMergeDriver(kind: MergeKind, files: MergeFiles, cwd: string): Promise<MergeDriverRun> {
  const path = files.path ?? (kind === 'board' ? BOARD_FILE : LOG_FILE);
  if (kind === 'log') {
    const read = (file: string): string => readFileSync(resolve(cwd, file), 'utf8');
    const [base, ours, theirs] = [read(files.base), read(files.ours), read(files.theirs)];
    const merged = mergeLogs(base, ours, theirs);
    writeFileSync(resolve(cwd, files.ours), merged.text);
    const notes = merged.torn.map((torn) => `${path}: left out ${torn.side}'s unfinished last line (a crash mid-append): ${torn.text.slice(0, 80)}`);
    return { kind, path, conflicts: 0, notes };
  }
  // The board's bytes as the tools read them (board-bytes.ts): a Latin-1 byte on any side
  // survives the merge, and a CR board merges line by line like any other.
  const read = (file: string) => decodeBoard(readFileSync(resolve(cwd, file)));
  const [base, ours, theirs] = [read(files.base), read(files.ours), read(files.theirs)];
  const merged = await mergeBoards({ file: path, base: base.text, ours: ours.text, theirs: theirs.text, histories: (tasks) => sideHistories(cwd, tasks) });
  // The result replaces ours' file and keeps its line ends: as with any line a side changed, a
  // branch that converted them loses that to the side checked out (git merges line ends no better).
  writeFileSync(resolve(cwd, files.ours), encodeBoard(merged.text, ours.lineEnds));
  return { kind, path, conflicts: merged.conflicts, notes: merged.notes };
}

/** Each side's events for the given tasks, from the log in HEAD and in the commit being merged. */
async function sideHistories(cwd: string, tasks: Set<string>): Promise<SideHistories | null> {
  const theirs = await theirsCommit(cwd);
  if (!theirs) return null;
  const [ourLog, theirLog] = await Promise.all([fileAtCommit(cwd, 'HEAD', LOG_FILE), fileAtCommit(cwd, theirs, LOG_FILE)]);
  return { ours: taskEventsOf(ourLog ?? '', tasks), theirs: taskEventsOf(theirLog ?? '', tasks) };
}


// What git runs for ACTIVE_TASKS.md and .guild/audit.jsonl during a merge, a rebase or a
// cherry-pick: read the three versions git hands over, merge them (merge-board.ts,
// merge-log.ts) and leave the result in ours' file, as a merge driver must. Also the
// registration of both drivers, which `init` does.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeBoard, encodeBoard } from '../board/board-bytes.js';
import { BOARD_FILE } from '../board/board-file.js';
import { UsageError } from '../errors.js';
import { fileAtCommit, mergeDriverCommand, registerMergeDriver, shellWord, theirsCommit } from '../git/merge-plumbing.js';
import { LOG_FILE } from '../log/append-event.js';
import { packageRoot } from '../package-root.js';
import { mergeBoards, taskEventsOf, type SideHistories } from './merge-board.js';
import { mergeLogs } from './merge-log.js';

export const MERGE_KINDS = ['board', 'log'] as const;
export type MergeKind = (typeof MERGE_KINDS)[number];

/** The drivers' names in .gitattributes and .git/config. */
export const DRIVER_NAMES: Record<MergeKind, string> = { board: 'guild-board', log: 'guild-log' };

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

export interface DriverRegistration {
  name: string;
  state: 'added' | 'updated' | 'present';
}

/**
 * Registers both drivers in the clone's config. The command names this installation of
 * guild-fs by absolute path: .git/config is the clone's own and never committed, and git runs
 * drivers through a shell where `guild-fs` may not be on PATH. `init` again updates it.
 */
export async function registerMergeDrivers(root: string): Promise<DriverRegistration[]> {
  const bin = join(packageRoot(), 'bin', 'guild-fs.js');
  if (!existsSync(bin)) throw new UsageError(`cannot find guild-fs's own bin/guild-fs.js to register as a merge driver (looked at ${bin})`);
  const program = `${shellWord(process.execPath)} ${shellWord(bin)} merge-driver`;
  const registered: DriverRegistration[] = [];
  for (const kind of MERGE_KINDS) {
    const name = DRIVER_NAMES[kind];
    const description = kind === 'board' ? 'guild-fs: ACTIVE_TASKS.md, task by task' : 'guild-fs: the audit log, as the union of both sides';
    registered.push({ name, state: await registerMergeDriver(root, { name, description, command: `${program} ${kind} %O %A %B %P` }) });
  }
  return registered;
}

/** Drivers that .gitattributes names but the clone's config lacks (a fresh clone before `init`). */
export async function missingMergeDrivers(root: string): Promise<string[]> {
  const names = MERGE_KINDS.map((kind) => DRIVER_NAMES[kind]);
  const commands = await Promise.all(names.map((name) => mergeDriverCommand(root, name)));
  return names.filter((_, i) => commands[i] === null);
}

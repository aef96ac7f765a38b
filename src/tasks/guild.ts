// Where a guild's files are, who is acting, and what time it is. Everything in tasks/ takes a
// Guild, so tests can point it at a temp repo and a fake clock.
import { dirname, join } from 'node:path';
import { BOARD_FILE, readBoardFile } from '../board/board-file.js';
import { BoardVersions } from '../board/board-versions.js';
import type { RandomInt } from '../board/hash-ids.js';
import type { Board, Settings } from '../board/types.js';
import { findRepo, type RepoPaths } from '../git/find-repo.js';
import { LOG_FILE } from '../log/append-event.js';
import { LOG_MARK_FILE, logAtMark } from '../log/log-mark.js';
import { systemProbe } from '../lock/liveness.js';
import { MkdirTaskLocks, type TaskLocks } from '../lock/task-locks.js';

export interface Guild {
  repo: RepoPaths;
  boardPath: string;
  logPath: string;
  locksDir: string;
  mutexPath: string;
  /** What the last append left the log as (see log/log-mark.ts): every appendEvents passes it as markPath. */
  logMarkPath: string;
  /** The board's parse cache (see board/board-cache.ts). */
  cachePath: string;
  locks: TaskLocks;
  host: string;
  now: () => number;
  /**
   * Tasks the board's remote says are claimed, or finished, by another clone (remote/remote-claims.ts
   * fills it in before a query or a claim when the board has `remote:`). Not offered by ready,
   * next or claim; shown by list and status.
   */
  elsewhere?: ReadonlyMap<string, ElsewhereClaim>;
  /** Where hash IDs (`ids: hash`) get their randomness: crypto's unless a test passes its own. */
  random?: RandomInt;
  /** The front matter of the board this process last read or wrote: what later steps of a command (worktrees, auto-commit) consult without reading the board again. */
  settings?: Settings;
}

/** A claim another clone holds on the remote, or the marker it left when it finished the task. */
export interface ElsewhereClaim {
  state: 'claimed' | 'done';
}

export function openGuild(cwd: string, options: { now?: () => number; random?: RandomInt } = {}): Guild {
  const repo = findRepo(cwd);
  const guildDir = join(repo.commonDir, 'guild');
  const locksDir = join(guildDir, 'locks');
  return {
    repo,
    boardPath: join(repo.mainWorktree, BOARD_FILE),
    logPath: join(repo.mainWorktree, LOG_FILE),
    locksDir,
    mutexPath: join(guildDir, 'board.lock'),
    logMarkPath: join(guildDir, LOG_MARK_FILE),
    cachePath: join(guildDir, 'cache', 'board.json'),
    locks: new MkdirTaskLocks(locksDir),
    host: systemProbe.host,
    now: options.now ?? Date.now,
    random: options.random,
  };
}

export async function loadBoard(guild: Guild, options: { storeOnMiss?: boolean } = {}): Promise<Board> {
  const board = await readBoardFile(guild.boardPath, undefined, { cachePath: guild.cachePath, known: () => boardVersions(guild).latestShape(), ...options });
  guild.settings = board.settings;
  return board;
}

/** The boards guild-fs last read and wrote (board/board-versions.ts), in <git-common-dir>/guild/versions/. */
export function boardVersions(guild: Guild): BoardVersions {
  return new BoardVersions(join(dirname(guild.mutexPath), 'versions'));
}

/** True when the log is exactly as guild-fs's last append left it (see log/log-mark.ts logAtMark). */
export function logAsLeft(guild: Guild): boolean {
  return logAtMark(guild.logPath, guild.logMarkPath);
}

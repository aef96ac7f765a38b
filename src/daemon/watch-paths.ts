// The one place chokidar is used. Built as a bundle of its own (scripts/build.mjs) and imported
// only by `watch`: no other command pays to load it. It imports nothing of guild-fs, so no class
// is duplicated between bundles.
//
// Tightly scoped: the main worktree's folder one level deep with everything in it ignored but
// the board (its other files and folders are never read, let alone node_modules), and the .guild/
// and locks folders one level deep (a lock is a directory; the owner.json inside is not ours to
// hear). The board is watched through its folder, not as a file: a file watch follows the inode,
// and an editor's save (write a temp file, rename it over) racing the daemon's own rename can
// leave it watching a file that is no longer the board; the folder's watch sees every rename.
import { join, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

export type WatchedKind = 'board' | 'log' | 'locks' | 'branches';

export interface WatchedPaths {
  /** The main worktree: only its board is heard. */
  worktree: string;
  board: string;
  /** The main worktree's .guild/ folder: the audit log. */
  guildDir: string;
  locksDir: string;
}

export interface PathWatcher {
  ready: Promise<void>;
  close(): Promise<void>;
}

export function watchPaths(paths: WatchedPaths, onChange: (kind: WatchedKind, path: string) => void, onError: (error: Error) => void): PathWatcher {
  const inside = (path: string, dir: string): boolean => path === dir || path.startsWith(`${dir}${sep}`);
  const watcher: FSWatcher = watch([paths.worktree, paths.guildDir, paths.locksDir], {
    ignoreInitial: true,
    depth: 0,
    persistent: true,
    ignored: (path: string) => {
      if (path === paths.worktree || path === paths.board) return false;
      if (inside(path, paths.locksDir)) return false;
      // write-file-atomic's temp files and our own: only their rename over a file counts.
      if (inside(path, paths.guildDir)) return /\.tmp$|\.\d+$/.test(path);
      return true;
    },
  });
  watcher.on('all', (_event, path) => {
    if (path === paths.board) onChange('board', path);
    else if (inside(path, paths.locksDir)) onChange('locks', path);
    else if (inside(path, paths.guildDir) && path !== paths.guildDir) onChange('log', path);
  });
  watcher.on('error', (error) => onError(error as Error));
  return {
    ready: new Promise((resolve) => watcher.once('ready', () => resolve())),
    close: () => watcher.close(),
  };
}

/**
 * Branch heads: <git-common-dir>/refs/heads (main, and guild/<ID>-... one level down) and
 * packed-refs. A ref is updated by writing <ref>.lock and renaming it over the ref, so the lock
 * files are ignored and the rename is heard. A watcher of its own: its depth differs.
 */
export function watchBranches(commonDir: string, onChange: () => void, onError: (error: Error) => void): PathWatcher {
  const heads = join(commonDir, 'refs', 'heads');
  const packed = join(commonDir, 'packed-refs');
  const watcher: FSWatcher = watch([heads, packed], {
    ignoreInitial: true,
    depth: 2,
    persistent: true,
    ignored: (path: string) => path.endsWith('.lock'),
  });
  watcher.on('all', () => onChange());
  watcher.on('error', (error) => onError(error as Error));
  return {
    ready: new Promise((resolve) => watcher.once('ready', () => resolve())),
    close: () => watcher.close(),
  };
}

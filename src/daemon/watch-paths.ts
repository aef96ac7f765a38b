// The one place chokidar is used. Built as a bundle of its own (scripts/build.mjs) and imported
// only by `watch`: no other command pays to load it. It imports nothing of guild-fs, so no class
// is duplicated between bundles.
//
// Tightly scoped: the board file itself, and the .guild/ and locks folders one level deep
// (`depth: 0`: a lock is a directory, its owner.json changes are not ours to hear). Never the
// worktree, never node_modules. chokidar's `atomic` folds an editor's save (write a temp file,
// rename it over) into one `change`; a board deleted for longer than that is watched again by
// name, so that it is heard when it comes back.
import { watch, type FSWatcher } from 'chokidar';

export type WatchedKind = 'board' | 'log' | 'locks';

export interface WatchedPaths {
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
  const watcher: FSWatcher = watch([paths.board, paths.guildDir, paths.locksDir], {
    ignoreInitial: true,
    depth: 0,
    persistent: true,
    atomic: true,
    // write-file-atomic's and our own temp files: a rename of one over the board is what counts.
    ignored: (path: string) => /\.\d+(\.[0-9a-f]+)?\.tmp$|\.tmp$|\.\d+$/.test(path) && path !== paths.board,
  });
  watcher.on('all', (event, path) => {
    if (path === paths.board) {
      if (event === 'unlink') {
        // Deleted, or saved by an editor slower than chokidar's atomic window: watch the name again.
        watcher.unwatch(paths.board);
        watcher.add(paths.board);
      }
      onChange('board', path);
    } else if (path.startsWith(paths.locksDir)) {
      onChange('locks', path);
    } else {
      onChange('log', path);
    }
  });
  watcher.on('error', (error) => onError(error as Error));
  return {
    ready: new Promise((resolve) => watcher.once('ready', () => resolve())),
    close: () => watcher.close(),
  };
}

// What `events --follow` and `output --follow` wait on between reads: fs.watch on a folder, with a
// modest poll beside it for file systems where fs.watch hears nothing (network mounts). A wake-up
// that comes while the follower is busy printing is kept, not lost.
import { watch, type FSWatcher } from 'node:fs';

export interface FolderWakeup {
  /** Resolves at the next change (or poll), or at once if one came since the last wait. */
  next(): Promise<void>;
  close(): void;
}

export function wakeOnChange(folder: string, pollMs: number): FolderWakeup {
  let dirty = false;
  let waiting: (() => void) | null = null;
  const wake = (): void => {
    dirty = true;
    waiting?.();
  };
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(folder, { persistent: true }, wake);
  } catch {
    // No such folder yet, or no fs.watch here: the poll alone.
  }
  const timer = setInterval(wake, pollMs);
  return {
    async next() {
      if (!dirty) await new Promise<void>((resolve) => (waiting = resolve));
      waiting = null;
      dirty = false;
    },
    close() {
      clearInterval(timer);
      watcher?.close();
    },
  };
}

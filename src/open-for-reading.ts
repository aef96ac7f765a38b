// A file opened for reading, used, and closed whatever happens: the pattern of every small look
// at a file guild-fs owns (the board's front matter, the log's last line) that may not be there.
import { closeSync, openSync } from 'node:fs';

/** `use(fd)` on `path` opened read-only, then closed; `unopenable` when it cannot be opened (missing, say). */
export function withFileOpen<T>(path: string, unopenable: T, use: (fd: number) => T): T {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return unopenable;
  }
  try {
    return use(fd);
  } finally {
    closeSync(fd);
  }
}

// Which of a few events made it into the log? Heal asks this about the events a process that
// died meant to append. They would be near the end, so the log is read backwards in chunks and
// the search stops at events older than the dead process's work: the cost does not grow with
// the log's length.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const CHUNK = 1 << 16;

export function findEventIds(path: string, ids: readonly string[], notBefore: number): Set<string> {
  const found = new Set<string>();
  if (ids.length === 0) return found;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return found;
    throw error;
  }
  try {
    let position = fstatSync(fd).size;
    let carry = Buffer.alloc(0);
    let older = false;
    while (position > 0 && found.size < ids.length && !older) {
      const length = Math.min(CHUNK, position);
      position -= length;
      const chunk = Buffer.alloc(length);
      readSync(fd, chunk, 0, length, position);
      // Lines are cut at '\n' bytes, never inside a multi-byte character.
      const buffer = Buffer.concat([chunk, carry]);
      let end = buffer.length;
      const look = (from: number, to: number): void => {
        const line = buffer.toString('utf8', from, to);
        for (const id of ids) if (line.includes(`"id":"${id}"`)) found.add(id);
        const ts = /"ts":"([^"]+)"/.exec(line)?.[1];
        if (ts !== undefined && Date.parse(ts) < notBefore) older = true;
      };
      for (;;) {
        const at = end > 0 ? buffer.lastIndexOf(10, end - 1) : -1;
        if (at < 0) {
          // The first (partial) line of this chunk goes with the chunk before it, unless this is
          // the start of the file.
          if (position > 0) carry = buffer.subarray(0, end);
          else if (end > 0) look(0, end);
          break;
        }
        if (end > at + 1) look(at + 1, end);
        end = at;
      }
    }
  } finally {
    closeSync(fd);
  }
  return found;
}

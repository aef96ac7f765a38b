// The front matter without the board: commands that must decide something before they read
// the board (claim's trust check, whether claims go through a remote) read its first bytes only.
import { readFileSync, readSync } from 'node:fs';
import { withFileOpen } from '../open-for-reading.js';
import { restoreAsideBoard } from './board-aside.js';

const HEAD_BYTES = 64 * 1024;

/**
 * The opening line of a YAML front matter (any other engine is refused when the board is read).
 * The language and the spaces after it are one optional group: two runs of [ \t]* side by side
 * backtrack quadratically on a long line that does not match (64 KiB of spaces: seconds).
 */
export const FRONT_MATTER_OPENING = /^(\uFEFF)?---[ \t]*(?:(yaml|yml)[ \t]*)?\r?\n/i;
/** What may be the start of a front matter whose opening line is longer than the head. */
const MAYBE_OPENING = /^(\uFEFF)?---/;

/** The start of the board, enough for its front matter: a board of 10,000 tasks is not read whole for it. null: no board. */
export function boardHead(path: string): string | null {
  const head = readHead(path);
  // Missing for the instant a write has it moved aside (board-aside.ts): a claim that took that
  // for "no board" would skip the trust check and the remote.
  return head === null && restoreAsideBoard(path) ? readHead(path) : head;
}

function readHead(path: string): string | null {
  return withFileOpen(path, null, (fd) => {
    const buffer = Buffer.alloc(HEAD_BYTES);
    const read = readSync(fd, buffer, 0, HEAD_BYTES, 0);
    const head = buffer.toString('utf8', 0, read);
    // A front matter opened and not closed within that many bytes (unlikely, but allowed), or an
    // opening line longer than the head: the whole file, or the head would read as no front matter.
    return read === HEAD_BYTES && MAYBE_OPENING.test(head) && frontMatterEnd(head) < 0 ? readFileSync(path, 'utf8') : head;
  });
}

/** Where the front matter's closing --- line ends (its offset), or -1 when there is none. */
export function frontMatterEnd(text: string): number {
  if (!FRONT_MATTER_OPENING.test(text)) return -1;
  const close = /\n---[ \t]*(\r?\n|$)/.exec(text);
  return close ? close.index + close[0].length : -1;
}

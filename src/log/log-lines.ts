// Cutting the log's bytes into lines, for every forward reader (read-events, follow-log, rotate).
// Two kinds of hostile input shape it:
//   - A run of megabytes without a newline. Gluing each chunk onto what came before and searching
//     the whole again is quadratic (a 128 MB run took 82 s and 1.4 GB), so each chunk is searched
//     once and kept as a piece; and a line is never held past MAX_EVENT_BYTES: beyond that it is
//     reported as oversize and the rest of it is skipped, unread into memory.
//   - A run of NUL bytes: what a power loss leaves where the file's size was saved but its last
//     blocks were not. NULs carry nothing, so a run of them is kept as one NUL (a flood of them
//     costs no memory and never makes a line oversize) and the line is flagged for the reader.

/**
 * The most one event may take on its line, in bytes (NUL bytes not counted). guild-fs's own
 * events are a few hundred bytes; appendEvents refuses to write a longer one, and readers report a
 * longer line as damage with its line number. Documented in README.md ("The audit log").
 */
export const MAX_EVENT_BYTES = 1 << 20;
export const MAX_EVENT_TEXT = '1 MiB';

export interface RawLine {
  /** 1-based line number in the file. */
  no: number;
  /** The line without its newline, decoded as UTF-8; null when it went over the limit (its bytes were skipped). */
  text: string | null;
  /** It held NUL bytes (each run of them is one NUL in `text`). */
  nul: boolean;
}

export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private nul = false;
  private endsWithNul = false;
  private oversize = false;
  /** Lines completed so far (and reported oversize ones). */
  lineNo = 0;

  constructor(private readonly limit: number = MAX_EVENT_BYTES) {}

  /** The lines this chunk completes, in order. The chunk may be reused by the caller afterwards. */
  push(chunk: Buffer): RawLine[] {
    const lines: RawLine[] = [];
    const first = chunk.indexOf(10);
    if (first < 0) {
      // The line goes on in the next chunk: keep a copy of its piece, not the caller's buffer.
      this.add(chunk, true, lines);
      return lines;
    }
    this.add(chunk.subarray(0, first), false, lines);
    this.finishLine(lines);
    const last = chunk.lastIndexOf(10);
    if (last > first) {
      // The lines wholly inside this chunk (each shorter than a chunk, so under the limit when
      // the chunk is): decoded at once and split as text, far cheaper than a decode per line.
      const nul = chunk.indexOf(0, first + 1);
      if (chunk.length <= this.limit && (nul < 0 || nul > last)) {
        for (const text of chunk.toString('utf8', first + 1, last).split('\n')) lines.push({ no: ++this.lineNo, text, nul: false });
      } else {
        let start = first + 1;
        while (start <= last) {
          const newline = chunk.indexOf(10, start);
          this.add(chunk.subarray(start, newline), false, lines);
          this.finishLine(lines);
          start = newline + 1;
        }
      }
    }
    if (last + 1 < chunk.length) this.add(chunk.subarray(last + 1), true, lines);
    return lines;
  }

  private finishLine(lines: RawLine[]): void {
    this.lineNo++;
    if (!this.oversize) lines.push({ no: this.lineNo, text: this.take().toString('utf8'), nul: this.nul });
    this.reset();
  }

  /** The unterminated last line, if any bytes are left: a torn append, or a file without its final newline. */
  end(): RawLine | null {
    const pending = this.size > 0 || this.oversize;
    if (!pending) return null;
    const oversize = this.oversize;
    const line: RawLine = { no: this.lineNo + 1, text: oversize ? null : this.take().toString('utf8'), nul: this.nul };
    this.lineNo++;
    this.reset();
    return oversize ? null : line;
  }

  /** Bytes of the line in progress held now (for tests of the bound). */
  get held(): number {
    return this.size;
  }

  private add(piece: Buffer, copy: boolean, lines: RawLine[]): void {
    if (this.oversize || piece.length === 0) return;
    if (piece.indexOf(0) >= 0) {
      this.nul = true;
      piece = collapseNuls(piece, this.endsWithNul);
      copy = false; // collapseNuls made a new buffer
      if (piece.length === 0) return;
    }
    if (this.size + piece.length > this.limit) {
      // Reported once, with the number the line will have; its bytes are dropped from here on.
      this.oversize = true;
      this.parts = [];
      this.size = 0;
      lines.push({ no: this.lineNo + 1, text: null, nul: this.nul });
      return;
    }
    this.parts.push(copy ? Buffer.from(piece) : piece);
    this.size += piece.length;
    this.endsWithNul = piece[piece.length - 1] === 0;
  }

  private take(): Buffer {
    if (this.parts.length === 0) return EMPTY;
    return this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
  }

  private reset(): void {
    this.parts = [];
    this.size = 0;
    this.nul = false;
    this.endsWithNul = false;
    this.oversize = false;
  }
}

const EMPTY = Buffer.alloc(0);

/** `piece` with each run of NULs made one NUL (none at its start when the line so far ends in one). */
function collapseNuls(piece: Buffer, afterNul: boolean): Buffer {
  const out = Buffer.allocUnsafe(piece.length);
  let length = 0;
  let previousNul = afterNul;
  let at = 0;
  while (at < piece.length) {
    const nul = piece.indexOf(0, at);
    const stop = nul < 0 ? piece.length : nul;
    if (stop > at) {
      piece.copy(out, length, at, stop);
      length += stop - at;
      previousNul = false;
    }
    if (nul < 0) break;
    if (!previousNul) out[length++] = 0;
    previousNul = true;
    at = nul + 1;
    while (at < piece.length && piece[at] === 0) at++;
  }
  return out.subarray(0, length);
}

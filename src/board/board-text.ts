// The board's text with its line starts, so that lines are sliced on demand instead of split up
// front: a write of a 10,000-task board touches a handful of lines, and copying the rest as a few
// large slices is far cheaper than 14,000 small strings in cold JavaScript.
//
// Lines end in LF or CRLF here. A board whose lines end in a bare CR reaches this class with them
// already shown as LF or CRLF (board-bytes.ts, which turns them back on the way out).

export class BoardText {
  readonly text: string;
  private lineStarts: Int32Array | undefined;

  constructor(text: string) {
    this.text = text;
  }

  /** Offsets where each line starts (index 0 is line 1). Computed on first use. */
  get starts(): Int32Array {
    if (this.lineStarts) return this.lineStarts;
    const { text } = this;
    // One pass; the array grows by doubling (a board line averages well over 32 characters).
    let starts = new Int32Array(Math.max(16, text.length >> 5));
    let count = text.length === 0 ? 0 : 1;
    for (let at = text.indexOf('\n'); at >= 0 && at + 1 < text.length; at = text.indexOf('\n', at + 1)) {
      if (count === starts.length) {
        const grown = new Int32Array(starts.length * 2);
        grown.set(starts);
        starts = grown;
      }
      starts[count++] = at + 1;
    }
    this.lineStarts = starts.subarray(0, count);
    return this.lineStarts;
  }

  get count(): number {
    return this.starts.length;
  }

  /** Offset just past line n, its line end included. */
  end(n: number): number {
    return n < this.count ? this.starts[n]! : this.text.length;
  }

  /** Line n (1-based) without its line end. */
  line(n: number): string {
    const start = this.starts[n - 1]!;
    let end = this.end(n);
    if (end > start && this.text.charCodeAt(end - 1) === 10) end--;
    if (end > start && this.text.charCodeAt(end - 1) === 13) end--;
    return this.text.slice(start, end);
  }

  /** The line end of line n: '\n', '\r\n', or '' for a last line without one. */
  eol(n: number): string {
    const end = this.end(n);
    if (end === 0 || this.text.charCodeAt(end - 1) !== 10) return '';
    return end >= 2 && this.text.charCodeAt(end - 2) === 13 && end - 2 >= this.starts[n - 1]! ? '\r\n' : '\n';
  }

  /** Lines from..to (inclusive) without their line ends. */
  slice(from: number, to: number): string[] {
    const lines: string[] = [];
    for (let n = from; n <= to; n++) lines.push(this.line(n));
    return lines;
  }

  /** The file's first line end, which new lines copy; LF for a file without one. */
  get newline(): string {
    const at = this.text.indexOf('\n');
    return at > 0 && this.text.charCodeAt(at - 1) === 13 ? '\r\n' : '\n';
  }
}

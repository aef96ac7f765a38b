// Which block is still open at the end of a stretch of free text: a fence, an HTML comment or an
// HTML block that a new line written after it would fall into. A task added there would be
// written (and, derived from the edit, even cached) but never read back, and the next `add`
// would hand out its ID again. Used by edits to choose where new lines go.
//
// The stretch must start at the top level of the document (after a heading, or at the start),
// and the answer errs on the side of "open": a fence-like line indented inside a list item counts
// too, and every other HTML start is taken to run to the next blank line (CommonMark's types 6
// and 7). A false "open" only moves a new task to a safer place.
import type { BoardText } from './board-text.js';

export interface OpenBlock {
  /** The line that opened it. */
  line: number;
  what: string;
}

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})(.*)$/s;
const FENCE_CLOSE = /^ {0,3}(`{3,}|~{3,})[ \t]*$/;
/** CommonMark HTML blocks 1-5: they end only at their end marker, across blank lines. */
const HTML_UNTIL_MARKER: [start: RegExp, end: RegExp, what: string][] = [
  [/^<(?:script|pre|style|textarea)(?:[ \t>]|$)/i, /<\/(?:script|pre|style|textarea)>/i, 'HTML block'],
  [/^<!--/, /-->/, 'HTML comment'],
  [/^<\?/, /\?>/, 'HTML block'],
  [/^<![A-Za-z]/, />/, 'HTML block'],
  [/^<!\[CDATA\[/, /\]\]>/, 'CDATA block'],
];

/** The block open after line `to`, reading from line `from` (a top-level start), or null. */
export function openBlockAt(source: BoardText, from: number, to: number): OpenBlock | null {
  let fence: { char: string; length: number; line: number } | null = null;
  let html: { end: RegExp | null; line: number; what: string } | null = null;
  for (let n = from; n <= to; n++) {
    const text = source.line(n);
    if (fence) {
      const close = FENCE_CLOSE.exec(text);
      if (close && close[1]![0] === fence.char && close[1]!.length >= fence.length) fence = null;
      continue;
    }
    if (html) {
      if (html.end ? html.end.test(text) : text.trim() === '') html = null;
      continue;
    }
    if (/^ {0,3}\S/.test(text) === false) continue; // blank, indented code or an item's body
    const trimmed = text.trimStart();
    const open = FENCE_OPEN.exec(text);
    if (open && !(open[1]![0] === '`' && open[2]!.includes('`'))) {
      fence = { char: open[1]![0]!, length: open[1]!.length, line: n };
      continue;
    }
    if (!trimmed.startsWith('<')) continue;
    const marked = HTML_UNTIL_MARKER.find(([start]) => start.test(trimmed));
    if (marked) {
      // The end may be on the opening line itself (`<!-- note -->`); `<!-->` is a whole comment.
      const rest = marked[2] === 'HTML comment' ? trimmed.slice(2) : trimmed.slice(1);
      if (!marked[1].test(rest)) html = { end: marked[1], line: n, what: marked[2] };
    } else {
      html = { end: null, line: n, what: 'HTML block' };
    }
  }
  if (fence) return { line: fence.line, what: `code fence ${fence.char.repeat(fence.length)}` };
  return html;
}

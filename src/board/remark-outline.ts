// The reference reading of a board: remark (mdast with GFM task items) decides what is a
// heading and what is a top-level task item, and node positions say which lines each owns.
// The fast scanner must agree with this wherever it answers; where it does not answer, this is
// what guild-fs uses. Loaded only then: it is built into a bundle of its own.
import type { Heading, List, ListItem, Nodes, Root, RootContent } from 'mdast';
import remarkGfm from 'remark-gfm';
import remarkParse from 'remark-parse';
import { unified } from 'unified';
import type { BoardOutline } from './types.js';

export function remarkOutline(lines: string[], firstLine: number): BoardOutline {
  // Front matter lines are blanked rather than cut so that positions stay file line numbers.
  const source = lines.map((line, index) => (index < firstLine - 1 ? '' : asMarkdown(line))).join('\n');
  const outline: BoardOutline = { headings: [], items: [] };
  for (const node of parseTree(source).children) visitTopLevel(node, source, lines, 0, outline);
  return outline;
}

export interface RegionReading {
  /** Headings and items from `start` up to (not including) `next`. */
  outline: BoardOutline;
  /** Where the next top-level block after `declined` begins: the scanner takes over there. */
  next: number | null;
  /** Lines handed to remark, counting each attempt: what the fallback cost. */
  read: number;
}

/**
 * Reads the stretch from `start` (a top-level start, as the scanner reports it) until the first
 * top-level block that begins after line `declined`. The stretch is read in growing chunks, so
 * that one construct the scanner does not model costs a parse of that construct, not of the board.
 * `check` is called on each line before remark sees it (the nesting limit lives with the caller).
 */
export function remarkRegion(lines: string[], start: number, declined: number, check: (from: number, to: number) => void): RegionReading {
  let read = 0;
  let checked = start - 1;
  for (let size = 64; ; size *= 4) {
    const end = Math.min(lines.length, Math.max(declined, start) + size);
    check(checked + 1, end);
    checked = end;
    const source = lines.slice(start - 1, end).map(asMarkdown).join('\n');
    read += end - start + 1;
    const tree = parseTree(source);
    const offset = start - 1;
    // A top-level block that begins after the declined line is where the scanner can start
    // again. Where a block begins depends only on the lines above it (a line below can turn a
    // paragraph into a setext heading or a table, but not move its start), so the lines before it
    // read here exactly as in a parse of the whole board. An item of a top-level list begins a
    // block too: list boundaries do not matter to the outline, only top-level items do.
    let next: number | null = null;
    for (const node of tree.children) {
      const starts = node.type === 'list' ? (node as List).children.map((item) => item.position!.start.line) : [node.position!.start.line];
      next = starts.map((line) => line + offset).find((line) => line > declined) ?? null;
      if (next !== null) break;
    }
    if (next === null && end < lines.length) continue;
    const outline: BoardOutline = { headings: [], items: [] };
    for (const node of tree.children) visitTopLevel(node, source, lines, offset, outline);
    const before = (line: number): boolean => next === null || line < next;
    outline.headings = outline.headings.filter((heading) => before(heading.line));
    outline.items = outline.items.filter((item) => before(item.line));
    return { outline, next, read };
  }
}

// A lone CR is a line ending to Markdown but not to the board, whose lines end only at LF: as a
// space it keeps remark's line numbers equal to the file's.
function asMarkdown(line: string): string {
  return line.replace(/\r/g, ' ');
}

/**
 * The outline needs only block structure (headings, list items and their task checks), never
 * what is inside a line. micromark's inline constructs that look for a partner further along the
 * line (emphasis, links, strikethrough, footnote calls, inline code and HTML, autolinks) cost a
 * line's length for each opener it holds: quadratic on one long line of `*a` or `[ ]`, tens of
 * seconds at 80,000 characters. Switched off, each line costs its length. The task check
 * (`tasklistCheck`), escapes and references stay: they decide nothing beyond the next few bytes.
 */
const INLINE_ONLY: string[] = ['attention', 'autolink', 'codeText', 'htmlText', 'labelStartImage', 'labelStartLink', 'labelEnd', 'strikethrough', 'gfmFootnoteCall', 'gfmPotentialFootnoteCall', 'wwwAutolink', 'protocolAutolink', 'emailAutolink'];

function parseTree(source: string): Root {
  const processor = unified().use(remarkParse).use(remarkGfm);
  const data = processor.data();
  data.micromarkExtensions = [...(data.micromarkExtensions ?? []), { disable: { null: INLINE_ONLY } }];
  return processor.parse(source) as Root;
}

function visitTopLevel(node: RootContent, source: string, lines: string[], offset: number, outline: BoardOutline): void {
  if (node.type === 'heading') {
    const heading = node as Heading;
    const line = heading.position!.start.line + offset;
    outline.headings.push({ line, depth: heading.depth, text: headingText(heading, source) });
    return;
  }
  if (node.type !== 'list') return;
  for (const item of (node as List).children as ListItem[]) {
    if (typeof item.checked !== 'boolean') continue;
    const line = item.position!.start.line + offset;
    // Blank lines at the end of an item (kept in a fence left open in its body) are not the task's.
    let endLine = lastLine(item) + offset;
    while (endLine > line && /^[ \t\r]*$/.test(lines[endLine - 1]!)) endLine--;
    outline.items.push({ line, endLine, checked: item.checked });
  }
}

/**
 * The last line a node owns. Not simply position.end: a block that runs to the end of its
 * container without closing (a fence or an HTML block left open in a task's body) ends at
 * column 1 of the next line, and its list item's end can even point into the next item's marker.
 * The last child's content is what the item really owns.
 */
function lastLine(node: Nodes): number {
  const start = node.position!.start.line;
  const children = 'children' in node ? (node.children as Nodes[]) : [];
  const last = children[children.length - 1];
  if (last && (node.type === 'listItem' || node.type === 'list' || node.type === 'blockquote')) return Math.max(start, lastLine(last));
  const end = node.position!.end;
  return end.column === 1 && end.line > start ? end.line - 1 : end.line;
}

/**
 * The heading's source text without markers, as the scanner sees it: from its first inline
 * child to its last, raw (escapes and all). Setext lines are trimmed and joined with a space.
 */
function headingText(heading: Heading, source: string): string {
  const first = heading.children[0];
  const last = heading.children[heading.children.length - 1];
  if (!first || !last) return '';
  return source
    .slice(first.position!.start.offset, last.position!.end.offset)
    .split('\n')
    .map((line) => line.trim())
    .join(' ')
    .trim();
}

// The reference reading of a board: remark (mdast with GFM task items) decides what is a
// heading and what is a top-level task item, and node positions say which lines each owns.
// The fast scanner must agree with this wherever it answers; where it does not answer, this is
// what guild-fs uses. Loaded only then: it is built into a bundle of its own.
import type { Heading, List, ListItem, Root, RootContent } from 'mdast';
import remarkGfm from 'remark-gfm';
import remarkParse from 'remark-parse';
import { unified } from 'unified';
import type { BoardOutline } from './types.js';

export function remarkOutline(lines: string[], firstLine: number): BoardOutline {
  // Front matter lines are blanked rather than cut so that positions stay file line numbers.
  const source = lines.map((line, index) => (index < firstLine - 1 ? '' : line)).join('\n');
  const tree = unified().use(remarkParse).use(remarkGfm).parse(source) as Root;
  const outline: BoardOutline = { headings: [], items: [] };
  for (const node of tree.children) visitTopLevel(node, lines, outline);
  return outline;
}

function visitTopLevel(node: RootContent, lines: string[], outline: BoardOutline): void {
  if (node.type === 'heading') {
    const heading = node as Heading;
    const line = heading.position!.start.line;
    outline.headings.push({ line, depth: heading.depth, text: headingText(heading, lines) });
    return;
  }
  if (node.type !== 'list') return;
  for (const item of (node as List).children as ListItem[]) {
    if (typeof item.checked !== 'boolean') continue;
    outline.items.push({ line: item.position!.start.line, endLine: item.position!.end.line, checked: item.checked });
  }
}

/** The heading's source text without markers, as the scanner sees it (setext underlines are not text). */
function headingText(heading: Heading, lines: string[]): string {
  const start = heading.position!.start;
  const end = heading.position!.end;
  if (start.line !== end.line) {
    // A setext heading: its text lines are all but the underline.
    return lines
      .slice(start.line - 1, end.line - 1)
      .map((line) => line.trim())
      .join(' ');
  }
  const text = lines[start.line - 1]!;
  return text
    .replace(/^ {0,3}#{1,6}(?=[ \t]|$)/, '')
    .replace(/[ \t]+#+[ \t]*$/, '')
    .replace(/^[ \t]*#+[ \t]*$/, '')
    .trim();
}

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
  // A lone CR is a line ending to Markdown but not to the board, whose lines end only at LF: as
  // a space it keeps remark's line numbers equal to the file's.
  const source = lines.map((line, index) => (index < firstLine - 1 ? '' : line.replace(/\r/g, ' '))).join('\n');
  const tree = unified().use(remarkParse).use(remarkGfm).parse(source) as Root;
  const outline: BoardOutline = { headings: [], items: [] };
  for (const node of tree.children) visitTopLevel(node, source, lines, outline);
  return outline;
}

function visitTopLevel(node: RootContent, source: string, lines: string[], outline: BoardOutline): void {
  if (node.type === 'heading') {
    const heading = node as Heading;
    const line = heading.position!.start.line;
    outline.headings.push({ line, depth: heading.depth, text: headingText(heading, source) });
    return;
  }
  if (node.type !== 'list') return;
  for (const item of (node as List).children as ListItem[]) {
    if (typeof item.checked !== 'boolean') continue;
    const line = item.position!.start.line;
    // Blank lines at the end of an item (kept in a fence left open in its body) are not the task's.
    let endLine = lastLine(item);
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

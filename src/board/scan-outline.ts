// The fast path: a line scanner for the Markdown a board is made of. remark is the reference
// for what a board means, but a full mdast parse of a 10,000-task board costs over a second,
// many times a whole `claim`. So this scanner understands the subset boards are written in
// (ATX headings, top-level bullet items and what is indented under them, fenced and indented
// code, HTML comments, paragraphs and tables) and returns null at the first construct whose
// meaning depends on rules it does not model (lazy continuation lines, setext headings, block
// quotes, raw HTML, ordered lists, tabs in indentation, a task's first paragraph that a line
// under it could turn into a heading or a table, lone CRs). The caller then asks remark, but only
// about the stretch that holds it: the scanner says from which line its reading can no longer be
// trusted (the last line where a top-level block began with nothing left open), and takes over
// again where remark shows the next top-level block beginning (see parse-board.ts).
// test/board-differential.test.ts checks that whenever this returns an outline, remark agrees.
import { trimmedEnd } from './task-line.js';
import type { BoardOutline, OutlineHeading, OutlineItem } from './types.js';

// Only the opening is a pattern: the text and its closing #s are cut off in code (atxHeading),
// because a lazy text before optional [ \t]+#+ and [ \t]*$ backtracks quadratically on a long
// run of spaces (a 40,000-space heading cost two seconds).
const ATX_OPEN = /^ {0,3}(#{1,6})(?=[ \t]|$)/;
const FENCE_OPEN = /^( {0,3})(`{3,}|~{3,})(.*)$/s;
const BULLET = /^( {0,3})([-*+])( +)(\S.*)?$/s;
const ORDERED = /^ {0,3}\d{1,9}[.)](?: |$)/;
const THEMATIC = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const SETEXT_UNDERLINE = /^ {0,3}(?:=+|-+)[ \t]*$/;
const TASK_CHECKBOX = /^\[([ xX])\][ \t]+\S/;
/** A box with nothing after it: GFM makes it a task only if the paragraph goes on below. */
const BARE_CHECKBOX = /^\[[ xX]\][ \t]*$/;
/** What could be a table's delimiter row (a superset: cell counts are not checked). */
const TABLE_DELIMITER = /^ {0,3}[-:|][-:| \t]*$/;
/** A list item with text, a block quote, an HTML comment: each may interrupt a paragraph. */
const INTERRUPTING_START = /^ {0,3}(?:[-*+] +\S|>|<!--)/;

interface OpenItem {
  line: number;
  endLine: number;
  contentColumn: number;
  checked: boolean | null;
  blankSeen: boolean;
  /** The paragraph that holds the checkbox may still be open: no blank line since the item began. */
  firstParagraph: boolean;
  /** A code fence opened in the item's body and not closed yet. */
  fence: { char: string; length: number } | null;
}

export function scanOutline(lines: string[], firstLine: number): BoardOutline | null {
  const scan = scanFrom(lines, firstLine);
  return scan.restart === null ? scan.outline : null;
}

export interface ScanResult {
  /** Headings and items before `restart` (all of them when the scanner read to the end). */
  outline: BoardOutline;
  /** null when the scanner read to the end; else the line remark must read from. */
  restart: number | null;
  /** The line the scanner could not read (the last line when a fence or comment is never closed). */
  declined: number;
  /**
   * An item's body opened a code fence the item's end closed. The reading is right, but the task
   * moved elsewhere takes its open fence along, and what follows it there may close the fence
   * instead (and turn the lines after into tasks): edits of such a board are read back.
   */
  bodyFenceLeftOpen: boolean;
}

/**
 * Reads from line `from`, which must begin a top-level block with nothing open before it. On a
 * construct it does not model, returns what it read before the last such line, and that line.
 */
export function scanFrom(lines: string[], from: number): ScanResult {
  const headings: OutlineHeading[] = [];
  const items: OutlineItem[] = [];
  let item: OpenItem | null = null;
  let fence: { char: string; length: number } | null = null;
  let htmlComment = false;
  let paragraph = false;
  let previousBlank = true;
  // The last line where a top-level block began with no fence, comment or item open: remark,
  // started there, reads the rest exactly as it would reading from the top.
  let restart = from;
  let bodyFenceLeftOpen = false;
  const decline = (line: number): ScanResult => ({
    outline: { headings: headings.filter((h) => h.line < restart), items: items.filter((i) => i.line < restart) },
    restart,
    declined: line,
    bodyFenceLeftOpen,
  });

  const closeItem = (): void => {
    if (item && item.checked !== null) items.push({ line: item.line, endLine: item.endLine, checked: item.checked });
    if (item?.fence && item.checked !== null) bodyFenceLeftOpen = true;
    item = null;
  };

  for (let index = from - 1; index < lines.length; index++) {
    const text = lines[index]!;
    const lineNo = index + 1;
    // A CR inside a line (the LF split already took CRLF apart) ends a line for Markdown but not
    // for the board: let remark, which is told to read it as a space, judge.
    if (text.includes('\r')) return decline(lineNo);

    if (fence) {
      if (closesFence(text, fence)) fence = null;
      continue;
    }
    if (htmlComment) {
      if (text.includes('-->')) htmlComment = false;
      continue;
    }
    const blankBefore = previousBlank;
    previousBlank = isBlank(text);
    if (previousBlank) {
      if (item) {
        item.blankSeen = true;
        item.firstParagraph = false;
      }
      paragraph = false;
      continue;
    }
    const indent = leadingSpaces(text);
    if (indent < 0) return decline(lineNo); // a tab in the indentation: columns need CommonMark's tab stops

    if (item) {
      if (indent >= item.contentColumn) {
        // The paragraph holding the checkbox becomes a setext heading over `  ---` or `  ===`, and
        // the task line a table header over a delimiter row right under it: then the item is no
        // task at all. Rare: remark decides. (A table further down the body leaves the task be.)
        if (item.firstParagraph && item.checked !== null) {
          const rest = text.slice(item.contentColumn);
          if (SETEXT_UNDERLINE.test(rest) || (item.endLine === item.line && TABLE_DELIMITER.test(rest))) return decline(lineNo);
        }
        item.endLine = lineNo;
        item.blankSeen = false;
        trackBodyFence(item, text.slice(item.contentColumn));
        continue;
      }
      // Not indented enough to belong to the item. Right after its text, a line that starts no
      // block of its own would be a lazy continuation of the item's paragraph.
      if (!item.blankSeen && !startsBlock(text)) return decline(lineNo);
      closeItem();
    }

    if (indent >= 4) {
      // Paragraph continuation or an indented code block: free text either way.
      continue;
    }
    if (paragraph && SETEXT_UNDERLINE.test(text)) return decline(lineNo);
    // After a blank line, or on a line that interrupts whatever came before, a block begins here.
    if (blankBefore || interrupts(text)) restart = lineNo;

    const atx = atxHeading(text);
    if (atx) {
      headings.push({ line: lineNo, ...atx });
      paragraph = false;
      continue;
    }
    const fenceOpen = FENCE_OPEN.exec(text);
    if (fenceOpen) {
      const marker = fenceOpen[2]!;
      if (marker[0] === '`' && fenceOpen[3]!.includes('`')) return decline(lineNo);
      fence = { char: marker[0]!, length: marker.length };
      paragraph = false;
      continue;
    }
    if (THEMATIC.test(text)) {
      paragraph = false;
      continue;
    }
    const trimmed = text.trimStart();
    if (trimmed.startsWith('<!--')) {
      // `<!-->` and `<!--->` are whole comments (CommonMark 0.31), so look from the first dash.
      htmlComment = !trimmed.includes('-->', 2);
      paragraph = false;
      continue;
    }
    if (trimmed.startsWith('<') || trimmed.startsWith('>') || ORDERED.test(text)) return decline(lineNo);

    const bullet = BULLET.exec(text);
    if (bullet) {
      const spaces = bullet[3]!.length;
      const content = bullet[4];
      // An empty item, or one whose text is an indented code block, follows other rules.
      if (content === undefined || spaces > 4) return decline(lineNo);
      if (BARE_CHECKBOX.test(content)) return decline(lineNo);
      const checkbox = TASK_CHECKBOX.exec(content);
      item = {
        line: lineNo,
        endLine: lineNo,
        contentColumn: bullet[1]!.length + 1 + spaces,
        checked: checkbox ? checkbox[1] !== ' ' : null,
        blankSeen: false,
        firstParagraph: true,
        fence: null,
      };
      paragraph = false;
      continue;
    }
    if (trimmed.startsWith('-') || trimmed.startsWith('*') || trimmed.startsWith('+')) {
      // "-foo" is a paragraph, but "-" alone or "-\t" are not things this scanner judges.
      if (/^[-*+](\s|$)/.test(trimmed)) return decline(lineNo);
    }
    paragraph = true;
  }
  if (fence || htmlComment) {
    // Unclosed: remark runs them to the end of the document too, but let it be the judge.
    return decline(lines.length);
  }
  closeItem();
  return { outline: { headings, items }, restart: null, declined: 0, bodyFenceLeftOpen };
}

/** Fences in an item's body, relative to its content column; only whether one is left open matters. */
function trackBodyFence(item: OpenItem, rest: string): void {
  if (item.fence) {
    if (closesFence(rest, item.fence)) item.fence = null;
    return;
  }
  const open = FENCE_OPEN.exec(rest);
  if (open && !(open[2]![0] === '`' && open[3]!.includes('`'))) item.fence = { char: open[2]![0]!, length: open[2]!.length };
}

function isBlank(text: string): boolean {
  return /^[ \t]*$/.test(text);
}

/** Count of leading spaces, or -1 when a tab appears before the first other character. */
function leadingSpaces(text: string): number {
  let i = 0;
  while (i < text.length && text.charCodeAt(i) === 32) i++;
  return text.charCodeAt(i) === 9 ? -1 : i;
}

/**
 * An ATX heading's depth and text, as CommonMark reads it: the text without the spaces around it
 * and without a closing run of #s that follows a space or tab (`## #` is an empty heading, `## a#`
 * is "a#"). Every step is a scan from one end, so a line costs its length.
 */
function atxHeading(line: string): { depth: number; text: string } | null {
  const open = ATX_OPEN.exec(line);
  if (!open) return null;
  let end = trimmedEnd(line);
  let hashes = end;
  while (hashes > open[0].length && line.charCodeAt(hashes - 1) === 35) hashes--;
  const before = line.charCodeAt(hashes - 1);
  if (hashes < end && (before === 32 || before === 9)) end = hashes;
  return { depth: open[1]!.length, text: line.slice(open[0].length, end).trim() };
}

function closesFence(text: string, fence: { char: string; length: number }): boolean {
  const match = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(text);
  return match !== null && match[1]![0] === fence.char && match[1]!.length >= fence.length;
}

/**
 * Lines that begin a block even right under a paragraph, so that remark started on them reads
 * the same as remark started above (raw HTML other than a comment may continue a paragraph, and
 * so may an empty list item).
 */
function interrupts(text: string): boolean {
  // A task line first: that is what most lines of a board are.
  return INTERRUPTING_START.test(text) || ATX_OPEN.test(text) || opensFence(text) || THEMATIC.test(text);
}

/** A backtick fence's info string may not hold a backtick: "``` `x`" is a paragraph. */
function opensFence(text: string): boolean {
  const open = FENCE_OPEN.exec(text);
  return open !== null && !(open[2]![0] === '`' && open[3]!.includes('`'));
}

/** Lines that can interrupt a paragraph, and so cannot be lazy continuation lines. */
function startsBlock(text: string): boolean {
  return (
    ATX_OPEN.test(text) ||
    opensFence(text) ||
    THEMATIC.test(text) ||
    BULLET.test(text) ||
    /^ {0,3}[<>]/.test(text)
  );
}

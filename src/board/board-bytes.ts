// The board's bytes as a JavaScript string and back, losing nothing (issue 11, items 3 and 4).
//
// Any byte of the board that a tool write does not change must survive it, whatever the file's
// encoding. Decoding with Buffer#toString('utf8') turns every byte that is not part of valid
// UTF-8 (a Latin-1 `café` is 63 61 66 e9) into U+FFFD, and the next write stores EF BF BD in its
// place. So each such byte is decoded to a lone surrogate U+DC80..U+DCFF instead (Python's
// "surrogateescape") and encoded back to the very same byte; Buffer.from(text, 'utf8') would turn
// a lone surrogate into EF BF BD, hence an encoder of our own. Valid UTF-8 never decodes to a
// lone surrogate, so the two cannot be confused.
//
// Line ends: the parser knows LF and CRLF. A file whose lines end in a bare CR (CommonMark allows
// it; old Mac editors write it) would be one long line to it: no front matter, no tasks, and an
// `add` would append a second Ready section. So a bare CR is shown to the parser as the line end
// the file does not use, and turned back into a bare CR on the way out:
//   - no bare LF in the file (CR only, or CR beside CRLF): bare CR <-> LF;
//   - bare LF but no CRLF (LF beside CR): bare CR <-> CRLF;
//   - all three kinds in one file: no line end is free to stand for a bare CR; the file is
//     taken as it is (its bare CRs are not line ends to the parser), and still written back
//     byte for byte.
// Both mappings are exact inverses on any file they are chosen for. Which one a text was decoded
// with is not in the text, so a reader hands it on (DecodedBoard.lineEnds) and a writer encodes
// with the one of the file it replaces (see lineEndsAt).
//
// The common board (valid UTF-8, no bare CR) takes a fast path: one native UTF-8 check and one
// native decode, as before.
import { isUtf8 } from 'node:buffer';

/** How a board's bare CRs were shown to the parser: 'as-is' when they were not changed (or there were none). */
export type LineEnds = 'as-is' | 'cr-as-lf' | 'cr-as-crlf';

export interface DecodedBoard {
  text: string;
  lineEnds: LineEnds;
}

/** A board's bytes as text for the parser: every byte kept (see the header), bare CRs shown as line ends. */
export function decodeBoard(bytes: Uint8Array): DecodedBoard {
  const text = decodeLossless(bytes);
  const lineEnds = lineEndsFor(text);
  if (lineEnds === 'as-is') return { text, lineEnds };
  return { text: text.replace(BARE_CR, lineEnds === 'cr-as-lf' ? '\n' : '\r\n'), lineEnds };
}

/** The bytes of a board text decoded with `lineEnds` (or edited from one that was): decodeBoard's inverse. */
export function encodeBoard(text: string, lineEnds: LineEnds = 'as-is'): Buffer {
  if (lineEnds === 'cr-as-lf') text = text.replace(BARE_LF, '\r');
  else if (lineEnds === 'cr-as-crlf') text = text.replace(CRLF, '\r');
  return encodeLossless(text);
}

/** Bytes to text, each byte outside valid UTF-8 as U+DC80..U+DCFF; line ends untouched. */
export function decodeLossless(bytes: Uint8Array): string {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buffer)) return buffer.toString('utf8');
  const parts: string[] = [];
  let run = 0;
  for (let at = 0; at < buffer.length; ) {
    const byte = buffer[at]!;
    if (byte < 0x80) {
      at++;
      continue;
    }
    const length = sequenceLength(buffer, at);
    if (length > 0) {
      at += length;
      continue;
    }
    // Valid stretches are decoded natively; only the stray byte is escaped.
    if (run < at) parts.push(buffer.toString('utf8', run, at));
    parts.push(String.fromCharCode(ESCAPE_BASE + byte));
    run = ++at;
  }
  if (run < buffer.length) parts.push(buffer.toString('utf8', run));
  return parts.join('');
}

/**
 * Text to bytes: decodeLossless's inverse. A lone surrogate that no decode produced (one outside
 * U+DC80..U+DCFF, from a command-line argument, say) has no byte to go back to and is written as
 * U+FFFD, as Buffer.from writes it.
 */
export function encodeLossless(text: string): Buffer {
  if (isWellFormed(text)) return Buffer.from(text, 'utf8');
  // At most 3 bytes per UTF-16 unit (a pair is 4 bytes for 2 units, an escape 1 byte for 1).
  const out = Buffer.allocUnsafe(text.length * 3);
  let length = 0;
  let from = 0;
  for (const match of text.matchAll(LONE_SURROGATE)) {
    const at = match.index!;
    if (from < at) length += out.write(text.slice(from, at), length, 'utf8');
    const unit = text.charCodeAt(at);
    if (unit >= ESCAPE_BASE + 0x80 && unit <= ESCAPE_BASE + 0xff) out[length++] = unit - ESCAPE_BASE;
    else length += out.write('\ufffd', length, 'utf8');
    from = at + 1;
  }
  if (from < text.length) length += out.write(text.slice(from), length, 'utf8');
  return out.subarray(0, length);
}

/**
 * The text with each escaped byte (and any other lone surrogate) as U+FFFD: for a reader that
 * refuses lone surrogates, as YAML does ("non-printable characters"). Only what is parsed, never
 * what is written back: the bytes themselves stay as they are on the board.
 */
export function readableText(text: string): string {
  return isWellFormed(text) ? text : text.replace(LONE_SURROGATE, '\ufffd');
}

/** Whether the text holds a CR that is not part of a CR LF: a bare CR, whatever it stands for. */
export function hasBareCr(text: string): boolean {
  return BARE_CR_ONE.test(text);
}

/** Which stand-in a text's bare CRs take (see the header); 'as-is' for a text without any. */
export function lineEndsFor(text: string): LineEnds {
  // Fast: most boards have no CR at all, and a CRLF board has none that is bare.
  if (text.indexOf('\r') < 0) return 'as-is';
  BARE_CR.lastIndex = 0;
  if (!BARE_CR.test(text)) return 'as-is';
  BARE_LF.lastIndex = 0;
  if (!BARE_LF.test(text)) return 'cr-as-lf';
  return text.includes('\r\n') ? 'as-is' : 'cr-as-crlf';
}

/**
 * The line ends of the board last read at each path in this process. A write replaces only a
 * board whose text it has just read there (board-file.ts checks), so the file it replaces is the
 * one last read, and the new bytes keep its line ends: a CR board stays a CR board.
 */
const lastRead = new Map<string, LineEnds>();

export function noteLineEnds(path: string, lineEnds: LineEnds): void {
  lastRead.set(path, lineEnds);
}

export function lineEndsAt(path: string): LineEnds {
  return lastRead.get(path) ?? 'as-is';
}

/** Byte 0xNN decodes to U+DCNN (only 0x80..0xFF: an ASCII byte is always valid UTF-8). */
const ESCAPE_BASE = 0xdc00;
const BARE_CR = /\r(?!\n)/g;
/** BARE_CR without the g flag, for a plain test (no lastIndex to reset). */
const BARE_CR_ONE = /\r(?!\n)/;
const BARE_LF = /(?<!\r)\n/g;
const CRLF = /\r\n/g;
/** A high surrogate without its low half after it, or a low one without its high half before it. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Node 20 has String#isWellFormed; the TypeScript target here predates its type. */
function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

/**
 * Length of the valid UTF-8 sequence starting at `at` (a byte >= 0x80), or 0. RFC 3629's table:
 * no overlong forms (C0, C1, E0 80..9F, F0 80..8F), no surrogates (ED A0..BF), nothing above
 * U+10FFFF (F4 90.., F5..FF).
 */
function sequenceLength(bytes: Buffer, at: number): number {
  const lead = bytes[at]!;
  const cont = (offset: number, low = 0x80, high = 0xbf): boolean => {
    const byte = bytes[at + offset];
    return byte !== undefined && byte >= low && byte <= high;
  };
  if (lead >= 0xc2 && lead <= 0xdf) return cont(1) ? 2 : 0;
  if (lead >= 0xe0 && lead <= 0xef) {
    const low = lead === 0xe0 ? 0xa0 : 0x80;
    const high = lead === 0xed ? 0x9f : 0xbf;
    return cont(1, low, high) && cont(2) ? 3 : 0;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    const low = lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xf4 ? 0x8f : 0xbf;
    return cont(1, low, high) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

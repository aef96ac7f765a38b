// Control characters in text that guild-fs keeps: the board is read by people and by git (a NUL
// makes git diff ACTIVE_TASKS.md as binary), and the log and the board are read in terminals,
// where an escape sequence from one agent's output would recolour or retitle someone else's.
// Two policies, one character set: text a person or an agent types into a field is refused
// (they can fix it); text taken from an agent's output is cleaned (nobody is there to ask).
import { UsageError } from './errors.js';

/**
 * ESC-introduced sequences: CSI (`ESC [` params, final byte), OSC/DCS/SOS/PM/APC strings (ended
 * by BEL or ST), and the two- or three-byte escapes (`ESC (B`, `ESC =`); then their 8-bit C1
 * forms (U+009B CSI, U+009D OSC, ...).
 */
const ESCAPE_SEQUENCE = new RegExp(
  [
    '\\x1b\\[[\\x30-\\x3f]*[\\x20-\\x2f]*[\\x40-\\x7e]',
    '\\x1b[\\]PX^_][^\\x07\\x1b\\x9c\\n]*(?:\\x07|\\x1b\\\\|\\x9c)?',
    '\\x1b[\\x20-\\x2f]*[\\x30-\\x7e]',
    '\\x9b[\\x30-\\x3f]*[\\x20-\\x2f]*[\\x40-\\x7e]',
    '[\\x90\\x98\\x9d-\\x9f][^\\x07\\x1b\\x9c\\n]*(?:\\x07|\\x1b\\\\|\\x9c)?',
  ].join('|'),
  'g',
);
/** Every C0 control but tab and line feed, DEL, and every C1 control. */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
/**
 * What ends a line on the board. U+2028 and U+2029 do not (Markdown and git read them as text,
 * and a title holding one reads back whole), so they are taken.
 */
const LINE_BREAK = /[\r\n]/;

/**
 * An agent's output as readable text: escape sequences removed, a carriage return keeps what a
 * terminal would show last on that line (a progress bar's final state), other controls dropped.
 */
export function stripTerminalControls(text: string): string {
  return text
    .replace(ESCAPE_SEQUENCE, '')
    .split('\n')
    .map((line) => overwritten(line.replace(/\r+$/, '')))
    .join('\n')
    .replace(CONTROL, '');
}

function overwritten(line: string): string {
  const parts = line.split('\r').filter((part) => part !== '');
  return parts.length > 0 ? parts[parts.length - 1]! : '';
}

export interface TextField {
  /** How the field is named to the user: "the title", "--reason". */
  name: string;
  value: string;
  /** A body may hold line breaks (\n, \r\n, \r); a title may not. */
  lines: 'one' | 'many';
}

/**
 * Refuses a field that holds a control character (tab excepted) or, in a one-line field, a line
 * break. Every text field of every front end passes here, so the CLI and MCP refuse alike.
 */
export function refuseControlCharacters(field: TextField): void {
  // A body's \r\n and lone \r are line ends (the board writes them as \n).
  const value = field.lines === 'many' ? field.value.replace(/\r\n?/g, '\n') : field.value;
  if (field.lines === 'one') {
    const at = value.search(LINE_BREAK);
    if (at >= 0) throw new UsageError(`${field.name} is one line, but it holds a line break (${whereIs(value, at)}); put the rest in the body`, { field: field.name, at });
  }
  // search ignores the g flag and lastIndex: CONTROL serves as it is.
  const at = value.search(CONTROL);
  if (at >= 0) throw new UsageError(`${field.name} holds a control character (${whereIs(value, at)}); text fields take no control characters but tab`, { field: field.name, at });
}

/** "U+0000 at character 3": which character and where, since it cannot be shown as itself. */
function whereIs(value: string, at: number): string {
  const code = value.charCodeAt(at).toString(16).toUpperCase().padStart(4, '0');
  return `U+${code} at character ${at + 1}`;
}

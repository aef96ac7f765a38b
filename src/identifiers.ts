// The shapes of everything guild-fs ever puts into a path, a branch name or a command line.
// The board and the log are untrusted input: nothing from them is used before it passes here.
import { UsageError } from './errors.js';

export const PREFIX_PATTERN = /^[A-Z][A-Z0-9]{0,15}$/;
/**
 * Any well-formed task ID, whatever the board's prefix: a number (no leading zeros: GLD-07 is not
 * GLD-7; nine digits at most) or a hash ID (`ids: hash`), 4 to 12 of A-Z 0-9 starting with a letter,
 * so that the two shapes never read as each other.
 */
export const TASK_ID_PATTERN = /^([A-Z][A-Z0-9]{0,15})-([1-9][0-9]{0,8}|[A-Z][A-Z0-9]{3,11})$/;
/** The part of a hash ID after the dash. */
export const HASH_ID_MIN = 4;
export const HASH_ID_MAX = 12;
/** What may be typed for a hash ID on the command line: the ID or a prefix of it, at least one character after the dash. */
const TYPED_HASH_PATTERN = /^([A-Z][A-Z0-9]{0,15})-([A-Z][A-Z0-9]{0,11})$/;
export const AGENT_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const BRANCH_PATTERN = /^[A-Za-z0-9._/-]{1,200}$/;
export const CAP_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
/** A git remote's name as guild-fs accepts it from the board: it reaches git's argv, so never an option, a path or a URL. */
export const REMOTE_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;

export function isTaskId(value: string): boolean {
  return TASK_ID_PATTERN.test(value);
}

/**
 * Validates a task ID given on the command line; `prefix` is the board's. Typed IDs are taken
 * in any case (`ms-2` is MS-2): prefixes are capitals only, so upper case is the board's case.
 */
export function parseTaskId(typed: string, prefix?: string): string {
  const value = typed.toUpperCase();
  const match = TASK_ID_PATTERN.exec(value);
  if (!match) {
    throw new UsageError(`not a task ID: ${JSON.stringify(typed)} (expected ${prefix ?? 'PREFIX'}-<n>, like ${prefix ?? 'T'}-12, or a hash ID like ${prefix ?? 'T'}-K3F9)`, { value: typed }, 'EBADID');
  }
  if (prefix !== undefined && match[1] !== prefix) {
    throw new UsageError(`not a task ID of this board: ${typed} (this board's IDs look like ${prefix}-<n>)`, { value: typed, prefix }, 'EBADID');
  }
  return value;
}

/** The number of a numeric ID; 0 for a hash ID, which has none. */
export function taskNumber(id: string): number {
  const n = Number(id.slice(id.lastIndexOf('-') + 1));
  return Number.isInteger(n) ? n : 0;
}

/** An ID of a hash ID's shape: a capital letter right after the dash (never a numeric ID's digit). */
export function isHashShaped(id: string): boolean {
  const first = id.charCodeAt(id.lastIndexOf('-') + 1);
  return first >= 65 && first <= 90;
}

/** A hash ID: a letter after the dash. */
export function isHashId(id: string): boolean {
  return id.lastIndexOf('-') > 0 && isHashShaped(id) && isTaskId(id);
}

/**
 * A task ID typed on the command line, where a hash ID may be shortened to a unique prefix of it.
 * `exact`: the value is a numeric ID, taken as it is without reading the board (a claim by number
 * stays as fast as it was); otherwise it is a hash ID or a prefix of one, for the board to resolve.
 */
export function parseTypedTaskId(typed: string): { value: string; exact: boolean } {
  const value = typed.toUpperCase();
  if (TYPED_HASH_PATTERN.test(value)) return { value, exact: false };
  return { value: parseTaskId(typed), exact: true };
}

/** Agent names become parts of paths and branch names later: refuse anything that could escape. */
export function isAgentName(value: string): boolean {
  return AGENT_PATTERN.test(value) && !/^\.+$/.test(value);
}

export function parseAgentName(value: string, source = '--agent'): string {
  if (!isAgentName(value)) {
    throw new UsageError(
      `bad agent name from ${source}: ${JSON.stringify(value)} (use 1-64 of A-Z a-z 0-9 . _ -, not only dots)`,
      { value },
      'EBADAGENT',
    );
  }
  return value;
}

/** The rules of `git check-ref-format --branch`, for the characters BRANCH_PATTERN lets through. */
export function isBranchName(value: string): boolean {
  if (!BRANCH_PATTERN.test(value) || value === 'HEAD' || value.startsWith('-') || value.includes('..')) return false;
  return value.split('/').every((part) => part !== '' && !part.startsWith('.') && !part.endsWith('.') && !part.endsWith('.lock'));
}

export function parseCaps(value: string, source = '--caps'): string[] {
  const caps = splitList(value);
  for (const cap of caps) {
    if (!CAP_PATTERN.test(cap)) throw new UsageError(`bad capability in ${source}: ${JSON.stringify(cap)}`, { value: cap }, 'EBADCAP');
  }
  return caps;
}

export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

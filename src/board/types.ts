// The board as guild-fs understands it: sections, tasks and the exact source lines they own.
// Line numbers are 1-based, as editors show them; every range is inclusive.
import type { BoardText } from './board-text.js';

export const STATUSES = ['backlog', 'blocked', 'ready', 'in-progress', 'review', 'done', 'failed'] as const;
export type Status = (typeof STATUSES)[number];

export const PRIORITIES = ['critical', 'high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const FIELD_KEYS = ['prio', 'needs', 'caps', 'owner', 'branch', 'tries', 'retry', 'empty'] as const;
export type FieldKey = (typeof FIELD_KEYS)[number];

export interface FieldToken {
  key: FieldKey;
  value: string;
  backticks: boolean;
}

/** What the Markdown structure says, before task lines are read: shared by the scanner and remark. */
export interface BoardOutline {
  headings: OutlineHeading[];
  items: OutlineItem[];
}

export interface OutlineHeading {
  line: number;
  depth: number;
  /** The heading's text as written, without the #s. */
  text: string;
}

/** A top-level list item with a GFM checkbox. */
export interface OutlineItem {
  line: number;
  endLine: number;
  checked: boolean;
}

export interface Section {
  status: Status;
  heading: string;
  line: number;
  /** Last line before the next heading of depth 1 or 2 (or the end of the file). */
  endLine: number;
}

export interface Task {
  /** null for an item typed by hand without an ID; it gets one at the next write. */
  id: string | null;
  title: string;
  status: Status;
  checked: boolean;
  prio: Priority;
  needs: string[];
  caps: string[];
  owner: string | null;
  branch: string | null;
  tries: number;
  retry: string | null;
  /** `empty:ok`: the task may be done with no change (a check, a question); without it a runner's try that changed nothing fails. */
  empty: 'ok' | null;
  line: number;
  endLine: number;
}

export interface Settings {
  guild: number;
  prefix: string;
  lockTtlMs: number;
  maxTries: number;
  retryBaseMs: number;
  review: boolean;
  /** The git remote claims and sync go through (`remote: origin`), or null: this clone alone (SPEC section 7). */
  remote: string | null;
  /** How new tasks get IDs: the next number, or `hash` (`<PREFIX>-<base36>`, for clones that add tasks offline). */
  ids: 'number' | 'hash';
  /** Heading text for each status. */
  headings: Record<Status, string>;
  /** The whole front matter, unknown keys included. */
  raw: Record<string, unknown>;
}

export interface Board {
  file: string;
  text: string;
  /** The text's lines, sliced on demand. */
  source: BoardText;
  /** The line end new lines get: the file's first one, or LF. */
  eol: string;
  settings: Settings;
  /** Lines 1..frontMatterEnd are front matter (0 when there is none). */
  frontMatterEnd: number;
  sections: Section[];
  /** Lines of every heading of depth 1 or 2: where sections end. */
  boundaries: number[];
  tasks: Task[];
  byId: Map<string, Task>;
  /** Which reader understood the Markdown: the fast scanner or the remark fallback. */
  reader: 'scanner' | 'remark' | 'cache';
  /**
   * Remark had to read some of it (a construct the scanner does not model): a tool edit there is
   * checked against a fresh parse before it is written (update-board.ts), and kept by the cache.
   */
  irregular?: boolean;
  /** The text's content key (board-cache.ts), when the reader computed it. */
  key?: string;
}

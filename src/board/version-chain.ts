// One file of kept board versions (board-versions.ts): the first line holds a whole board, each
// later line the hunks from the version before it (line-diff.ts), as JSON, one entry a line:
//
//   {"at":1765120000000,"key":"<sha1>","text":"---\nguild: 1\n..."}
//   {"at":1765120000042,"key":"<sha1>","from":"<sha1>","hunks":[[12,1,["- [ ] GLD-3 ... owner:a1"]]]}
//
// Texts keep every byte: lone surrogates (a byte that is not UTF-8, board-bytes.ts) are written
// by JSON.stringify as \udcNN escapes and come back as themselves. An entry names the version it
// applies to (`from`), so a chain cut short by a crash (a torn last line, a line appended after a
// crash left the index behind) ends at its last whole, connected entry instead of going wrong.
import { readFileSync } from 'node:fs';
import { applyHunks, type Hunk } from './line-diff.js';

export type ChainEntry = { at: number; key: string; text: string } | { at: number; key: string; from: string; hunks: Hunk[] };

/** The entries of a chain up to the first one that is torn, malformed or not connected to the one before. */
export function readChain(path: string): ChainEntry[] {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const entries: ChainEntry[] = [];
  for (const line of raw.split('\n')) {
    const entry = parseEntry(line);
    if (entry === null) break;
    const first = entries.length === 0;
    if (first !== 'text' in entry) break;
    if (!first && (entry as { from: string }).from !== entries[entries.length - 1]!.key) break;
    entries.push(entry);
  }
  return entries;
}

function parseEntry(line: string): ChainEntry | null {
  if (line === '') return null;
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || typeof value.at !== 'number' || typeof value.key !== 'string') return null;
  if (typeof value.text === 'string') return { at: value.at, key: value.key, text: value.text };
  if (typeof value.from === 'string' && Array.isArray(value.hunks) && value.hunks.every(isHunk)) return { at: value.at, key: value.key, from: value.from, hunks: value.hunks as Hunk[] };
  return null;
}

function isHunk(value: unknown): boolean {
  return Array.isArray(value) && value.length === 3 && Number.isInteger(value[0]) && value[0] >= 0 && Number.isInteger(value[1]) && value[1] >= 0 && Array.isArray(value[2]) && value[2].every((line) => typeof line === 'string');
}

export function snapshotLine(at: number, key: string, text: string): string {
  return `${JSON.stringify({ at, key, text })}\n`;
}

export function patchLine(at: number, key: string, from: string, hunks: readonly Hunk[]): string {
  return `${JSON.stringify({ at, key, from, hunks })}\n`;
}

/** The text of entry `upTo` (default: the last) of a chain. */
export function textAt(entries: readonly ChainEntry[], upTo = entries.length - 1): string {
  const lines = (entries[0] as { text: string }).text.split('\n');
  for (let i = 1; i <= upTo; i++) applyHunks(lines, (entries[i] as { hunks: Hunk[] }).hunks);
  return lines.join('\n');
}

/**
 * How far a text is from every version of a chain, in lines added plus lines removed (line
 * multisets, not a diff: an editor's save differs from the version its buffer was loaded from by
 * the person's edit alone). One pass: each version's line counts follow from the last one's by
 * its hunks, so the cost is the first text plus the hunks, not the versions times their size.
 */
export class DistanceScan {
  private readonly wanted = new Map<string, number>();
  /** How many lines the text has: no version whose line count is further off can be closer. */
  readonly size: number;

  constructor(text: string) {
    const lines = text.split('\n');
    this.size = lines.length;
    for (const line of lines) this.wanted.set(line, (this.wanted.get(line) ?? 0) + 1);
  }

  /**
   * Calls `visit(index, distance)` for each entry of the chain, oldest first; returns the lines of
   * its last version (the scan built them anyway: no second replay of the chain for its text).
   */
  scan(entries: readonly ChainEntry[], visit: (index: number, distance: number) => void): string[] {
    if (entries.length === 0) return [];
    const lines = (entries[0] as { text: string }).text.split('\n');
    const have = new Map<string, number>();
    let common = 0;
    const add = (line: string): void => {
      const count = (have.get(line) ?? 0) + 1;
      have.set(line, count);
      if (count <= (this.wanted.get(line) ?? 0)) common++;
    };
    const remove = (line: string): void => {
      const count = have.get(line)!;
      if (count <= (this.wanted.get(line) ?? 0)) common--;
      have.set(line, count - 1);
    };
    for (const line of lines) add(line);
    visit(0, this.size + lines.length - 2 * common);
    for (let i = 1; i < entries.length; i++) {
      const hunks = (entries[i] as { hunks: Hunk[] }).hunks;
      for (let h = hunks.length - 1; h >= 0; h--) {
        const [at, count, insert] = hunks[h]!;
        for (let j = at; j < at + count && j < lines.length; j++) remove(lines[j]!);
        for (const line of insert) add(line);
        lines.splice(at, count, ...insert);
      }
      visit(i, this.size + lines.length - 2 * common);
    }
    return lines;
  }
}

/**
 * What finding a base needs to know of a chain no longer appended to, without reading it: each
 * version's content key and line count, and the chain's size when they were taken (a summary
 * whose size is not the chain's is stale or torn, and is rebuilt from the chain).
 */
export interface ChainSummary {
  size: number;
  keys: string[];
  lines: number[];
}

export function summarize(entries: readonly ChainEntry[], size: number): ChainSummary {
  const keys: string[] = [];
  const lines: number[] = [];
  let count = 0;
  entries.forEach((entry, i) => {
    if (i === 0) count = (entry as { text: string }).text.split('\n').length;
    else for (const [, remove, insert] of (entry as { hunks: Hunk[] }).hunks) count += insert.length - remove;
    keys.push(entry.key);
    lines.push(count);
  });
  return { size, keys, lines };
}

/** The summary in `path` when it is whole and describes a chain of `size` bytes; null otherwise. */
export function readSummary(path: string, size: number): ChainSummary | null {
  let value: Partial<ChainSummary>;
  try {
    value = JSON.parse(readFileSync(path, 'utf8')) as Partial<ChainSummary>;
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || value.size !== size) return null;
  const { keys, lines } = value;
  if (!Array.isArray(keys) || !Array.isArray(lines) || keys.length !== lines.length) return null;
  if (!keys.every((key) => typeof key === 'string') || !lines.every((n) => Number.isInteger(n) && n >= 1)) return null;
  return { size, keys, lines };
}

/**
 * The fewest lines added plus removed between a text of `size` lines and any version of the
 * chain from `from` on: at least the difference in line counts.
 */
export function distanceFloor(summary: ChainSummary, size: number, from = 0): number {
  let floor = Infinity;
  for (let i = from; i < summary.lines.length; i++) floor = Math.min(floor, Math.abs(summary.lines[i]! - size));
  return floor;
}

/** Lines added plus lines removed between two texts (as DistanceScan counts them). */
export function lineDistance(a: string, b: string): number {
  let distance = 0;
  new DistanceScan(a).scan([{ at: 0, key: '', text: b }], (_, d) => (distance = d));
  return distance;
}

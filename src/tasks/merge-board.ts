// The board's merge, task by task. Each task (by ID) is resolved on its own: changed on one side
// only, that side's version; changed on both, part by part (status, title, each field, body),
// and a part changed differently on both sides from the side whose last event for the task is
// later, which the notes say (git shows them on stderr). Then all three versions of the board are
// rewritten, through the same minimal-diff edits every write uses, to hold exactly the resolved
// tasks; git's own three-way merge runs over what is left once the tasks are lifted out, the
// free text, which so merges exactly as git would (conflict markers included, when both sides
// changed the same lines of it); and the tasks go back in ours' layout (merge-layout.ts).
import { decodeLossless, encodeLossless } from '../board/board-bytes.js';
import { BoardEdit } from '../board/edit-board.js';
import { parseBoard } from '../board/parse-board.js';
import { formatTaskLine, parseTaskLine, type FieldChanges } from '../board/task-line.js';
import { STATUSES, type Board, type Status, type Task } from '../board/types.js';
import { GuildError } from '../errors.js';
import { mergeBytes } from '../git/merge-plumbing.js';
import type { AuditEvent } from '../log/event.js';
import { applyEvent, type ReplayedTask } from '../log/replay-log.js';
import { placeTasks, rawLines, skeletonOf, type Skeleton } from './merge-layout.js';
import { mergeTaskFields } from './merge-task-fields.js';
import { placeClashes, resolveSameId, type SameIdClash } from './merge-same-id.js';

/** Each side's events per task, from each side's log, in (ts, id) order. */
export interface SideHistories {
  ours: Map<string, AuditEvent[]>;
  theirs: Map<string, AuditEvent[]>;
}

export interface BoardMergeInput {
  /** The board's path, for messages. */
  file: string;
  base: string;
  ours: string;
  theirs: string;
  /** Read only when some part of a task changed differently on both sides; null when theirs' log cannot be found. */
  histories: (tasks: Set<string>) => Promise<SideHistories | null>;
  /** Decide every clash for this side instead of by the later event (a stale save: the tools' side). */
  preferOnClash?: Side;
  /** Free text changed on both sides at the same place keeps both sides' lines, no conflict (a person's saves merged with each other). */
  unionText?: boolean;
  /** Sides the caller has parsed already (each of exactly that side's text): not parsed again. */
  parsed?: Partial<Record<'base' | Side, Board>>;
}

export interface BoardMerge {
  text: string;
  /** Conflicts left marked in `text` (git's, in free text, or guild-fs's own); 0 when clean. */
  conflicts: number;
  notes: string[];
  /** `text` as a board: parsed to check it reads, when there were no conflicts. */
  board?: Board;
}

interface Version {
  status: Status;
  lines: string[];
}

type Side = 'ours' | 'theirs';

export async function mergeBoards(input: BoardMergeInput): Promise<BoardMerge> {
  const notes: string[] = [];
  const boards: Partial<Record<'base' | Side, Board>> = {};
  for (const side of ['base', 'ours', 'theirs'] as const) {
    try {
      const parsed = input.parsed?.[side];
      boards[side] = parsed !== undefined && parsed.text === input[side] ? parsed : await parseRecent(input.file, input[side]);
    } catch (error) {
      if (!(error instanceof GuildError)) throw error;
      // A board guild-fs cannot read is merged as text: nothing is lost, and git marks what collides.
      notes.push(`${input.file}: ${side === 'base' ? 'the common ancestor' : side}'s board cannot be read (${error.message}); merged as plain text`);
      const merged = await mergeTexts(input.base, input.ours, input.theirs);
      return { ...merged, notes };
    }
  }
  const { base, ours, theirs } = boards as Record<'base' | Side, Board>;
  const resolved = new Map<string, Version | null>();
  const clashes: SameIdClash[] = [];
  const both: string[] = [];

  for (const id of taskIds(ours, theirs, base)) {
    const [b, o, t] = [versionOf(base, id), versionOf(ours, id), versionOf(theirs, id)];
    if (same(o, t) || same(t, b)) resolved.set(id, o);
    else if (same(o, b)) resolved.set(id, t);
    else if (!b && o && t) {
      // Two different tasks given the same ID on two branches: neither may silently replace the
      // other. The one taken further keeps the ID; the other is left for a person (merge-same-id.ts).
      const same = resolveSameId(id, o, t, ours.settings.prefix, input.file, ours.settings.headings);
      resolved.set(id, same.keep);
      clashes.push(same.clash);
      notes.push(same.note);
    } else both.push(id);
  }

  // Changed on both sides: merged part by part (merge-task-fields.ts). Only a task with a part
  // changed differently on both sides needs the histories, to pick the side with the later event.
  const clashing: string[] = [];
  for (const id of both) {
    const [b, o, t] = [versionOf(base, id), versionOf(ours, id), versionOf(theirs, id)];
    const merged = b && o && t ? mergeTaskFields(b, o, t, ours.settings.prefix, input.preferOnClash ?? 'ours') : null;
    if (merged && (merged.clashes.length === 0 || input.preferOnClash)) resolved.set(id, merged.version);
    else clashing.push(id);
  }
  if (clashing.length > 0 && input.preferOnClash) {
    // Deleted on one side, changed on the other: the preferred side, whole.
    for (const id of clashing) resolved.set(id, versionOf(input.preferOnClash === 'ours' ? ours : theirs, id));
  } else if (clashing.length > 0) {
    const histories = await input.histories(new Set(clashing));
    for (const id of clashing) {
      const winner = laterSide(id, histories, notes, input.file);
      const [b, o, t] = [versionOf(base, id), versionOf(ours, id), versionOf(theirs, id)];
      const version = (b && o && t ? mergeTaskFields(b, o, t, ours.settings.prefix, winner)?.version : null) ?? versionOf(winner === 'ours' ? ours : theirs, id);
      resolved.set(id, version && histories ? agreeWithLog(version, id, histories, ours.settings.prefix, input.file) : version);
    }
  }

  // Every side rewritten to hold the resolved tasks, so that sections one side had to add exist on
  // all three alike; then the free text is merged without the tasks, which go back in ours' layout.
  const [baseSkeleton, ourSkeleton, theirSkeleton] = [base, ours, theirs].map((board) => skeletonOf(rewriteTasks(board, resolved)));
  const join = (skeleton: Skeleton): string => skeleton.lines.join('');
  // Changed on one side only: that side, as git's merge would give, without spawning it. (A stale
  // save merged while a person keeps saving runs this on every try, and git's process cost more
  // than the person's pause between saves: issue 20.)
  const merged = sameLines(baseSkeleton!, theirSkeleton!)
    ? { text: join(ourSkeleton!), conflicts: 0 }
    : sameLines(baseSkeleton!, ourSkeleton!)
      ? { text: join(theirSkeleton!), conflicts: 0 }
      : await mergeTexts(join(baseSkeleton!), join(ourSkeleton!), join(theirSkeleton!), { union: input.unionText });
  const text = await placeClashes(input.file, placeTasks(ourSkeleton!, rawLines(merged.text), ours.eol), ours.eol, clashes);
  let conflicts = merged.conflicts + clashes.length;
  let board: Board | undefined;
  if (conflicts === 0) {
    // The edits and git's merge each keep the tasks intact; a board that no longer reads would
    // still be a conflict for a person to look at, never a silent result.
    try {
      board = await parseBoard(input.file, text);
    } catch (error) {
      if (!(error instanceof GuildError)) throw error;
      notes.push(`${input.file}: the merged board cannot be read (${error.message}); left for you to fix`);
      conflicts = 1;
    }
  }
  return { text, conflicts, notes, board };
}

/**
 * A stale save merged while a person keeps saving is merged again on every try of one write
 * (update-board.ts) and of the late-save merge after it: the same base and ours each time, only
 * the person's save new. The boards parsed last are kept, so those two are parsed once per
 * process, not once per try (issue 20). A parse failure is not kept. Sharing is safe: a Board is
 * never changed in place (edits render a new one).
 */
const recentParses = new Map<string, Board>();
const RECENT_PARSES = 6;

async function parseRecent(file: string, text: string): Promise<Board> {
  const key = `${file}\0${text}`;
  const kept = recentParses.get(key);
  if (kept) {
    // Most recently used last: the oldest goes first when the map is full.
    recentParses.delete(key);
    recentParses.set(key, kept);
    return kept;
  }
  const board = await parseBoard(file, text);
  recentParses.set(key, board);
  if (recentParses.size > RECENT_PARSES) recentParses.delete(recentParses.keys().next().value!);
  return board;
}

function taskIds(...boards: Board[]): string[] {
  const ids = new Set<string>();
  for (const board of boards) for (const task of board.tasks) if (task.id !== null) ids.add(task.id);
  return [...ids];
}

function versionOf(board: Board, id: string): Version | null {
  const task = board.byId.get(id);
  return task ? { status: task.status, lines: board.source.slice(task.line, task.endLine) } : null;
}

function same(a: Version | null, b: Version | null): boolean {
  if (!a || !b) return a === b;
  return a.status === b.status && a.lines.length === b.lines.length && a.lines.every((line, i) => line === b.lines[i]);
}

/** The side whose last event for the task is later, by (ts, id) as replay orders events. */
function laterSide(id: string, histories: SideHistories | null, notes: string[], file: string): Side {
  const o = histories?.ours.get(id)?.at(-1);
  const t = histories?.theirs.get(id)?.at(-1);
  const describe = (event: AuditEvent): string => `${event.type} by ${event.agent} at ${event.ts}`;
  if (!histories) {
    notes.push(`${file}: ${id} changed on both branches and their logs cannot be read to tell which change is later; kept ours`);
    return 'ours';
  }
  if (!o && !t) {
    notes.push(`${file}: ${id} changed on both branches and neither log has an event for it; kept ours (run \`guild-fs sync\` after hand edits so that they are recorded)`);
    return 'ours';
  }
  if (o && t && o.id === t.id) {
    notes.push(`${file}: ${id} changed on both branches by hand since its last event (${describe(o)}); kept ours`);
    return 'ours';
  }
  const theirsLater = !o || (t !== undefined && (t.ts > o.ts || (t.ts === o.ts && t.id > o.id)));
  const [winner, loser] = theirsLater ? (['theirs', o] as const) : (['ours', t] as const);
  const event = theirsLater ? t! : o!;
  notes.push(`${file}: ${id} changed on both branches; took ${winner}, whose last event is later (${describe(event)}${loser ? `, against ${describe(loser)}` : ''})`);
  return winner;
}

function sameLines(a: Skeleton, b: Skeleton): boolean {
  return a.lines.length === b.lines.length && a.lines.every((line, i) => line === b.lines[i]);
}

/** The board with every task by ID made equal to its resolved version (or removed). */
function rewriteTasks(board: Board, resolved: Map<string, Version | null>): Board {
  const edit = new BoardEdit(board);
  for (const task of board.tasks) {
    if (task.id === null) continue;
    const want = resolved.get(task.id);
    if (want === undefined) continue;
    if (want === null) edit.remove(task);
    else if (!same(currentVersion(board, task), want)) edit.replace(task, want.status, want.lines);
  }
  for (const [id, want] of resolved) if (want && !board.byId.has(id)) edit.add(want.status, want.lines);
  return edit.changed ? edit.renderBoard() : board;
}

function currentVersion(board: Board, task: Task): Version {
  return { status: task.status, lines: board.source.slice(task.line, task.endLine) };
}

/**
 * The winning version, with the status, owner and tries that both sides' events together replay
 * to. The losing side's events are in the merged log too (a failure's tries, say), and CI's
 * replay --check must agree with the merged board.
 */
function agreeWithLog(version: Version, id: string, histories: SideHistories, prefix: string, file: string): Version {
  const seen = new Set<string>();
  const events = [...(histories.ours.get(id) ?? []), ...(histories.theirs.get(id) ?? [])]
    .filter((event) => !seen.has(event.id) && Boolean(seen.add(event.id)))
    .sort(byTimeAndId);
  const folded = new Map<string, ReplayedTask>();
  events.forEach((event, i) => applyEvent(folded, event, i + 1));
  const replayed = folded.get(id);
  if (!replayed || !(STATUSES as readonly string[]).includes(replayed.status)) return version;
  const status = replayed.status as Status;
  const parsed = parseTaskLine(version.lines[0]!, prefix, file, 1);
  const owner = status === 'in-progress' ? replayed.owner : status === 'ready' || status === 'failed' ? null : undefined;
  const fields: FieldChanges = { tries: replayed.tries > 0 ? String(replayed.tries) : null };
  if (owner !== undefined) fields.owner = owner;
  const first = formatTaskLine(parsed, { checked: status === 'done', fields });
  return { status, lines: [first, ...version.lines.slice(1)] };
}

function byTimeAndId(a: AuditEvent, b: AuditEvent): number {
  return a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The events of the given tasks in a log's text, each task's in (ts, id) order. Lines that do not parse are skipped. */
export function taskEventsOf(logText: string, tasks: Set<string>): Map<string, AuditEvent[]> {
  const found = new Map<string, AuditEvent[]>();
  for (const line of logText.split('\n')) {
    if (line.trim() === '') continue;
    let event: AuditEvent;
    try {
      event = JSON.parse(line);
    } catch {
      continue;
    }
    if (!event || typeof event.task !== 'string' || !tasks.has(event.task) || typeof event.id !== 'string' || typeof event.ts !== 'string') continue;
    if (typeof event.data !== 'object' || event.data === null) event.data = {};
    const list = found.get(event.task) ?? [];
    list.push(event);
    found.set(event.task, list);
  }
  for (const list of found.values()) list.sort(byTimeAndId);
  return found;
}

/** git's merge of three board texts, as the board's own bytes: a Latin-1 byte comes back as itself (board-bytes.ts). */
async function mergeTexts(base: string, ours: string, theirs: string, options: { union?: boolean } = {}): Promise<{ text: string; conflicts: number }> {
  const merged = await mergeBytes(encodeLossless(base), encodeLossless(ours), encodeLossless(theirs), options);
  return { text: decodeLossless(merged.bytes), conflicts: merged.conflicts };
}

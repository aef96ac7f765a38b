// Two branches that each added a task took the same next ID for two different tasks. The board's
// merge keeps one under the ID and leaves the other between conflict markers, for a person to
// look at; what they are told to do (delete the marker lines, run `guild-fs sync`) must then give
// a right board and history:
//   - the task that has been taken further keeps the ID: a claimed task's lock, branch
//     (guild/<ID>-...) and worktree are all named by it, and its events are under it;
//   - the other is left without its ID, between the markers, in its own section (not at the end
//     of the file, where deleting the markers would drop it into whatever section is last), so
//     that sync gives it the next free ID as a fresh task, and then records which of the ID's
//     events were this task's (see sync-board.ts, recordRenumbered);
//   - when both were claimed, ours keeps the ID and the note says the other's owner and branch
//     still name the old ID.
import { parseBoard, splitLines } from '../board/parse-board.js';
import { parseTaskLine } from '../board/task-line.js';
import type { Status } from '../board/types.js';
import { GuildError } from '../errors.js';

export interface TaskVersion {
  status: Status;
  lines: string[];
}

export type Side = 'ours' | 'theirs';

export interface SameIdClash {
  id: string;
  /** The side whose task keeps the ID. */
  kept: Side;
  /** The other side's task, its ID removed. */
  other: TaskVersion;
}

/** Which side keeps the ID, and the note that says what to do with the other. */
export function resolveSameId(id: string, ours: TaskVersion, theirs: TaskVersion, prefix: string, file: string, headings: Record<Status, string>): { keep: TaskVersion; clash: SameIdClash; note: string } {
  const [oursTaken, theirsTaken] = [taken(ours, prefix, file), taken(theirs, prefix, file)];
  const kept: Side = theirsTaken && !oursTaken ? 'theirs' : 'ours';
  const [keep, other] = kept === 'ours' ? [ours, theirs] : [theirs, ours];
  const otherSide = kept === 'ours' ? 'theirs' : 'ours';
  const why = kept === 'theirs' || (oursTaken && !theirsTaken) ? ` (it was claimed: its lock, branch and events are under ${id})` : '';
  const both = oursTaken && theirsTaken ? `; both were claimed: the owner and branch on the line from ${otherSide} still name ${id}, put them right by hand` : '';
  const note =
    `${file}: ${id} was added on both branches as different tasks; the task from ${kept} keeps ${id}${why}, the one from ${otherSide} is left without its ID between conflict markers in ${headings[other.status]}` +
    `: delete the marker lines and run \`guild-fs sync\`, which gives it a new ID${both}`;
  return { keep, clash: { id, kept, other: { status: other.status, lines: withoutId(other.lines, id) } }, note };
}

/** Claimed at some point: an owner, a branch or tries on the line, or a status past Ready. */
function taken(version: TaskVersion, prefix: string, file: string): boolean {
  if (!['backlog', 'blocked', 'ready'].includes(version.status)) return true;
  try {
    return parseTaskLine(version.lines[0]!, prefix, file, 1).fields.some((field) => field.key === 'owner' || field.key === 'branch' || field.key === 'tries');
  } catch {
    return false;
  }
}

function withoutId(lines: readonly string[], id: string): string[] {
  const [first, ...rest] = lines;
  const match = new RegExp(`^([ \\t]*(?:[-*+]|\\d{1,9}[.)])[ \\t]+\\[[ xX]\\][ \\t]+)${id.replace(/[-]/g, '\\-')}(?:[ \\t]+|$)`).exec(first!);
  return [match ? match[1]! + first!.slice(match[0].length) : first!, ...rest];
}

/**
 * The merged text with each clash's conflict block in its task's section, after the section's
 * last task. A merged text that does not read as a board (free-text conflicts of git's own) gets
 * the blocks at its end, as before.
 */
export async function placeClashes(file: string, text: string, eol: string, clashes: readonly SameIdClash[]): Promise<string> {
  if (clashes.length === 0) return text;
  // `heading`: the section's heading, when the merged board has no such section, so that the
  // task lands in its own section once the marker lines are deleted.
  const block = (clash: SameIdClash, heading?: string): string[] => {
    const tag = `(guild-fs: another task given ${clash.id} on the other branch; its ID removed)`;
    const lines = heading === undefined ? clash.other.lines : [`## ${heading}`, ...clash.other.lines];
    return clash.kept === 'ours' ? ['<<<<<<< ours', '=======', ...lines, `>>>>>>> theirs ${tag}`] : [`<<<<<<< ours ${tag}`, ...lines, '=======', '>>>>>>> theirs'];
  };
  let board;
  try {
    board = await parseBoard(file, text);
  } catch (error) {
    if (!(error instanceof GuildError)) throw error;
    const gap = text === '' || text.endsWith('\n') ? '' : eol;
    return text + gap + clashes.map((clash) => block(clash).map((line) => line + eol).join('')).join('');
  }
  const { lines, eols } = splitLines(text);
  // After which line (1-based; 0: the very start) each block goes; blocks inserted bottom up.
  const places: { after: number; lines: string[] }[] = [];
  for (const clash of clashes) {
    const section = board.sections.find((s) => s.status === clash.other.status);
    if (!section) {
      places.push({ after: lines.length, lines: block(clash, board.settings.headings[clash.other.status]) });
      continue;
    }
    const inSection = board.tasks.filter((task) => task.line > section.line && task.line <= section.endLine);
    const after = inSection.length > 0 ? Math.max(...inSection.map((task) => task.endLine)) : section.line;
    places.push({ after, lines: block(clash) });
  }
  places.sort((a, b) => b.after - a.after);
  for (const place of places) {
    // The line before the block keeps its own end; a last line without one gets the file's.
    if (place.after > 0 && eols[place.after - 1] === '') eols[place.after - 1] = eol;
    lines.splice(place.after, 0, ...place.lines);
    eols.splice(place.after, 0, ...place.lines.map(() => eol));
  }
  return lines.map((line, i) => line + eols[i]).join('');
}

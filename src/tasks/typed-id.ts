// A task ID as a person types it. Hash IDs (`ids: hash`) are random, so a unique prefix of one
// is enough: GLD-K3 for GLD-K3F9 when no other task's ID starts with GLD-K3.
import type { Board } from '../board/types.js';
import { UsageError } from '../errors.js';
import { isTaskId, parseTypedTaskId } from '../identifiers.js';

/** Candidates an ambiguous prefix names in its message; --json's data has them all. */
const LISTED = 10;

/**
 * The board's ID for `typed`: a numeric ID as typed (callers skip the board read for those: see
 * parseTypedTaskId); a hash ID when it is one on the board; else the one task whose ID starts with
 * it. Several: a usage error naming them (EAMBIGUOUS). None: another board's prefix is a bad ID, as
 * a number with one is; a well-formed ID is returned as it is, for the command to say there is no
 * such task as it always did; a shorter prefix, no ID at all, is a bad ID as it always was.
 */
export function resolveTypedId(board: Board, typed: string): string {
  const { value, exact } = parseTypedTaskId(typed);
  if (exact || board.byId.has(value)) return value;
  const candidates: string[] = [];
  for (const id of board.byId.keys()) if (id.startsWith(value)) candidates.push(id);
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length > 1) {
    candidates.sort();
    const shown = candidates.slice(0, LISTED).join(', ') + (candidates.length > LISTED ? `, and ${candidates.length - LISTED} more` : '');
    throw new UsageError(`ambiguous task ID ${typed}: ${candidates.length} tasks' IDs start with it (${shown}); type more of it`, { value: typed, candidates }, 'EAMBIGUOUS');
  }
  const prefix = board.settings.prefix;
  if (!value.startsWith(`${prefix}-`)) {
    throw new UsageError(`not a task ID of this board: ${typed} (this board's IDs look like ${prefix}-<n> or ${prefix}-K3F9)`, { value: typed, prefix }, 'EBADID');
  }
  if (isTaskId(value)) return value;
  // What it was before hash IDs: not an ID (GLD-X is no more a task's ID than it was).
  throw new UsageError(`not a task ID: ${typed} (no task's ID starts with it; IDs look like ${prefix}-<n> or ${prefix}-K3F9)`, { value: typed }, 'EBADID');
}

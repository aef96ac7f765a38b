// A task ID as a person types it. Hash IDs (`ids: hash`) are random, so a unique prefix of one
// is enough: GLD-K3 for GLD-K3F9 when no other task's ID starts with GLD-K3.
import type { Board } from '../board/types.js';
import { NoSuchTaskError, UsageError } from '../errors.js';
import { isTaskId, parseTypedTaskId } from '../identifiers.js';

/** Candidates an ambiguous prefix names in its message; --json's data has them all. */
const LISTED = 10;

/**
 * The board's ID for `typed`: a numeric ID as typed (callers skip the board read for those: see
 * parseTypedTaskId); a hash ID when it is one on the board; else the one task whose ID starts with
 * it. Several: a usage error naming them (EAMBIGUOUS). None: a well-formed ID is returned as it is,
 * for the command to say there is no such task as it always did; a shorter prefix is no such task.
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
  if (isTaskId(value)) return value;
  throw new NoSuchTaskError(value, { typed });
}

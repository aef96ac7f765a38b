// The board against the claims: after a sync, a task the board shows In Progress whose claim is
// gone everywhere (no claim ref on the remote, no lock in this clone) has lost its claimant, or
// the claim was never made through the remote. Which of the two, and whether the work goes on
// somewhere, cannot be known from here: such tasks are reported, never moved. heal (for a lock
// this clone held) and a person decide.
import type { Board } from '../board/types.js';

/** The tasks with a claim ref on the remote, in any state (a Set, or the listing's Map). */
export interface ClaimedOnRemote {
  has(id: string): boolean;
}

export interface OrphanedTask {
  id: string;
  title: string;
  owner: string | null;
}

/**
 * Tasks In Progress on `board` with neither a remote claim ref nor a lock held here, in board
 * order. A claim ref in any state counts: a 'done' one means the claimant finished and the board
 * has not caught up yet, not that the task is orphaned.
 */
export function reconcileClaims(board: Pick<Board, 'tasks'>, remoteClaims: ClaimedOnRemote, heldHere: (id: string) => boolean): OrphanedTask[] {
  const orphaned: OrphanedTask[] = [];
  for (const task of board.tasks) {
    if (task.status !== 'in-progress' || task.id === null) continue;
    if (remoteClaims.has(task.id) || heldHere(task.id)) continue;
    orphaned.push({ id: task.id, title: task.title, owner: task.owner });
  }
  return orphaned;
}

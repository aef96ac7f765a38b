// What the daemon does when the board changes (or a retry time comes): the very fix-ups every
// CLI write makes, through the same code, never a second implementation.
//   1. Retries that have come due: a Ready task whose `retry:` time has passed loses the field
//      and `task.retried` is logged, so the board shows it claimable and tools following the log
//      hear of it. (claim already treats a passed retry time as claimable; this records the
//      moment.) Replay folds task.retried to Ready with tries unchanged, which is what it is.
//   2. syncBoard, as `guild-fs sync` runs it: IDs for typed items, ticked boxes to Done,
//      Blocked <-> Ready by needs (task.unblocked / task.blocked), then hand edits recorded.
// Both are idempotent: on a board that needs nothing they neither write nor log. That is how the
// daemon ignores its own writes and those of other guild-fs commands without guessing who wrote.
import { loadBoard, type Guild } from '../tasks/guild.js';
import { syncBoard } from '../history/sync-board.js';
import { updateBoard, type UpdateOptions } from '../tasks/update-board.js';

export interface Reaction {
  /** Events recorded, by type. */
  recorded: Record<string, number>;
  retried: string[];
  /** The earliest retry time still to come, in ms since the epoch, or null. */
  nextRetry: number | null;
}

export async function reactToBoard(guild: Guild, actor: string, options: UpdateOptions = {}): Promise<Reaction> {
  const retried = await retryDueTasks(guild, actor, options);
  // Every write is guarded (update-board.ts): a person saving while the daemon writes keeps their save.
  const synced = await syncBoard(guild, actor, options);
  const recorded = { ...synced.recorded };
  if (retried.length > 0) recorded['task.retried'] = (recorded['task.retried'] ?? 0) + retried.length;
  return { recorded, retried, nextRetry: await nextRetryTime(guild) };
}

/** Clears `retry:` on Ready tasks whose time has come, logging task.retried for each. */
export async function retryDueTasks(guild: Guild, actor: string, options: UpdateOptions = {}): Promise<string[]> {
  const due = (await loadBoard(guild)).tasks.some((task) => isDue(task.status, task.retry, guild.now()));
  // The mutex is taken only when there is something to do: most reactions find nothing due.
  if (!due) return [];
  return updateBoard(guild, actor, 'daemon: retries due', (tx) => {
    const ids: string[] = [];
    for (const task of tx.board.tasks) {
      if (!task.id || !isDue(task.status, task.retry, tx.now)) continue;
      tx.edit.update(task, { fields: { retry: null } });
      tx.emit('task.retried', task.id, { retry: task.retry, tries: task.tries });
      ids.push(task.id);
    }
    return ids;
  }, options);
}

export async function nextRetryTime(guild: Guild): Promise<number | null> {
  let next: number | null = null;
  for (const task of (await loadBoard(guild)).tasks) {
    if (task.status !== 'ready' || task.retry === null) continue;
    const at = Date.parse(task.retry);
    if (!Number.isNaN(at) && (next === null || at < next)) next = at;
  }
  return next;
}

function isDue(status: string, retry: string | null, now: number): boolean {
  if (status !== 'ready' || retry === null) return false;
  const at = Date.parse(retry);
  return !Number.isNaN(at) && at <= now;
}

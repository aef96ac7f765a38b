// sync: record hand edits of the board in the log, so that replay --check passes again.
// First a write with nothing of its own to do: it gives IDs to items typed without one (logging
// task.created), moves ticked boxes to Done (task.completed) and fixes Blocked/Ready placement,
// as every write does. Then the log is replayed and each remaining difference is recorded: a
// task the log never heard of (task.created), a task moved, re-owned or re-tried by hand
// or retitled, re-prioritised, given other needs or caps by hand (task.edited with what
// changed), a task deleted from the board (task.cancelled). A task that the log knows only from
// a fix-up's event (typed by hand with its ID) is created then too, and a task given a new ID
// after two branches used one ID takes its own task.created with it (findRenumbered).
import { statSync } from 'node:fs';
import { readEvents } from '../log/read-events.js';
import { replayLog, type ReplayResult } from '../log/replay-log.js';
import { shapeOf } from '../board/steady-read.js';
import { withBoardMutex } from '../lock/board-mutex.js';
import { markLogAsItIs } from '../log/log-mark.js';
import { boardVersions, loadBoard, type Guild } from '../tasks/guild.js';
import { HUMAN, updateBoard, type Transaction, type UpdateOptions } from '../tasks/update-board.js';

export interface SyncResult {
  /** Events recorded, by type. */
  recorded: Record<string, number>;
  tasks: number;
}

export async function syncBoard(guild: Guild, actor: string, options: UpdateOptions = {}): Promise<SyncResult> {
  const recorded: Record<string, number> = {};
  const count = (type: string): void => void (recorded[type] = (recorded[type] ?? 0) + 1);
  const given: { id: string; title: string }[] = [];
  await updateBoard(guild, actor, 'sync: fix-ups', (tx) => {
    // Nothing of its own: updateBoard's fix-ups are the point. Count what they record.
    tx.beforeCommit((events) => {
      given.length = 0;
      for (const event of events) {
        count(event.type);
        if (event.type === 'task.created' && event.task && typeof event.data.title === 'string') given.push({ id: event.task, title: event.data.title });
      }
    });
  }, options);
  const renumbered = given.length > 0 ? await findRenumbered(guild.logPath, given) : [];
  // The log as it stands after the fix-ups, replayed outside the mutex (it streams). A write
  // landing before the next pass takes the mutex would make its own change look like a hand
  // edit, so the pass checks that the log is still the one replayed, and replays again if not.
  let tasks = 0;
  for (let round = 0; ; round++) {
    // The size before the replay: a log that grows while it is read is replayed again.
    const replayed = logSize(guild.logPath);
    const replay = await replayLog(guild.logPath);
    try {
      await updateBoard(guild, actor, 'sync: hand edits', (tx) => {
        if (round < MAX_REPLAYS && logSize(guild.logPath) !== replayed) throw new LogMoved();
        const local: Record<string, number> = {};
        const note = (type: string): void => void (local[type] = (local[type] ?? 0) + 1);
        tasks = tx.board.tasks.length;
        recordRenumbered(tx, renumbered, actor, note);
        recordHandEdits(tx, replay, actor, note);
        const all = { ...recorded };
        for (const [type, n] of Object.entries(local)) all[type] = (all[type] ?? 0) + n;
        if (Object.keys(all).length > 0) tx.emit('board.synced', undefined, { recorded: all });
        // Counted once the write is made: a write started again counts its own attempt only.
        tx.afterCommit(() => {
          for (const [type, n] of Object.entries(local)) recorded[type] = (recorded[type] ?? 0) + n;
        });
      }, options);
      break;
    } catch (error) {
      if (!(error instanceof LogMoved)) throw error;
    }
  }
  return { recorded, tasks };
}

/** Mismatches between the board and the replayed log, recorded as a person's edits. */
function recordHandEdits(tx: Transaction, replay: ReplayResult, actor: string, note: (type: string) => void): void {
  for (const task of tx.board.tasks) {
    // Given its ID by this very write: the fix-ups logged its task.created already.
    if (task.id === null) continue;
    const id = tx.idOf(task);
    const known = replay.tasks.get(id);
    // As this write leaves it: a hand save landing between the two passes (the daemon meets
    // this) can bring a ticked box that the fix-ups of this write move to Done, logging it.
    const status = tx.edit.statusOf(task);
    // A task typed by hand with its ID is known to the log only through what a write's fix-ups
    // said of it (task.blocked for unmet needs, task.unblocked, task.completed for a ticked box),
    // none of which carries its title or fields: the log never saw it created. Every task.created
    // states a title, so a known task without one is such a task, and is created now.
    if (!known || known.fields.title === null) {
      tx.emit('task.created', id, { title: task.title, status, prio: task.prio, needs: task.needs, caps: task.caps, ...(task.owner ? { owner: task.owner } : {}), ...(task.tries ? { tries: task.tries } : {}), by: actor }, HUMAN);
      if (task.owner || task.tries) tx.emit('task.edited', id, { ...(task.owner ? { owner: task.owner } : {}), ...(task.tries ? { tries: task.tries } : {}), by: actor }, HUMAN);
      note('task.created');
      continue;
    }
    const changed: Record<string, unknown> = {};
    // Fields the log has never stated (an older log) are taken as they are, not as edits.
    const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
    if (known.fields.title !== null && known.fields.title !== task.title) changed.title = task.title;
    if (known.fields.prio !== null && known.fields.prio !== task.prio) changed.prio = task.prio;
    if (known.fields.needs !== null && !same(known.fields.needs, task.needs)) changed.needs = task.needs;
    if (known.fields.caps !== null && !same(known.fields.caps, task.caps)) changed.caps = task.caps;
    // A move the fix-ups of this write made is logged by them (task.completed, task.unblocked).
    // A task a person moved into Done themselves is their completion, as a ticked box is:
    // task.completed, so that `log --type task.completed` and `stats` count it.
    const movedToDone = known.status !== status && status === task.status && status === 'done';
    if (movedToDone) {
      tx.emit('task.completed', id, { from: known.status, moved: true, by: actor, ...(task.owner ? { owner: task.owner } : {}) }, HUMAN);
      note('task.completed');
    } else if (known.status !== status && status === task.status) changed.status = status;
    if (status === 'in-progress' && known.owner !== task.owner) changed.owner = task.owner;
    if (known.tries !== task.tries) changed.tries = task.tries;
    if (Object.keys(changed).length === 0) continue;
    tx.emit('task.edited', id, { ...changed, from: { status: known.status, owner: known.owner, tries: known.tries }, by: actor }, HUMAN);
    note('task.edited');
  }
  for (const known of replay.tasks.values()) {
    if (tx.board.byId.has(known.id) || known.status === 'cancelled') continue;
    tx.emit('task.cancelled', known.id, { reason: 'removed from the board by hand', last: known.last.type, by: actor }, HUMAN);
    note('task.cancelled');
  }
}

/** A task created under another task's ID on another branch, given its own ID by this sync. */
interface Renumbered {
  id: string;
  from: string;
  title: string;
  events: string[];
}

/**
 * Two branches that added a task each under the same ID leave two task.created for it in the
 * merged log; the board's merge left one task without its ID (merge-same-id.ts) and this sync has
 * just given it a new one. The task.created under the old ID that bears its title is its own: found
 * here, and said in the log (recordRenumbered), so that `show` gives each task its own history.
 * Only an ID with two task.created counts: a task renamed since, whose old title a new task takes,
 * must not lose its creation.
 */
async function findRenumbered(logPath: string, given: readonly { id: string; title: string }[]): Promise<Renumbered[]> {
  const titles = new Map(given.map((task) => [task.title, task.id]));
  const created = new Map<string, { id: string; title: string }[]>();
  for await (const { event } of readEvents(logPath)) {
    if (event.type !== 'task.created' || typeof event.task !== 'string') continue;
    const list = created.get(event.task) ?? [];
    list.push({ id: event.id, title: typeof event.data.title === 'string' ? event.data.title : '' });
    created.set(event.task, list);
  }
  const found: Renumbered[] = [];
  for (const [from, list] of created) {
    if (list.length < 2) continue;
    for (const event of list) {
      const id = titles.get(event.title);
      if (id !== undefined && id !== from) found.push({ id, from, title: event.title, events: [event.id] });
    }
  }
  return found;
}

/** Checked against the board as this write sees it: the old ID's task is still another task. */
function recordRenumbered(tx: Transaction, renumbered: readonly Renumbered[], actor: string, note: (type: string) => void): void {
  for (const found of renumbered) {
    const task = tx.board.byId.get(found.id);
    const old = tx.board.byId.get(found.from);
    if (!task || task.title !== found.title || !old || old.title === found.title) continue;
    tx.emit('task.edited', found.id, { renumbered: { from: found.from, events: found.events }, by: actor }, HUMAN);
    note('task.edited');
  }
}

/** Thrown inside a pass whose replay the log has moved past: replay again. */
class LogMoved extends Error {}

/** After this many replays the pass goes ahead anyway (a log appended to without pause). */
const MAX_REPLAYS = 5;

function logSize(path: string): number {
  return statSync(path, { throwIfNoEntry: false })?.size ?? -1;
}

/**
 * `guild-fs sync` as a person runs it: the board and the log are as they mean them to be, even
 * after taking them back with git on purpose. Besides syncBoard, the log's mark moves to the log
 * as it is (the daemon, waiting for a rewound log to come back, then goes on) and the board as
 * it is becomes the latest version guild-fs knows (so that no later write takes it for a save
 * from a stale buffer and merges the rewound changes back). Not in syncBoard: the daemon's own
 * syncs must never decide that.
 */
export async function syncAsItIs(guild: Guild, actor: string, options: UpdateOptions = {}): Promise<SyncResult> {
  const result = await syncBoard(guild, actor, options);
  await withBoardMutex(guild.mutexPath, 'sync: take the board and log as they are', async () => {
    markLogAsItIs(guild.logPath, guild.logMarkPath);
    const board = await loadBoard(guild);
    boardVersions(guild).record(null, board.text, shapeOf(board.text, board.tasks.length), Date.now());
  });
  return result;
}

// The one way the board is written: under the board mutex, re-read, apply the command's change
// together with the fix-ups every write owes a hand-edited board (IDs for items typed without
// one, ticked boxes to Done, Blocked/Ready placement), refuse a write that would create a
// dependency cycle, then append the events and only then replace the board.
//
// Log before board: the log is the record of what happened and the board a view of it. A crash
// between the two leaves an event the board does not show yet, which replay and heal can see
// and finish; the other order would leave a board change that no history explains.
import { storeBoardCache } from '../board/board-cache.js';
import { prepareBoardText, verifyAgainstParse, writeBoardText } from '../board/board-file.js';
import { BoardEdit } from '../board/edit-board.js';
import type { Board, Status, Task } from '../board/types.js';
import { BoardChangedError, FileError } from '../errors.js';
import { parseAgentName, taskNumber } from '../identifiers.js';
import { appendEvents } from '../log/append-event.js';
import { makeEvent, type AuditEvent, type EventType } from '../log/event.js';
import { withBoardMutex } from '../lock/board-mutex.js';
import { cycleKey, findCycles, needsMet } from './dependency-graph.js';
import { loadBoard, type Guild } from './guild.js';

/** The agent recorded for changes a person made by hand and a tool only noticed. */
export const HUMAN = 'human';

export interface Transaction {
  readonly board: Board;
  readonly edit: BoardEdit;
  readonly now: number;
  readonly actor: string;
  /** Adds an event to append with this write; `id` when the event's id was chosen earlier. Returns the id. */
  emit(type: EventType, task: string | undefined, data?: Record<string, unknown>, agent?: string, id?: string): string;
  /** Runs after the write is validated and before anything is appended or written, with the events to append. */
  beforeCommit(step: (events: readonly AuditEvent[]) => void): void;
  /** The task's ID, including one given in this write to an item typed without one. */
  idOf(task: Task): string;
  /** A free ID for a new task. */
  nextId(): string;
  /** Tells the cycle check about the needs of a task added in this write. */
  addedNeeds(id: string, needs: readonly string[]): void;
  /** Run if the write is refused or fails after this point: gives back what the change took. */
  onAbort(undo: () => void): void;
}

export interface UpdateOptions {
  /**
   * Refuse (BoardChangedError, nothing logged, nothing written) when the board file changed since
   * it was read: a person saved it meanwhile. For writers that act on their own (the daemon),
   * whose write would otherwise replace that save; the next reaction reads it instead.
   */
  guardHandSaves?: boolean;
}

export async function updateBoard<T>(guild: Guild, actor: string, purpose: string, change: (tx: Transaction) => T, options: UpdateOptions = {}): Promise<T> {
  // The actor is written to the board (owner:) and the log: the library checks it, not only the CLI.
  parseAgentName(actor, 'agent');
  return withBoardMutex(guild.mutexPath, purpose, async () => {
    // A miss is not stored: the board this write leaves behind is what the next reader wants.
    const board = await loadBoard(guild, { storeOnMiss: false });
    const now = guild.now();
    const edit = new BoardEdit(board);
    const events: AuditEvent[] = [];
    const assigned = new Map<Task, string>();
    const added = new Map<string, readonly string[]>();
    const undo: (() => void)[] = [];
    const beforeCommit: ((events: readonly AuditEvent[]) => void)[] = [];
    let highest = 0;
    for (const task of board.tasks) {
      if (task.id) highest = Math.max(highest, taskNumber(task.id));
      for (const need of task.needs) highest = Math.max(highest, taskNumber(need));
    }
    const tx: Transaction = {
      board,
      edit,
      now,
      actor,
      emit(type, task, data = {}, agent = actor, id) {
        const event = makeEvent({ type, task, agent, host: guild.host, data, id }, now);
        events.push(event);
        return event.id;
      },
      beforeCommit: (step) => void beforeCommit.push(step),
      idOf: (task) => task.id ?? assigned.get(task)!,
      nextId: () => `${board.settings.prefix}-${++highest}`,
      addedNeeds: (id, needs) => void added.set(id, needs),
      onAbort: (fn) => void undo.push(fn),
    };

    try {
      assignIds(tx, assigned);
      moveTickedToDone(tx);
      const result = change(tx);
      placeByNeeds(tx);
      // Edits never change a task's needs, so only new tasks and new IDs can close a cycle.
      if (added.size > 0 || assigned.size > 0) refuseNewCycles(tx, added);
      if (edit.changed || events.length > 0 || beforeCommit.length > 0) {
        const next = edit.renderBoard();
        if (process.env.GUILD_VERIFY_CACHE === '1') await verifyAgainstParse(next);
        const prepared = options.guardHandSaves && next.text !== board.text ? prepareBoardText(guild.boardPath, next.text) : null;
        if (prepared && !prepared.unchangedSince(board.text)) {
          prepared.abandon();
          throw new BoardChangedError(`${board.file} was saved by someone else while ${purpose} worked on it; not written`);
        }
        for (const step of beforeCommit) step(events);
        appendEvents(guild.logPath, events, { exclusive: true });
        if (next.text !== board.text) {
          if (prepared) prepared.commit();
          else await writeBoardText(guild.boardPath, next.text);
          // Inside the mutex, though it lengthens the hold: the next writer, often already
          // waiting, then finds the cache instead of parsing the whole board again.
          storeBoardCache(guild.cachePath, next);
        }
      }
      return result;
    } catch (error) {
      for (const fn of undo.reverse()) fn();
      throw error;
    }
  });
}

function assignIds(tx: Transaction, assigned: Map<Task, string>): void {
  for (const task of tx.board.tasks) {
    if (task.id !== null) continue;
    const id = tx.nextId();
    assigned.set(task, id);
    tx.edit.update(task, { id });
    tx.emit('task.created', id, { title: task.title, status: task.status, line: task.line, by: tx.actor }, HUMAN);
  }
}

function moveTickedToDone(tx: Transaction): void {
  for (const task of tx.board.tasks) {
    if (!task.checked || task.status === 'done') continue;
    tx.edit.update(task, { status: 'done' });
    tx.emit('task.completed', tx.idOf(task), { from: task.status, ticked: true, by: tx.actor }, HUMAN);
  }
}

/** Blocked <-> Ready by needs, judged on the statuses this write leaves behind. */
function placeByNeeds(tx: Transaction): void {
  const finalStatus = new Map<string, Status>();
  for (const task of tx.board.tasks) finalStatus.set(tx.idOf(task), tx.edit.statusOf(task));
  const statusOf = (id: string): Status | undefined => finalStatus.get(id);
  for (const task of tx.board.tasks) {
    const status = tx.edit.statusOf(task);
    if (status !== 'ready' && status !== 'blocked') continue;
    const target: Status = needsMet(task, statusOf) ? 'ready' : 'blocked';
    if (target === status) continue;
    tx.edit.update(task, { status: target });
    const waitingOn = task.needs.filter((need) => statusOf(need) !== 'done');
    tx.emit(target === 'ready' ? 'task.unblocked' : 'task.blocked', tx.idOf(task), target === 'ready' ? { needs: task.needs } : { waitingOn });
  }
}

function refuseNewCycles(tx: Transaction, added: ReadonlyMap<string, readonly string[]>): void {
  const before = new Map<string, readonly string[]>();
  const after = new Map<string, readonly string[]>();
  for (const task of tx.board.tasks) {
    if (task.needs.length === 0) continue;
    if (task.id) before.set(task.id, task.needs);
    after.set(tx.idOf(task), task.needs);
  }
  for (const [id, needs] of added) after.set(id, needs);
  const known = new Set(findCycles(before).map(cycleKey));
  const fresh = findCycles(after).find((cycle) => !known.has(cycleKey(cycle)));
  if (!fresh) return;
  const line = tx.board.tasks.find((task) => tx.idOf(task) === fresh[0])?.line;
  throw new FileError('ECYCLE', tx.board.file, line, `this change would make a dependency cycle: ${fresh.join(' -> ')}; the board was not written`, { cycle: fresh });
}

// The one way the board is written: under the board mutex, re-read, apply the command's change
// together with the fix-ups every write owes a hand-edited board (IDs for items typed without
// one, ticked boxes to Done, Blocked/Ready placement), refuse a write that would create a
// dependency cycle, then append the events and only then replace the board.
//
// Log before board: the log is the record of what happened and the board a view of it. A crash
// between the two leaves an event the board does not show yet, which replay and heal can see
// and finish; the other order would leave a board change that no history explains.
//
// People's editors take no mutex, so every write is also guarded against them (issue 10):
//   - the read waits out an in-place save caught half-way (board/steady-read.ts);
//   - a save made from a stale buffer is merged with the changes made since (stale-save.ts);
//   - just before logging, the board must still be the text read, or the whole transaction
//     starts again on the new text (nothing logged yet, so nothing twice);
//   - a save landing after the events are logged (in the microseconds before the rename, or
//     in place into the very file the rename replaced) is merged with this write, not lost.
// A rename-save landing between the commit's last look and its rename, a window no single POSIX
// call closes, is caught by moving the board aside rather than renaming over it (board-file.ts):
// every write, since nothing tells a tool that a person is about to save.
import { existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { contentKey, storeBoardCache } from '../board/board-cache.js';
import { BOARD_FILE, prepareBoardWrite, readBackDifference, restoreAsideBoard, verifyAgainstParse, type CommitOptions, type PreparedWrite } from '../board/board-file.js';
import type { BoardVersions } from '../board/board-versions.js';
import { lineDistance } from '../board/version-chain.js';
import { BoardEdit } from '../board/edit-board.js';
import { idAllocator, parseBoard } from '../board/parse-board.js';
import { readSnapshot, shapeOf } from '../board/steady-read.js';
import type { Board, Status, Task } from '../board/types.js';
import { BoardChangedError, FileError } from '../errors.js';
import { parseAgentName } from '../identifiers.js';
import { appendEvents } from '../log/append-event.js';
import { makeEvent, type AuditEvent, type EventType } from '../log/event.js';
import { BOARD_WAIT_MS, withBoardMutex } from '../lock/board-mutex.js';
import { cycleKey, findCycles, needsMet } from './dependency-graph.js';
import { boardVersions, loadBoard, logAsLeft, type Guild } from './guild.js';
import { ensureMergeDrivers } from '../git/merge-drivers.js';
import { mergeSave, mergeStaleSave } from './stale-save.js';

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
  /** Runs once the board is written and the events logged (not when the write is refused or started again). */
  afterCommit(step: (written: Board) => void): void;
}

export interface UpdateOptions {
  /** Where to say what a write had to merge (a person's save): stderr in the CLI, the daemon's log. */
  say?: (line: string) => void;
  /** Test seam for the board's rename (see prepareBoardWrite). */
  commit?: CommitOptions;
  /** The pause between attempts on a board that keeps changing; a test's moves its clock (guild.now) instead. */
  sleep?: (ms: number) => Promise<void>;
  /** The backoff's randomness, in [0, 1). */
  jitter?: () => number;
}

// A transaction that finds the board changed starts again, for up to BOARD_WAIT_MS by the
// guild's clock, then gives up with exit 3 (SPEC section 1). Between attempts it lets go of the
// mutex, so that other writers go meanwhile, and pauses a random while growing up to a few of a
// person's saves apart: editors and scripts that save on a period would otherwise catch the
// same point of every attempt again and again.
const FIRST_PAUSE_MS = 2;
const LONGEST_PAUSE_MS = 40;
/** A retry's wait for the mutex, however little of the write's own time is left. */
const SHORTEST_MUTEX_WAIT_MS = 1_000;

export async function updateBoard<T>(guild: Guild, actor: string, purpose: string, change: (tx: Transaction) => T, options: UpdateOptions = {}): Promise<T> {
  // The actor is written to the board (owner:) and the log: the library checks it, not only the CLI.
  parseAgentName(actor, 'agent');
  // What a write had to merge is news for whoever ran it: stderr unless the caller takes it.
  options = { say: (line) => void process.stderr.write(`guild-fs: ${line}\n`), ...options };
  // Taking the mutex makes <git-common-dir>/guild/: a command that fails for want of a board
  // must fail before it, and leave nothing behind.
  if (!existsSync(guild.boardPath) && !restoreAsideBoard(guild.boardPath)) throw new FileError('ENOBOARD', BOARD_FILE, undefined, 'no board here: run `guild-fs init` first');
  // A clone that never ran init gets its merge drivers now, outside the mutex (merge-health.ts).
  await ensureMergeDrivers(guild.repo, options.say!);
  const sleep = options.sleep ?? delay;
  const jitter = options.jitter ?? Math.random;
  const start = guild.now();
  let pause = FIRST_PAUSE_MS;
  for (let attempt = 1; ; attempt++) {
    const timeoutMs = attempt === 1 ? BOARD_WAIT_MS : Math.max(BOARD_WAIT_MS - (guild.now() - start), SHORTEST_MUTEX_WAIT_MS);
    const outcome = await withBoardMutex(guild.mutexPath, purpose, () => attemptUpdate(guild, actor, change, options), { timeoutMs });
    if (outcome.done) return outcome.result;
    // The board changed between the read and the check before the rename: a person saved.
    // Nothing was logged or written; the transaction runs again on what they saved.
    const waitedMs = guild.now() - start;
    if (waitedMs >= BOARD_WAIT_MS) {
      throw new BoardChangedError(`${BOARD_FILE} kept changing while ${purpose} tried to write it (${attempt} tries in ${Math.round(waitedMs / 1000)}s); nothing was written. Try again when it is quiet.`, { attempts: attempt, waitedMs });
    }
    await sleep(pause * (0.5 + jitter()));
    pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
  }
}

type Attempt<T> = { done: true; result: T } | { done: false };

async function attemptUpdate<T>(guild: Guild, actor: string, change: (tx: Transaction) => T, options: UpdateOptions): Promise<Attempt<T>> {
  // A miss is not stored: the board this write leaves behind is what the next reader wants.
  const read = await loadBoard(guild, { storeOnMiss: false });
  const versions = boardVersions(guild);
  // One time for the attempt: the stale-save merge and the events it leads to are one moment.
  const now = guild.now();
  const stale = await mergeStaleSave(read, versions, { logAsLeft: () => logAsLeft(guild), say: options.say, now });
  const board = stale?.board ?? read;
  const edit = new BoardEdit(board);
  const events: AuditEvent[] = [];
  const assigned = new Map<Task, string>();
  const added = new Map<string, readonly string[]>();
  const undo: (() => void)[] = [];
  const beforeCommit: ((events: readonly AuditEvent[]) => void)[] = [];
  const afterCommit: ((written: Board) => void)[] = [];
  const nextId = idAllocator(board, guild.random);
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
    afterCommit: (step) => void afterCommit.push(step),
    idOf: (task) => task.id ?? assigned.get(task)!,
    nextId,
    addedNeeds: (id, needs) => void added.set(id, needs),
    onAbort: (fn) => void undo.push(fn),
  };
  const giveBack = (): void => {
    for (const fn of undo.reverse()) fn();
  };

  let result: T;
  let next: Board;
  try {
    assignIds(tx, assigned);
    moveTickedToDone(guild, tx);
    result = change(tx);
    placeByNeeds(tx);
    // Edits never change a task's needs, so only new tasks and new IDs can close a cycle.
    if (added.size > 0 || assigned.size > 0) refuseNewCycles(tx, added);
    next = edit.changed ? edit.renderBoard() : board;
    if (next.text === read.text && events.length === 0 && beforeCommit.length === 0) {
      for (const step of afterCommit) step(next);
      return { done: true, result };
    }
    const readBack = next !== board && board.irregular === true;
    if (readBack) {
      // The edit model knows the Markdown the scanner reads; around what only remark reads (lazy
      // lines, setext headings, quotes) or a task carrying an open fence, an edit could read back differently, and a task written
      // where it does not read back is lost. Such boards are parsed again, and the write refused.
      const differs = await readBackDifference(next);
      if (differs) throw new FileError('EBOARDEDIT', BOARD_FILE, differs.id === null ? undefined : board.byId.get(differs.id)?.line, `this change would not read back as written: the board's Markdown near this task is irregular (lazy continuation lines, setext headings or block quotes beside tasks, or a code fence in a task's body left open); nothing was written. Tidy that part of the board (blank lines around headings and quotes, "## " headings, a closing line for every code fence), then try again`);
    }
    // The same fresh parse the read-back above made: not made twice.
    if (!readBack && process.env.GUILD_VERIFY_CACHE === '1') await verifyAgainstParse(next);
  } catch (error) {
    giveBack();
    throw error;
  }

  let prepared: PreparedWrite | null = null;
  try {
    // A look that costs a read, before the temp file's fsync that costs the disk's time: under a
    // person saving 60 times a second most attempts are doomed by now, and fail here (issue 20).
    if (next.text !== read.text && !stillReads(guild.boardPath, read.text)) {
      giveBack();
      return { done: false };
    }
    prepared = next.text !== read.text ? await prepareBoardWrite(guild.boardPath, next.text, options.commit) : null;
    // As late as possible before anything is logged: is the board still the one this write read?
    // (Log-only writes too: nothing is logged from a board that changed under the reader.)
    const unchanged = prepared ? prepared.unchangedSince(read.text) : stillReads(guild.boardPath, read.text);
    if (!unchanged) {
      prepared?.abandon();
      giveBack();
      return { done: false };
    }
    for (const step of beforeCommit) step(events);
    appendEvents(guild.logPath, events, { exclusive: true, markPath: guild.logMarkPath });
  } catch (error) {
    prepared?.abandon();
    giveBack();
    throw error;
  }
  // Logged: from here the write is made, whatever the person does. Their save, if one lands
  // now, is merged with this write instead of starting again (which would log twice).
  if (prepared) {
    // GLD-72: always moved aside, never renamed over, so that a save landing in the instant
    // before the rename is seen and merged (board-file.ts). Taking the plain rename when the
    // board read was the last one guild-fs wrote lost the person's first save after a run of
    // tool writes whenever it landed in that instant (about 1 save in 1,000 in the storm).
    const committed = prepared.commit(read.text);
    let written = next;
    if (!committed.written) written = await mergeLateSave(guild, read.text, next, committed.disk, committed.disk, versions, options);
    else if (committed.orphan !== null) written = await mergeLateSave(guild, read.text, next, committed.orphan, next.text, versions, options);
    // One hash of the new board serves the versions and the cache.
    const nextKey = contentKey(next.text);
    versions.record(read.text, next.text, shapeOf(next.text, next.tasks.length), Date.now(), { read: read.key, written: nextKey });
    if (written !== next) versions.record(null, written.text, shapeOf(written.text, written.tasks.length), Date.now());
    // Inside the mutex, though it lengthens the hold: the next writer, often already
    // waiting, then finds the cache instead of parsing the whole board again.
    storeBoardCache(guild.cachePath, written, written === next ? nextKey : undefined);
    for (const step of afterCommit) step(written);
  } else {
    for (const step of afterCommit) step(next);
  }
  return { done: true, result };
}

/**
 * A person's save that landed after this write logged its events: between the last check and
 * the rename (`onDisk` is their save, the rename not made), or into the very file the rename
 * replaced, by an editor saving in place (`onDisk` is this write's board). Their save started
 * from `base`, the board this write read; it is merged with this write's board and written,
 * again only over what is on disk. A merge that cannot be made cleanly keeps the person's save
 * on disk (their text is never the one dropped) and says so.
 */
async function mergeLateSave(guild: Guild, base: string, ours: Board, theirs: string, onDisk: string, versions: BoardVersions, options: UpdateOptions): Promise<Board> {
  let expected = onDisk;
  let from = base;
  let mine: string | Board = ours;
  let save = theirs;
  // Its own time, not what is left of the write's: the events are logged, the write is made.
  const start = guild.now();
  for (let attempt = 0; attempt < 2 || guild.now() - start < BOARD_WAIT_MS; attempt++) {
    const merged = await mergeSave(ours.file, lateSaveBase(save, from, versions), mine, save);
    // Not mergeable cleanly: the person's save is what stays on disk.
    const text = merged?.text ?? save;
    const written = async (): Promise<Board> => merged ?? (await parseOrNull(ours.file, text)) ?? ours;
    if (!merged) options.say?.(`${BOARD_FILE} was saved while guild-fs wrote it, and the two could not be merged cleanly: the save was kept; run \`guild-fs sync\` to record it`);
    if (text === expected) return written();
    const prepared = await prepareBoardWrite(guild.boardPath, text);
    // Looked at through a kept handle first, so that the commit itself is one stat (board-file.ts).
    prepared.unchangedSince(expected);
    const committed = prepared.commit(expected);
    if (committed.written && committed.orphan === null) {
      if (merged) options.say?.(`${BOARD_FILE} was saved while guild-fs wrote it; the save and the change were merged`);
      versions.record(save, text, shapeOf(text, merged?.tasks.length ?? 0), Date.now());
      return written();
    }
    if (!committed.written && attempt >= 1) {
      // Saved again meanwhile, and again: a person saving faster than a merge takes would keep
      // this loop going. Their save is on disk, whole, made from `expected`; with `expected`
      // and this merged board kept as the latest version, the next write that reads the board
      // (the daemon's, or any command's) merges it as a save from a stale buffer.
      versions.record(expected, text, shapeOf(text, merged?.tasks.length ?? 0), Date.now());
      options.say?.(`${BOARD_FILE} keeps being saved while guild-fs writes it; the next write merges this change with the latest save`);
      return written();
    }
    // Saved again meanwhile, from what was on disk then: merge that save in turn. (A save
    // caught in the replaced file, `orphan`, is in hand only: it is always merged now.)
    from = expected;
    mine = merged ?? text;
    save = committed.written ? committed.orphan! : committed.disk;
    expected = committed.written ? text : committed.disk;
  }
  // Not seen in any storm: a save caught in the replaced file every time, for all that while.
  throw new BoardChangedError(`${BOARD_FILE} kept being saved in place while guild-fs merged the saves into its write, for ${Math.round(BOARD_WAIT_MS / 1000)}s: the change is logged and on the board, but the latest save was not merged; look at the board and save it again`, { logged: true });
}

/**
 * The board a save caught during a write started from: `from`, what the board held just before,
 * unless a kept version is closer to it. Then the save came from an older buffer, and merged
 * against `from` its stale task lines would count as the person's edits (a Done task reopened:
 * seen in the runner storm). Of equally close ones, `from`.
 */
function lateSaveBase(save: string, from: string, versions: BoardVersions): string {
  const found = versions.findBase(save);
  if (found === null || found.beyondKept) return from;
  return found.distance < lineDistance(save, from) ? found.base : from;
}

/** The board still holds `text` (a board without a name for a moment is not the same board). */
function stillReads(path: string, text: string): boolean {
  try {
    return readSnapshot(path).text === text;
  } catch {
    return false;
  }
}

async function parseOrNull(file: string, text: string): Promise<Board | null> {
  try {
    return await parseBoard(file, text);
  } catch {
    return null;
  }
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

/**
 * A ticked box is a completion by the person who ticked it. A task In Progress ticked by hand is
 * done by them: the agent's claim is given back once the board says so (its worktree stays until
 * it is clean, merged and no longer held: see prune-worktrees.ts).
 */
function moveTickedToDone(guild: Guild, tx: Transaction): void {
  for (const task of tx.board.tasks) {
    if (!task.checked || task.status === 'done') continue;
    const id = tx.idOf(task);
    tx.edit.update(task, { status: 'done' });
    tx.emit('task.completed', id, { from: task.status, ticked: true, by: tx.actor, ...(task.owner ? { owner: task.owner } : {}) }, HUMAN);
    if (task.status === 'in-progress' && task.id) tx.afterCommit(() => releaseHandDone(guild, task.id!, task.owner));
  }
}

function releaseHandDone(guild: Guild, id: string, owner: string | null): void {
  const lock = guild.locks.read(id);
  if (lock.state !== 'held' || (owner !== null && lock.owner.agent !== owner)) return;
  guild.locks.release(id, lock.owner.token);
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


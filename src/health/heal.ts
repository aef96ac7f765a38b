// heal: bring locks, board and log back into agreement after crashes.
//
// Every case below comes from a crash between two steps of a claim (lock -> log -> board) or of
// a finish (intent -> log -> board -> lock), or from a holder that went away:
//   1. A lock with no owner.json, older than a grace period: its taker died between mkdir and
//      the owner write. Nothing else happened: remove it.
//   2. A lock whose intent's writer is gone: a complete/fail/release died after writing its
//      intent. If its events reached the log, append any missing ones and apply the board change,
//      then remove the lock; if none did, the operation never happened: drop the intent.
//   3. A lock the board does not show (task not In Progress by that agent) whose claiming process
//      is gone: a half-made claim. If its task.claimed event reached the log, the log is the
//      record: finish the claim on the board (or, if the task has moved on since, just remove
//      the lock). If not, undo it: remove the lock.
//   4. A lock the board shows whose holder is proved gone or whose heartbeat is older than
//      lock_ttl: break it, and requeue the task with tries + 1 and a backoff (Failed at max_tries).
//   3b. A recorded claim (LockOwner.recorded: its event and board write were made) that neither
//      board nor log shows: git rewound the working tree (stash, checkout) and will bring them
//      back. Kept, logging nothing. Only if it is stale on proof as well is the lock removed,
//      still logging nothing: the log as it stands never heard of the claim, and once git brings
//      the claim back, case 5 requeues the task as for any lost stale lock.
//   5. A task In Progress with no lock (a heal that died between breaking a stale lock and
//      writing the board leaves one): requeue it too, when its last task.claimed was made on
//      this host. One claimed on another host is left alone: its lock lives in that machine's
//      clone, which this one cannot see (doctor mentions it).
// Locks are broken only through TaskLocks.breakStale, which removes nothing but the very lock
// that was judged. All board changes of one heal are made in one updateBoard, which re-reads the
// board under the mutex and checks each change again against the board as it is then.
import { existsSync, lstatSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ASIDE_PREFIX, TEMP_MARKER } from '../board/board-file.js';
import type { Task } from '../board/types.js';
import { appendEvents, endTornTail, logEndsInsideLine } from '../log/append-event.js';
import type { AuditEvent } from '../log/event.js';
import { findEventIds, lastEventOf } from '../log/find-events.js';
import { judgeProcess, systemProbe, type ProcessProbe } from '../lock/liveness.js';
import type { LockOwner } from '../lock/lock-owner.js';
import { breakIfDead, withBoardMutex } from '../lock/board-mutex.js';
import { readLockOwner } from '../lock/mkdir-lock.js';
import type { FinishIntent } from '../tasks/finish-task.js';
import { classifyLock } from './classify-lock.js';
import { loadBoard, type Guild } from '../tasks/guild.js';
import { breakDeadDaemonLock, daemonLockPath, readDaemonLock } from './daemon-lock.js';
import { requeue } from '../tasks/requeue.js';
import { updateBoard, type Transaction } from '../tasks/update-board.js';

/** A lock directory without owner.json for this long was left by a taker that died. */
export const UNFINISHED_LOCK_GRACE_MS = 30_000;

export type HealActionKind =
  | 'removed-unfinished'
  | 'finished-intent'
  | 'dropped-intent'
  | 'finished-claim'
  | 'undid-claim'
  | 'removed-leftover'
  | 'removed-rewound'
  | 'requeued'
  | 'poisoned'
  /** Not a lock guild-fs made (a symlink, a file) at a lock's name: reported, never touched. */
  | 'refused';

export interface HealAction {
  task: string;
  action: HealActionKind;
  reason: string;
  agent: string | null;
}

export interface HealResult {
  actions: HealAction[];
  /** Locks left alone because another healer or remover was at work on them. */
  busy: string[];
  /** Tombstones of crashed removers and temp files of crashed board writes, cleared. */
  swept: string[];
  /** The board mutex was held by a process that is gone, and was broken. */
  mutexBroken: boolean;
  /** Set only when the clone's daemon lock was left by a daemon that is gone, and was broken. */
  daemonLockBroken?: true;
  /** Set only when the log ended inside a line (torn text or a power loss's NUL bytes) and heal ended that line. */
  logTailEnded?: true;
  locks: number;
}

export interface HealOptions {
  actor: string;
  probe?: ProcessProbe;
}

/** A board change decided while judging the locks, made in the one write at the end. */
type Repair =
  | { kind: 'requeue'; task: string; agent: string | null; reason: string; requireNoLock?: boolean }
  | { kind: 'finish-claim'; task: string; agent: string }
  | { kind: 'finish-intent'; owner: LockOwner; intent: FinishIntent; missing: AuditEvent[] }
  | { kind: 'undo-claim'; task: string; agent: string };

export async function healGuild(guild: Guild, options: HealOptions): Promise<HealResult> {
  const probe = options.probe ?? systemProbe;
  const result: HealResult = { actions: [], busy: [], swept: [], locks: 0, mutexBroken: false };
  const note = (task: string, action: HealActionKind, reason: string, agent: string | null): void => void result.actions.push({ task, action, reason, agent });
  const board = await loadBoard(guild);
  const locks = guild.locks.list();
  result.locks = locks.length;
  const locked = new Set<string>();
  const repairs: Repair[] = [];
  const busy = (task: string, outcome: string): boolean => {
    if (outcome === 'busy') result.busy.push(task);
    return outcome === 'removed';
  };

  // A writer killed holding the board mutex: the next write would break it; heal does it now.
  const mutex = readLockOwner(guild.mutexPath);
  if (mutex.state === 'unreadable' && mutex.refused) note(basename(guild.mutexPath), 'refused', mutex.reason, null);
  else if (mutex.state !== 'free' && breakIfDead(guild.mutexPath, probe, guild.now())) result.mutexBroken = true;

  // A daemon killed with SIGKILL: its lock goes like any other whose process is proved gone.
  const daemon = readDaemonLock(guild);
  if (daemon.state === 'unreadable' && daemon.refused) note(basename(daemonLockPath(guild)), 'refused', daemon.reason, null);
  else if (breakDeadDaemonLock(guild, probe) === 'removed') result.daemonLockBroken = true;

  // The log's repair: a torn last line (text cut short, or NUL bytes from a power loss) is ended
  // with a newline, under the mutex like any append. Nothing is cut or rewritten: the log only
  // grows, readers keep any complete event before the NULs and warn about the rest as torn.
  // The mutex is taken only when the log looks torn: the daemon heals every few seconds, and a
  // mutex taken each time would be traffic in the folder it watches.
  if (logEndsInsideLine(guild.logPath) && (await withBoardMutex(guild.mutexPath, 'heal: end a torn log line', async () => endTornTail(guild.logPath)))) result.logTailEnded = true;

  const intents = guild.locks.intents<FinishIntent>();
  for (const { task, read } of locks) {
    locked.add(task);
    const now = guild.now();
    const verdict = classifyLock(task, read, { board, intents, probe, now, claimLogged: (id) => findEventIds(guild.logPath, [id]).size > 0 });
    switch (verdict.kind) {
      case 'unfinished':
        // Removing through a symlink would empty its target; a person removes it (exit stays 0:
        // heal did all it may; doctor exits 6 while it stands).
        if (read.state === 'unreadable' && read.refused) note(task, 'refused', `${guild.locks.where(task)}: ${verdict.reason}`, null);
        else if (busy(task, guild.locks.breakStale(task, { unreadableForMs: UNFINISHED_LOCK_GRACE_MS }, now))) note(task, 'removed-unfinished', verdict.reason, null);
        break;
      case 'dead-finish': {
        const { owner, intent } = verdict;
        const logged = findEventIds(guild.logPath, intent.payload.events.map((event) => event.id));
        if (logged.size === 0) {
          // Its process died before the log: the operation never happened, the claim stands.
          guild.locks.clearIntent(task, owner.token);
          note(task, 'dropped-intent', `${intent.payload.op} died before logging anything`, owner.agent);
        } else {
          repairs.push({ kind: 'finish-intent', owner, intent: intent.payload, missing: intent.payload.events.filter((event) => !logged.has(event.id)) });
        }
        break;
      }
      case 'orphan': {
        const { owner, onBoard } = verdict;
        const claimLogged = owner.claimEvent !== null && findEventIds(guild.logPath, [owner.claimEvent]).size > 0;
        if (claimLogged && onBoard?.status === 'ready' && onBoard.owner === null) {
          repairs.push({ kind: 'finish-claim', task, agent: owner.agent });
        } else if (busy(task, guild.locks.breakStale(task, { token: owner.token, finished: onBoard?.status === 'done' || onBoard?.status === 'review' }, now))) {
          if (claimLogged) note(task, 'removed-leftover', 'the task has moved on; a lock was left behind', owner.agent);
          else repairs.push({ kind: 'undo-claim', task, agent: owner.agent });
        }
        break;
      }
      case 'rewound':
        if (verdict.stale !== null && busy(task, guild.locks.breakStale(task, { token: verdict.owner.token }, now))) {
          note(task, 'removed-rewound', `a claim the rewound board and log do not show, and stale: ${verdict.stale}`, verdict.owner.agent);
        }
        break;
      case 'stale':
        if (busy(task, guild.locks.breakStale(task, { token: verdict.owner.token }, now))) {
          repairs.push({ kind: 'requeue', task, agent: verdict.owner.agent, reason: verdict.reason });
        }
        break;
      // 'finishing' and 'claiming' are work under way; 'healthy' and 'free' need nothing.
    }
  }
  // Intents that outlived their lock: the finish got as far as removing the lock.
  for (const [task, intent] of intents) {
    const read = locked.has(task) ? guild.locks.read(task) : null;
    if (read?.state === 'held' && read.owner.token === intent.token) continue;
    if (!judgeProcess(intent.writer, probe).alive) guild.locks.clearIntent(task, intent.token);
  }
  for (const task of board.tasks) {
    if (task.status !== 'in-progress' || !task.id || locked.has(task.id) || guild.locks.read(task.id).state !== 'free') continue;
    // Through a remote, a task In Progress with no lock here is another clone's until its claim
    // ref says otherwise (remote/heal-remote.ts judges that); a host name proves nothing, as
    // clones share hosts.
    if (board.settings.remote !== null) continue;
    const claimed = lastEventOf(guild.logPath, task.id, 'task.claimed');
    if (claimed && claimed.host !== probe.host) continue;
    repairs.push({ kind: 'requeue', task: task.id, agent: task.owner, reason: 'In Progress with no lock', requireNoLock: true });
  }

  if (repairs.length > 0) {
    await updateBoard(guild, options.actor, `heal ${repairs.length} task${repairs.length === 1 ? '' : 's'}`, (tx) => {
      // Noted once the write is made: a write started again (a person saved) notes its own attempt only.
      const noted: Parameters<Note>[] = [];
      for (const repair of repairs) applyRepair(guild, tx, repair, (...args) => void noted.push(args));
      tx.afterCommit(() => {
        for (const args of noted) note(...args);
      });
    });
  }
  // Case 2 ends like any finish: the lock goes last, after the board.
  for (const repair of repairs) {
    if (repair.kind === 'finish-intent') busy(repair.owner.task, guild.locks.breakStale(repair.owner.task, { token: repair.owner.token, finished: repair.intent.op === 'complete' }, guild.now()));
  }
  result.swept = [...guild.locks.sweep(guild.now()), ...sweepBoardTemps(guild)];
  return result;
}

type Note = (task: string, action: HealActionKind, reason: string, agent: string | null) => void;

function applyRepair(guild: Guild, tx: Transaction, repair: Repair, note: Note): void {
  switch (repair.kind) {
    case 'requeue': {
      const task = tx.board.byId.get(repair.task);
      if (!stillHeldBy(task, repair.agent)) return;
      if (repair.requireNoLock && guild.locks.read(repair.task).state !== 'free') return;
      const requeued = requeue(tx, task!, { type: 'lock.healed', data: { reason: repair.reason, holder: repair.agent } });
      note(repair.task, requeued.poisoned ? 'poisoned' : 'requeued', repair.reason, repair.agent);
      return;
    }
    case 'finish-claim': {
      // The claim reached the log but not the board: the log is the record, so the claim stands.
      const task = tx.board.byId.get(repair.task);
      if (!task || task.status !== 'ready' || task.owner !== null) return;
      tx.edit.update(task, { status: 'in-progress', fields: { owner: repair.agent } });
      note(repair.task, 'finished-claim', 'the claim was logged, but its process died before the board', repair.agent);
      return;
    }
    case 'finish-intent': {
      const { intent, missing, owner } = repair;
      // Appended as they were meant to be, ids and times included, ahead of this write's own events.
      if (missing.length > 0) tx.beforeCommit(() => appendEvents(guild.logPath, missing, { exclusive: true, markPath: guild.logMarkPath }));
      const task = tx.board.byId.get(owner.task);
      if (stillHeldBy(task, intent.agent)) tx.edit.update(task!, intent.change);
      note(owner.task, 'finished-intent', `${intent.op} by ${intent.agent} died between the log and the board; finished`, owner.agent);
      return;
    }
    case 'undo-claim':
      tx.emit('lock.healed', repair.task, { reason: 'half-made claim: its process died before logging it', holder: repair.agent });
      note(repair.task, 'undid-claim', 'its process died before logging the claim', repair.agent);
      return;
  }
}

/**
 * Temp files of board writes killed before their rename, and of cache writes: old enough that no
 * live writer owns them. Only names guild-fs makes, with a marker no person types
 * (`.ACTIVE_TASKS.md.guild-tmp-<pid>-<hex>`, `.guild-aside.…`): ACTIVE_TASKS.md.1 or
 * ACTIVE_TASKS.md.20261130 beside the board is someone's backup. init's one write goes through
 * write-file-atomic (ACTIVE_TASKS.md.<number>); a leftover of that one-off is not swept, since
 * its name is one a person could give a backup.
 */
function sweepBoardTemps(guild: Guild, minAgeMs = 60_000): string[] {
  const swept: string[] = [];
  const now = guild.now();
  const sweepIn = (dir: string, pattern: RegExp): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (!pattern.test(name)) continue;
      const path = join(dir, name);
      const stat = lstatSync(path, { throwIfNoEntry: false });
      if (!stat?.isFile() || now - stat.mtimeMs < minAgeMs) continue;
      rmSync(path, { force: true });
      swept.push(name);
    }
  };
  const board = escapeRegExp(basename(guild.boardPath));
  sweepIn(dirname(guild.boardPath), new RegExp(`^\\.${board}${escapeRegExp(TEMP_MARKER)}\\d+-[0-9a-f]{8}$`));
  // Boards moved aside by a write killed between its two steps: the board itself is back (loadBoard
  // restored it at the start of this heal), so the old copy goes.
  if (existsSync(guild.boardPath)) sweepIn(dirname(guild.boardPath), new RegExp(`^${escapeRegExp(ASIDE_PREFIX)}${board}\\.\\d+-[0-9a-f]+$`));
  sweepIn(dirname(guild.cachePath), /^board\.json\.\d+\.[0-9a-f]+\.tmp$/);
  return swept;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function stillHeldBy(task: Task | undefined, agent: string | null): boolean {
  return task !== undefined && task.status === 'in-progress' && task.owner === agent;
}

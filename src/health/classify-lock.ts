// What a task's lock is, judged once for both `heal` (which repairs) and `doctor` (which names):
// two loops that each judged the cases on their own drifted apart (heal learnt to leave a finish
// under way alone; doctor went on calling it a problem). Each case says what the lock proves.
import type { Board, Task } from '../board/types.js';
import { claimMaker, type LockIntent, type LockOwner } from '../lock/lock-owner.js';
import { judgeProcess, type ProcessProbe } from '../lock/liveness.js';
import type { OwnerRead } from '../lock/mkdir-lock.js';
import { judgeLock } from '../lock/task-locks.js';
import type { FinishIntent } from '../tasks/finish-task.js';

export type LockVerdict =
  /**
   * No owner.json (yet): a claim between mkdir and its owner write, or one killed there; or
   * `damaged`, an owner.json that is no owner (bad JSON, `null`, `{}`). Judged by age.
   */
  | { kind: 'unfinished'; reason: string; damaged: boolean }
  /** A complete/fail/release whose process died half way: its intent is still in the lock. */
  | { kind: 'dead-finish'; owner: LockOwner; intent: LockIntent<FinishIntent> }
  /** A complete/fail/release under way: the board may already show the task finished. */
  | { kind: 'finishing'; owner: LockOwner }
  /** The board does not show this holder, and the claim is still being made. */
  | { kind: 'claiming'; owner: LockOwner }
  /** The board does not show this holder, and the process that made the claim is gone (or, for a recorded claim, the task moved on since its event). */
  | { kind: 'orphan'; owner: LockOwner; onBoard: Task | undefined }
  /**
   * A recorded claim (see LockOwner.recorded) that neither the board nor the log shows: git took
   * the working tree back (a stash, a checkout, a rebase under way) and will bring it back. Kept;
   * `stale` says why it may go anyway (its holder is gone or silent past lock_ttl).
   */
  | { kind: 'rewound'; owner: LockOwner; onBoard: Task | undefined; stale: string | null }
  /** Held as the board says, but its process died or its heartbeat is older than lock_ttl. */
  | { kind: 'stale'; owner: LockOwner; reason: string }
  | { kind: 'healthy'; owner: LockOwner }
  | { kind: 'free' };

export function classifyLock(
  task: string,
  read: OwnerRead<LockOwner>,
  context: {
    board: Board;
    intents: Map<string, LockIntent<FinishIntent>>;
    probe: ProcessProbe;
    now: number;
    /** Whether the log holds the event with this id: asked only of recorded claims the board does not show. */
    claimLogged: (eventId: string) => boolean;
  },
): LockVerdict {
  if (read.state === 'free') return { kind: 'free' };
  if (read.state === 'unreadable') return { kind: 'unfinished', reason: read.reason, damaged: read.damaged === true };
  const owner = read.owner;
  const intent = context.intents.get(task);
  if (intent?.token === owner.token) {
    return judgeProcess(intent.writer, context.probe).alive ? { kind: 'finishing', owner } : { kind: 'dead-finish', owner, intent };
  }
  const onBoard = context.board.byId.get(task);
  if (!(onBoard?.status === 'in-progress' && onBoard.owner === owner.agent)) {
    if (owner.recorded) {
      // The claim was made, log and board both: the working tree's board and log going back
      // does not undo it. Only its own event still in the log says the task moved on since.
      if (owner.claimEvent !== null && context.claimLogged(owner.claimEvent)) return { kind: 'orphan', owner, onBoard };
      const staleness = judgeLock(owner, { now: context.now, ttlMs: context.board.settings.lockTtlMs, probe: context.probe, written: read.written });
      return { kind: 'rewound', owner, onBoard, stale: staleness.stale ? staleness.reason : null };
    }
    return judgeProcess(claimMaker(owner), context.probe).alive ? { kind: 'claiming', owner } : { kind: 'orphan', owner, onBoard };
  }
  const staleness = judgeLock(owner, { now: context.now, ttlMs: context.board.settings.lockTtlMs, probe: context.probe, written: read.written });
  return staleness.stale ? { kind: 'stale', owner, reason: staleness.reason } : { kind: 'healthy', owner };
}

// Who holds a claim lock, recorded so that a later judge can prove staleness rather than guess
// it: host and boot id say "this machine, this boot"; a pid with its start time says "this very
// process", even after the pid has been reused.
import type { Holder } from './liveness.js';
import { jsonShape } from './mkdir-lock.js';

export interface LockOwner extends Holder {
  task: string;
  agent: string;
  /**
   * The process the claim is bound to (`claim --pid P`), or null: a claim made by a short-lived
   * `guild-fs claim` belongs to the agent and lives by its heartbeat.
   */
  pid: number | null;
  /** The process making the claim, while it writes log and board: a half-made claim is one whose maker is gone. */
  claimPid: number;
  claimPidStart: string | null;
  /** The id the task.claimed event gets: heal looks for it in the log to finish or undo a half-made claim. */
  claimEvent: string | null;
  acquired: string;
  heartbeat: string;
  token: string;
  /**
   * Set once the claim's event is in the log and its board write is made. From then on the lock,
   * not the working tree, says the claim happened: a board and log that no longer show it were
   * rewound by git (a stash, a checkout), and heal keeps the lock. Absent on a half-made claim
   * and on locks taken before this field existed.
   */
  recorded?: true;
  /** The claim's ref on the board's remote, when claims go through one (see remote-task-locks.ts). */
  remote?: RemoteHold;
}

export interface RemoteHold {
  /** The git remote's name. */
  name: string;
  /** The claim commit this clone pushed last: the lease for its next move or delete. */
  oid: string;
  /**
   * A finish made here whose remote step could not be made (the remote was unreachable): what
   * is left to do there. Heal does it, and only then removes the lock.
   */
  pending?: 'done' | 'free';
}

/**
 * What a process is about to do to a held task (complete, fail, release), written into the lock
 * before it appends to the log: if it dies between log and board, heal finishes the work from
 * this record; if it died before the log, heal drops the record. The payload is the domain's.
 */
/** The process that made the claim, as a Holder: a lock the board does not show is a half-made claim once it is gone. */
export function claimMaker(owner: LockOwner): Holder {
  return { host: owner.host, bootId: owner.bootId, pid: owner.claimPid, pidStart: owner.claimPidStart };
}

export interface LockIntent<P = unknown> {
  task: string;
  /** The token of the lock it belongs to: an intent outliving its lock is recognised as such. */
  token: string;
  writer: Holder;
  ts: string;
  payload: P;
}

/** The fields every judge of a claim lock reads: without them a lock is damaged, not held. */
const REQUIRED_STRINGS = ['task', 'agent', 'host', 'token', 'acquired', 'heartbeat'] as const;

/**
 * What is wrong with a parsed owner.json as a claim lock's owner, or null when nothing is.
 * A hand edit, a disk error or another tool can leave `null`, `{}` or `[1,2]` there; such a
 * lock is read as unreadable (damaged) and healed by age, never judged field by field.
 */
export function lockOwnerProblem(value: unknown): string | null {
  const shape = jsonShape(value);
  if (shape !== 'an object') return shape;
  const record = value as Record<string, unknown>;
  for (const field of REQUIRED_STRINGS) {
    if (typeof record[field] !== 'string') return `${field} is ${field in record ? jsonShape(record[field]) : 'missing'}`;
  }
  if (record.pid !== null && typeof record.pid !== 'number') return `pid is ${'pid' in record ? jsonShape(record.pid) : 'missing'}`;
  return null;
}

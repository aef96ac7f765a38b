// A task's claim ref on the remote, refs/guild/claims/<ID>: what it holds and how it moves.
import { TASK_ID_PATTERN } from '../identifiers.js';
import { writeClaimCommit, writeDoneMarker } from '../git/claim-objects.js';
import { pushRef, type RefPush } from '../git/remote-refs.js';
import type { LockOwner } from './lock-owner.js';

export const CLAIMS_PREFIX = 'refs/guild/claims/';

/** The ref of a task's claim; the ID becomes part of a git argv, so it must be an ID and nothing else. */
export function claimRef(task: string): string {
  if (!TASK_ID_PATTERN.test(task)) throw new Error(`refusing a claim ref for ${JSON.stringify(task)}`);
  return `${CLAIMS_PREFIX}${task}`;
}

/** Where a ref should go: `to` an object id (null: removed), only if it is `expect` now (null: absent). */
export interface ClaimTarget {
  to: string | null;
  expect: string | null;
}

export class ClaimRefs {
  constructor(
    /** The clone's git common dir: where the claim commits are written. */
    readonly commonDir: string,
    /** A directory inside the clone, for git to run in. */
    readonly cwd: string,
    readonly remote: string,
    /** This clone's id (see remote/clone-id.ts), in every claim it makes. */
    readonly clone: string,
  ) {}

  writeClaim(owner: LockOwner, now: number): string {
    return writeClaimCommit(
      this.commonDir,
      { v: 1, task: owner.task, state: 'claimed', agent: owner.agent, host: owner.host, clone: this.clone, acquired: owner.acquired, heartbeat: owner.heartbeat, token: owner.token, claimEvent: owner.claimEvent },
      now,
    );
  }

  writeDone(task: string): string {
    return writeDoneMarker(this.commonDir, task);
  }

  push(task: string, target: ClaimTarget): RefPush {
    return pushRef(this.cwd, this.remote, claimRef(task), target.to, target.expect);
  }
}

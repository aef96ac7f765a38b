// Healing claims other clones made and then abandoned (a machine gone, a container killed): a
// claim ref unchanged, by this clone's own clock, for longer than lock_ttl is stale (see
// remote-claims.ts). It is removed with a lease on the very value judged, so of two healers only
// one wins, and a heartbeat that moved the ref in between saves the claim. Then, if this clone's
// board shows the task In Progress with no lock here, the task is requeued as heal requeues any
// stale claim (lock.healed): the next `sync --remote` carries that to the other clones.
import { pushRef } from '../git/remote-refs.js';
import { abandonedClaims, forgetAbandoned } from '../lock/abandoned-claims.js';
import { claimRef } from '../lock/claim-refs.js';
import { loadBoard, type Guild } from '../tasks/guild.js';
import { requeue } from '../tasks/requeue.js';
import { updateBoard } from '../tasks/update-board.js';
import { listRemoteClaims } from './remote-claims.js';

export interface RemoteHealAction {
  task: string;
  action: 'broken' | 'lost-race' | 'requeued' | 'poisoned' | 'abandoned-removed';
  reason: string;
}

export interface RemoteHealResult {
  remote: string;
  /** Claims of other clones seen on the remote. */
  claims: number;
  actions: RemoteHealAction[];
}

export async function healRemoteClaims(guild: Guild, remote: string, actor: string): Promise<RemoteHealResult> {
  const board = await loadBoard(guild);
  const ttl = board.settings.lockTtlMs;
  const listed = await listRemoteClaims(guild, remote);
  const now = guild.now();
  const result: RemoteHealResult = { remote, claims: 0, actions: [] };
  const broken: { task: string; reason: string }[] = [];
  for (const claim of listed.claims) {
    if (claim.state === 'abandoned') {
      // This clone's own claim whose push never answered but landed: nobody's, removed at once.
      const pushed = pushRef(guild.repo.mainWorktree, remote, claimRef(claim.task), null, claim.oid);
      if (pushed.outcome !== 'unreachable') forgetAbandoned(guild.repo.commonDir, remote, claim.task);
      if (pushed.outcome === 'ok') result.actions.push({ task: claim.task, action: 'abandoned-removed', reason: `a claim ref of this clone's whose push got no answer (exit 7), left on ${remote}` });
      continue;
    }
    if (claim.state !== 'claimed') continue;
    result.claims++;
    const age = now - Date.parse(claim.since);
    if (!(age > ttl)) continue;
    const reason = `its claim ref on ${remote} has not moved for ${Math.round(age / 1000)}s by this clone's clock (lock_ttl ${Math.round(ttl / 1000)}s)`;
    const pushed = pushRef(guild.repo.mainWorktree, remote, claimRef(claim.task), null, claim.oid);
    if (pushed.outcome === 'ok') broken.push({ task: claim.task, reason });
    else result.actions.push({ task: claim.task, action: 'lost-race', reason: pushed.outcome === 'rejected' ? 'the claim moved (a heartbeat) or another healer took it first' : pushed.reason });
  }
  for (const { task, reason } of broken) result.actions.push({ task, action: 'broken', reason });
  // Notes of abandoned claims whose ref did not land, or is gone: nothing left to remove.
  const listedAt = new Map(listed.claims.map((claim) => [claim.task, claim.oid]));
  for (const [task, oid] of abandonedClaims(guild.repo.commonDir, remote)) if (listedAt.get(task) !== oid) forgetAbandoned(guild.repo.commonDir, remote, task);
  const toRequeue = broken.filter(({ task }) => {
    const onBoard = board.byId.get(task);
    return onBoard?.status === 'in-progress' && guild.locks.read(task).state === 'free';
  });
  if (toRequeue.length > 0) {
    await updateBoard(guild, actor, `heal ${toRequeue.length} claim${toRequeue.length === 1 ? '' : 's'} of other clones`, (tx) => {
      for (const { task, reason } of toRequeue) {
        const onBoard = tx.board.byId.get(task);
        if (onBoard?.status !== 'in-progress' || guild.locks.read(task).state !== 'free') continue;
        const requeued = requeue(tx, onBoard, { type: 'lock.healed', data: { reason, holder: onBoard.owner, remote } });
        tx.afterCommit(() => void result.actions.push({ task, action: requeued.poisoned ? 'poisoned' : 'requeued', reason }));
      }
    });
  }
  return result;
}

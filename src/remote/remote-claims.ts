// What the remote says about claims: one `ls-remote` of refs/guild/claims/*, read against this
// clone's own locks (its claims) and each task's done marker (finished elsewhere).
//
// Staleness across machines is judged by this clone's clock alone (SPEC section 7): the first
// time a clone sees a claim ref at a value it notes the time, here, in
// <git-common-dir>/guild/remote/<remote>.json; a ref whose value has not changed for longer
// than lock_ttl by that note is stale. No decision reads a time another machine wrote. The same
// file is the last known state that `--offline` answers from.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RemoteUnreachableError } from '../errors.js';
import { TASK_ID_PATTERN } from '../identifiers.js';
import { listRemoteRefs } from '../git/remote-refs.js';
import { doneMarkerId, objectFormat } from '../git/claim-objects.js';
import { abandonedClaims } from '../lock/abandoned-claims.js';
import { CLAIMS_PREFIX } from '../lock/claim-refs.js';
import { replaceFile } from '../lock/mkdir-lock.js';
import type { ElsewhereClaim, Guild } from '../tasks/guild.js';

export interface RemoteClaim {
  task: string;
  /** The claim commit the ref points at. */
  oid: string;
  /**
   * mine: this clone's own claim (its lock names this commit); claimed: another clone's; done: the
   * task's done marker; abandoned: this clone's own claim whose push never answered (heal removes it).
   */
  state: 'mine' | 'claimed' | 'done' | 'abandoned';
  /** When this clone first saw the ref at this value, by its own clock. */
  since: string;
}

export interface RemoteClaims {
  remote: string;
  /** True when answered from the last listing, without asking the remote. */
  offline: boolean;
  /** When the remote was last asked (null: never, from this clone). */
  listedAt: string | null;
  claims: RemoteClaim[];
}

interface SeenFile {
  v: 1;
  listedAt: string;
  refs: Record<string, { oid: string; since: string }>;
}

function seenPath(guild: Guild, remote: string): string {
  return join(guild.repo.commonDir, 'guild', 'remote', `${remote}.json`);
}

function readSeen(guild: Guild, remote: string): SeenFile | null {
  try {
    const seen = JSON.parse(readFileSync(seenPath(guild, remote), 'utf8')) as SeenFile;
    return seen && seen.v === 1 && typeof seen.refs === 'object' && seen.refs !== null ? seen : null;
  } catch {
    return null;
  }
}

/**
 * The claims on the remote, asked now (one round trip) or, `offline`, as last seen. An unreachable
 * remote is exit 7: a command that needs to know what other clones hold must not guess.
 */
export async function listRemoteClaims(guild: Guild, remote: string, options: { offline?: boolean } = {}): Promise<RemoteClaims> {
  const now = guild.now();
  const previous = readSeen(guild, remote);
  let seen: SeenFile;
  if (options.offline) {
    seen = previous ?? { v: 1, listedAt: '', refs: {} };
  } else {
    const listing = await listRemoteRefs(guild.repo.mainWorktree, remote, CLAIMS_PREFIX);
    if (listing.outcome === 'unreachable') {
      throw new RemoteUnreachableError(`could not reach the remote ${remote} to see other clones' claims (${listing.reason}); nothing was done. Try again, or pass --offline to use what was seen last${previous ? ` (${previous.listedAt})` : ''}`, { remote });
    }
    seen = { v: 1, listedAt: new Date(now).toISOString(), refs: {} };
    for (const [ref, oid] of listing.refs) {
      const task = ref.slice(CLAIMS_PREFIX.length);
      if (!TASK_ID_PATTERN.test(task)) continue; // not a name guild-fs makes: never acted on
      const before = previous?.refs[task];
      seen.refs[task] = { oid, since: before && before.oid === oid ? before.since : seen.listedAt };
    }
    try {
      mkdirSync(join(guild.repo.commonDir, 'guild', 'remote'), { recursive: true });
      replaceFile(seenPath(guild, remote), JSON.stringify(seen));
    } catch {
      // Only the record of when refs were first seen: the next listing notes them again (later, never earlier).
    }
  }
  const format = objectFormat(guild.repo.commonDir);
  const mine = new Map<string, string>();
  for (const { task, read } of guild.locks.list()) if (read.state === 'held' && read.owner.remote) mine.set(task, read.owner.remote.oid);
  const abandoned = abandonedClaims(guild.repo.commonDir, remote);
  const claims: RemoteClaim[] = Object.entries(seen.refs).map(([task, { oid, since }]) => ({
    task,
    oid,
    since,
    state: oid === doneMarkerId(format, task) ? 'done' : mine.get(task) === oid ? 'mine' : abandoned.get(task) === oid ? 'abandoned' : 'claimed',
  }));
  return { remote, offline: Boolean(options.offline), listedAt: seen.listedAt || null, claims };
}

/** The claims other clones hold (or finished), by task: what Guild.elsewhere holds. */
export function elsewhereOf(claims: RemoteClaims): Map<string, ElsewhereClaim> {
  const elsewhere = new Map<string, ElsewhereClaim>();
  for (const claim of claims.claims) if (claim.state === 'claimed' || claim.state === 'done') elsewhere.set(claim.task, { state: claim.state });
  return elsewhere;
}

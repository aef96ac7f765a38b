// Whether this board's claims go through a git remote, and switching a Guild over to it.
import { ClaimRefs } from '../lock/claim-refs.js';
import { RemoteTaskLocks } from '../lock/remote-task-locks.js';
import type { Guild } from '../tasks/guild.js';
import { boardRemote } from './board-remote.js';
import { cloneId } from './clone-id.js';
import { elsewhereOf, listRemoteClaims, type RemoteClaims } from './remote-claims.js';


export interface RemoteUse {
  /** The remote's name, or null: the board has none. */
  remote: string | null;
  /** True when the board has one but --offline said not to use it. */
  offline: boolean;
}

/**
 * Makes the guild's claims go through the board's remote (RemoteTaskLocks), unless `offline`.
 * Called by every front end before a command that takes, moves or gives back a claim.
 */
export async function useRemote(guild: Guild, options: { offline?: boolean } = {}): Promise<RemoteUse> {
  const remote = await boardRemote(guild);
  if (remote === null) return { remote: null, offline: false };
  const offline = Boolean(options.offline);
  // Offline too: a claim that has a ref must not lose its lock to a step that could not reach it.
  if (!(guild.locks instanceof RemoteTaskLocks)) {
    guild.locks = new RemoteTaskLocks(guild.locks, new ClaimRefs(guild.repo.commonDir, guild.repo.mainWorktree, remote, cloneId(guild)), offline);
  }
  return { remote, offline };
}


/**
 * Before a query or a claim: what other clones hold, from the remote (or as last seen when
 * `offline`), put where the queries look (Guild.elsewhere). Null when the board has no remote.
 */
export async function seeElsewhere(guild: Guild, options: { offline?: boolean } = {}): Promise<RemoteClaims | null> {
  const remote = await boardRemote(guild);
  if (remote === null) return null;
  const claims = await listRemoteClaims(guild, remote, options);
  guild.elsewhere = elsewhereOf(claims);
  return claims;
}

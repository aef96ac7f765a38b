// Switching a Guild over to the board's git remote: claims through it, and what other clones hold.
import { ClaimRefs } from '../lock/claim-refs.js';
import { RemoteTaskLocks } from '../lock/remote-task-locks.js';
import type { Guild } from '../tasks/guild.js';
import { cloneId } from './clone-id.js';
import { elsewhereOf, listRemoteClaims, type RemoteClaims } from './remote-claims.js';

/**
 * Makes the guild's claims go through `remote`, the board's (RemoteTaskLocks). Offline too: a
 * claim that has a ref must not lose its lock to a step that could not reach it. Called by every
 * front end before a command that takes, moves or gives back a claim.
 */
export function useRemote(guild: Guild, remote: string, options: { offline?: boolean } = {}): void {
  if (guild.locks instanceof RemoteTaskLocks) return;
  guild.locks = new RemoteTaskLocks(guild.locks, new ClaimRefs(guild.repo.commonDir, guild.repo.mainWorktree, remote, cloneId(guild)), Boolean(options.offline));
}

/**
 * Before a query or a claim: what other clones hold on `remote`, asked now (or as last seen when
 * `offline`), put where the queries look (Guild.elsewhere).
 */
export async function seeElsewhere(guild: Guild, remote: string, options: { offline?: boolean } = {}): Promise<RemoteClaims> {
  const claims = await listRemoteClaims(guild, remote, options);
  guild.elsewhere = elsewhereOf(claims);
  return claims;
}

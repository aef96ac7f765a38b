// doctor's look at the board's remote: that this clone has it, that it answers, and what is left
// for heal to finish there (a finish made while it could not be reached).
import { RemoteUnreachableError } from '../errors.js';
import { git } from '../git/git.js';
import type { Guild } from '../tasks/guild.js';
import { listRemoteClaims } from './remote-claims.js';

export interface RemoteFindings {
  problems: string[];
  warnings: string[];
  info: string[];
}

export async function checkRemote(guild: Guild, remote: string): Promise<RemoteFindings> {
  const found: RemoteFindings = { problems: [], warnings: [], info: [] };
  const cwd = guild.repo.mainWorktree;
  const { code } = await git(['remote', 'get-url', remote], { cwd, readOnly: true, ok: [0, 2, 128] });
  if (code !== 0) {
    found.problems.push(`the board's front matter says remote: ${remote}, and this clone has no git remote of that name: claims, ready and sync --remote all fail (git remote add ${remote} URL)`);
    return found;
  }
  for (const { task, read } of guild.locks.list()) {
    if (read.state === 'held' && read.owner.remote?.pending) {
      found.warnings.push(`${task}: finished here, but its claim ref on ${remote} still waits for the remote (${read.owner.remote.pending === 'done' ? 'the done marker' : 'its removal'}): \`guild-fs heal\` makes that step once ${remote} answers`);
    }
  }
  try {
    const claims = await listRemoteClaims(guild, remote);
    const count = (state: string): number => claims.claims.filter((claim) => claim.state === state).length;
    found.info.push(`${remote}: ${count('mine')} claim(s) of this clone, ${count('claimed')} of other clones, ${count('done')} done marker(s)`);
    for (const claim of claims.claims) {
      if (claim.state === 'abandoned') found.warnings.push(`${claim.task}: a claim of this clone whose push got no answer (exit 7) landed on ${remote} after all: \`guild-fs heal\` removes it`);
    }
  } catch (error) {
    if (!(error instanceof RemoteUnreachableError)) throw error;
    found.warnings.push(error.message);
  }
  return found;
}

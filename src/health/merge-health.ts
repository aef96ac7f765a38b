// doctor's merge check: whether this clone merges the board and the log with guild-fs's drivers.
// .gitattributes is committed, but the driver commands live in each clone's own .git/config, so a
// fresh clone lacks them until something registers them (git/merge-drivers.ts: `init`, and every
// board write). doctor reports what is missing and cannot be registered, and conflict markers a
// merge left in the board that a person still has to resolve.
import { readAttributes } from '../merge/gitattributes.js';
import type { Guild } from '../tasks/guild.js';
import { configUnwritable, missingMergeDrivers } from '../git/merge-drivers.js';

export interface MergeSetup {
  problems: string[];
  warnings: string[];
  /** What repairs the problems, one entry per kind of problem. */
  fixes: string[];
}

export async function checkMergeSetup(guild: Guild, boardText: string | null): Promise<MergeSetup> {
  const root = guild.repo.mainWorktree;
  const problems: string[] = [];
  const warnings: string[] = [];
  const fixes: string[] = [];
  if (boardText !== null) {
    const lines = boardText.split('\n');
    lines.forEach((line, i) => {
      if (/^(<{7}|>{7})( |\r?$)|^={7}\r?$/.test(line)) problems.push(`ACTIVE_TASKS.md:${i + 1}: a merge conflict marker; resolve the conflict, then commit`);
    });
    if (problems.length > 0) fixes.push('resolve the conflict in ACTIVE_TASKS.md, then commit');
  }
  const missingLines = readAttributes(root).missing;
  if (missingLines.length > 0) warnings.push(`.gitattributes lacks ${missingLines.join(' and ')}: run \`guild-fs init\` so that branches merge the board task by task and the log by union`);
  const drivers = await missingMergeDrivers(root);
  if (drivers.length > 0) {
    const named = `the merge driver${drivers.length > 1 ? 's' : ''} ${drivers.join(', ')}`;
    const blocked = configUnwritable(guild.repo.commonDir);
    // Missing and impossible to add: every merge of the board in this clone is a plain text merge.
    if (blocked) fixes.push('make .git/config writable for this user, then run `guild-fs init`');
    if (blocked) problems.push(`this clone's git config lacks ${named}, and they cannot be registered: ${blocked}; git merges the board and the log as plain text until it is writable and \`guild-fs init\` runs`);
    else warnings.push(`this clone's git config lacks ${named}: run \`guild-fs init\` here (or let the next command that writes the board register them); until then git merges these files as plain text`);
  }
  return { problems, warnings, fixes };
}

// doctor's merge check: whether this clone will merge the board and the log with guild-fs's
// drivers (.gitattributes is committed, but the driver commands live in each clone's own
// config, so a fresh clone lacks them until `guild-fs init`), and whether a merge left conflict
// markers in the board that a person still has to resolve.
import { readAttributes } from './init-guild.js';
import { missingMergeDrivers } from './merge-driver.js';

export interface MergeSetup {
  problems: string[];
  warnings: string[];
}

export async function checkMergeSetup(root: string, boardText: string | null): Promise<MergeSetup> {
  const problems: string[] = [];
  const warnings: string[] = [];
  if (boardText !== null) {
    const lines = boardText.split('\n');
    lines.forEach((line, i) => {
      if (/^(<{7}|>{7})( |\r?$)|^={7}\r?$/.test(line)) problems.push(`ACTIVE_TASKS.md:${i + 1}: a merge conflict marker; resolve the conflict, then commit`);
    });
  }
  const missingLines = readAttributes(root).missing;
  if (missingLines.length > 0) warnings.push(`.gitattributes lacks ${missingLines.join(' and ')}: run \`guild-fs init\` so that branches merge the board task by task and the log by union`);
  const drivers = await missingMergeDrivers(root);
  if (drivers.length > 0) warnings.push(`this clone's git config lacks the merge driver${drivers.length > 1 ? 's' : ''} ${drivers.join(', ')}: run \`guild-fs init\` here (it is idempotent); until then git merges these files as plain text`);
  return { problems, warnings };
}

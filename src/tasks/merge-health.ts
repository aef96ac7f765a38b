// Whether this clone merges the board and the log with guild-fs's drivers. .gitattributes is
// committed, but the driver commands live in each clone's own .git/config, so a fresh clone
// lacks them until something registers them: `init`, and (ensureMergeDrivers) every command that
// writes the board, so that a clone that never ran init does not merge the board as plain text
// without anyone noticing. doctor reports what is missing, and conflict markers a merge left in
// the board that a person still has to resolve.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readAttributes } from './init-guild.js';
import type { Guild } from './guild.js';
import { DRIVER_NAMES, MERGE_KINDS, missingMergeDrivers, registerMergeDrivers } from './merge-driver.js';

export interface MergeSetup {
  problems: string[];
  warnings: string[];
  /** What repairs the problems, one entry per kind of problem. */
  fixes: string[];
}

/**
 * The drivers the clone's own config file lacks. Read as a file, not through `git config`: this
 * runs before every board write, and a git process would cost a claim a tenth of its time. A
 * driver set only in a global or included config counts as missing here; registering it in the
 * clone's config as well is harmless.
 */
export function driversMissingFromConfig(commonDir: string): string[] {
  let text: string;
  try {
    text = readFileSync(join(commonDir, 'config'), 'utf8');
  } catch {
    text = '';
  }
  const found = new Set<string>();
  let section: string | null = null;
  for (const line of text.split('\n')) {
    // [merge "guild-board"]: the section name is case-insensitive, the subsection is not.
    const header = /^\s*\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]/.exec(line);
    if (header) {
      section = header[1]!.toLowerCase() === 'merge' && header[2] !== undefined ? header[2].replace(/\\(.)/g, '$1') : null;
      continue;
    }
    if (section !== null && /^\s*driver\s*=\s*\S/i.test(line)) found.add(section);
  }
  return MERGE_KINDS.map((kind) => DRIVER_NAMES[kind]).filter((name) => !found.has(name));
}

/** Why guild-fs cannot write the clone's git config (git writes config.lock beside it, then renames), or null. */
export function configUnwritable(commonDir: string): string | null {
  const config = join(commonDir, 'config');
  for (const [path, what] of [
    [commonDir, `${commonDir} (git writes config.lock there)`],
    [config, config],
  ] as const) {
    if (path === config && !existsSync(config)) continue;
    try {
      accessSync(path, constants.W_OK);
    } catch (error) {
      return `${what} is not writable (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
    }
  }
  return null;
}

const failedIn = new Set<string>();

/**
 * Before a board write: registers the drivers this clone lacks, as `init` does. Costs one read of
 * .git/config when they are there; git runs only when one is missing (once per clone). A config
 * that cannot be written is said, never an error: the write itself matters more, and doctor
 * fails on it.
 */
export async function ensureMergeDrivers(guild: Guild, say: (line: string) => void): Promise<void> {
  const dir = guild.repo.commonDir;
  const missing = driversMissingFromConfig(dir);
  // Tried and failed in this process already: a daemon says it once, not at every reaction.
  if (missing.length === 0 || failedIn.has(dir)) return;
  const fail = (why: string): void => {
    failedIn.add(dir);
    say(`cannot register the merge driver${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: ${why}; git merges ACTIVE_TASKS.md and the log as plain text in this clone (\`guild-fs doctor\` says more)`);
  };
  // Checked first: git would take a config it cannot lock for contention, and retry for seconds.
  const blocked = configUnwritable(dir);
  if (blocked) return fail(blocked);
  try {
    const registered = (await registerMergeDrivers(guild.repo.mainWorktree)).filter((driver) => driver.state !== 'present');
    if (registered.length > 0) say(`registered the merge drivers ${registered.map((driver) => driver.name).join(', ')} in this clone's .git/config, as \`guild-fs init\` does`);
  } catch (error) {
    fail((error as Error).message);
  }
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

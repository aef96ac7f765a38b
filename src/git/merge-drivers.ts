// This clone's merge drivers: their names, registering them in .git/config (where git keeps the
// driver commands; .gitattributes, committed, only names them), and what a clone lacks. Below the
// domain: `init` registers them, every board write makes sure of them (a clone that never ran
// init must not merge the board as plain text unnoticed), doctor reports them.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { mergeDriverCommand, registerMergeDriver, shellWord } from './merge-plumbing.js';

export const MERGE_KINDS = ['board', 'log'] as const;
export type MergeKind = (typeof MERGE_KINDS)[number];

/** The drivers' names in .gitattributes and .git/config. */
export const DRIVER_NAMES: Record<MergeKind, string> = { board: 'guild-board', log: 'guild-log' };

export interface DriverRegistration {
  name: string;
  state: 'added' | 'updated' | 'present';
}

/**
 * Registers both drivers in the clone's config. The command names this installation of
 * guild-fs by absolute path: .git/config is the clone's own and never committed, and git runs
 * drivers through a shell where `guild-fs` may not be on PATH. `init` again updates it.
 */
export async function registerMergeDrivers(root: string): Promise<DriverRegistration[]> {
  const bin = join(packageRoot(), 'bin', 'guild-fs.js');
  if (!existsSync(bin)) throw new UsageError(`cannot find guild-fs's own bin/guild-fs.js to register as a merge driver (looked at ${bin})`);
  const program = `${shellWord(process.execPath)} ${shellWord(bin)} merge-driver`;
  const registered: DriverRegistration[] = [];
  for (const kind of MERGE_KINDS) {
    const name = DRIVER_NAMES[kind];
    const description = kind === 'board' ? 'guild-fs: ACTIVE_TASKS.md, task by task' : 'guild-fs: the audit log, as the union of both sides';
    registered.push({ name, state: await registerMergeDriver(root, { name, description, command: `${program} ${kind} %O %A %B %P` }) });
  }
  return registered;
}

/** Drivers that .gitattributes names but the clone's config lacks (a fresh clone before `init`). */
export async function missingMergeDrivers(root: string): Promise<string[]> {
  const names = MERGE_KINDS.map((kind) => DRIVER_NAMES[kind]);
  const commands = await Promise.all(names.map((name) => mergeDriverCommand(root, name)));
  return names.filter((_, i) => commands[i] === null);
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
export async function ensureMergeDrivers(repo: { commonDir: string; mainWorktree: string }, say: (line: string) => void): Promise<void> {
  const dir = repo.commonDir;
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
    const registered = (await registerMergeDrivers(repo.mainWorktree)).filter((driver) => driver.state !== 'present');
    if (registered.length > 0) say(`registered the merge drivers ${registered.map((driver) => driver.name).join(', ')} in this clone's .git/config, as \`guild-fs init\` does`);
  } catch (error) {
    fail((error as Error).message);
  }
}

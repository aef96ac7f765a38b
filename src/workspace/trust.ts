// Which of the board's commands this clone runs. `verify`, `worktree_setup` and the worker
// profiles' commands (`agents:`, run by `guild-fs run`) come from a committed file: whoever can push to the board could otherwise make every agent's machine run a
// program on its next `claim` or `complete`. So, as direnv and mise do, a clone runs them only
// after a person said so with `guild-fs trust`, which records a hash of each command in
// <git-common-dir>/guild/trust.json (never committed: each clone decides for itself). A command
// that changed since, or was never trusted, is refused (exit 2, EUNTRUSTED) with the argv it
// would have run and how to trust it; nothing runs.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BOARD_FILE } from '../board/board-file.js';
import { boardHead, frontMatterEnd } from '../board/board-head.js';
import { agentProfiles, nestedKeyLine, readFrontMatter, worktreeSettings } from '../board/front-matter.js';
import type { Board, Settings } from '../board/types.js';
import { FileError } from '../errors.js';
import { replaceFile } from '../lock/mkdir-lock.js';
import { runBoardCommand, type CommandRun } from './board-command.js';
import type { Guild } from '../tasks/guild.js';

/** The front matter keys whose value is run as a program. */
export const COMMAND_KEYS = ['verify', 'worktree_setup'] as const;
/** Those, and each worker profile's command as `agents.<name>` (its own key: trusting one profile trusts no other). */
export type CommandKey = (typeof COMMAND_KEYS)[number] | `agents.${string}`;
/** The command that runs each (and refuses while it is not trusted). */
export const RUN_BY: Record<(typeof COMMAND_KEYS)[number], string> = { verify: 'complete', worktree_setup: 'claim' };

export function runBy(key: CommandKey): string {
  return key === 'verify' || key === 'worktree_setup' ? RUN_BY[key] : 'run';
}

export function profileKey(name: string): CommandKey {
  return `agents.${name}`;
}

export interface BoardCommand {
  key: CommandKey;
  argv: string[];
}

interface TrustRecord {
  argv: string[];
  sha256: string;
  trusted: string;
}

interface TrustFile {
  version: 1;
  commands: Partial<Record<string, TrustRecord>>;
}

export interface CommandTrust extends BoardCommand {
  trusted: boolean;
  /** What this clone trusted for the key before, when that was another command. */
  previous: string[] | null;
}

export function trustPath(guild: Guild): string {
  return join(guild.repo.commonDir, 'guild', 'trust.json');
}

/** The key is part of the hash: trusting `npm test` as verify does not trust it as worktree_setup. */
export function commandHash(key: CommandKey, argv: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify([key, argv])).digest('hex');
}

/** The board's commands, in COMMAND_KEYS order, then the profiles' in the board's order; absent keys are left out. */
export function boardCommands(settings: Settings): BoardCommand[] {
  const parsed = worktreeSettings(settings);
  const argv: Record<(typeof COMMAND_KEYS)[number], string[] | null> = { verify: parsed.verify, worktree_setup: parsed.setup };
  const fixed = COMMAND_KEYS.filter((key) => argv[key] !== null).map((key) => ({ key: key as CommandKey, argv: argv[key]! }));
  return [...fixed, ...agentProfiles(settings).map((profile) => ({ key: profileKey(profile.name), argv: profile.command }))];
}

function readTrust(guild: Guild): TrustFile {
  try {
    const value = JSON.parse(readFileSync(trustPath(guild), 'utf8')) as TrustFile;
    if (value && typeof value === 'object' && value.version === 1 && value.commands && typeof value.commands === 'object') return value;
  } catch {
    // Missing, or damaged by hand: nothing is trusted, which only ever refuses more.
  }
  return { version: 1, commands: {} };
}

export function trustOf(guild: Guild, commands: readonly BoardCommand[]): CommandTrust[] {
  const file = readTrust(guild);
  return commands.map(({ key, argv }) => {
    const record = file.commands[key];
    const trusted = record?.sha256 === commandHash(key, argv);
    return { key, argv, trusted, previous: !trusted && record && Array.isArray(record.argv) ? record.argv : null };
  });
}

/** True when this clone trusts exactly this command for this key. */
export function isTrusted(guild: Guild, key: CommandKey, argv: readonly string[]): boolean {
  return readTrust(guild).commands[key]?.sha256 === commandHash(key, argv);
}

/**
 * Refuses (EUNTRUSTED, exit 2, `ACTIVE_TASKS.md:<line of the key>`) when any of the board's
 * commands among `keys` is not trusted here. `outcome` says what the refused command did not do.
 */
export function requireTrusted(guild: Guild, settings: Settings, text: string, keys: readonly CommandKey[], outcome: string, alternative?: string): void {
  const wanted = boardCommands(settings).filter((command) => keys.includes(command.key));
  if (wanted.length === 0) return;
  const untrusted = trustOf(guild, wanted).filter((command) => !command.trusted);
  if (untrusted.length === 0) return;
  const lines = untrusted.map((command) =>
    command.previous
      ? `  ${command.key} changed since this clone trusted it: it would run ${JSON.stringify(command.argv)} (trusted: ${JSON.stringify(command.previous)})`
      : `  ${command.key} would run ${JSON.stringify(command.argv)}`,
  );
  const names = untrusted.map((command) => command.key).join(' and ');
  const them = untrusted.length > 1 ? 'them' : 'it';
  const what = `${names} ${untrusted.length > 1 ? 'are' : 'is'} not trusted in this clone; ${outcome}:\n${lines.join('\n')}\nRead ${them}, then run \`guild-fs trust\` here to let this clone run ${them}${alternative ? ` (or ${alternative})` : ''}.`;
  throw new FileError('EUNTRUSTED', BOARD_FILE, keyLine(text, untrusted[0]!.key), what, { commands: untrusted, fix: 'guild-fs trust' });
}

/** The line of `key:` in the front matter (of `command:` under the profile for `agents.<name>`), for the error's file:line. */
function keyLine(text: string, key: CommandKey): number | undefined {
  const lines = text.split('\n', 400);
  if (!/^(\uFEFF)?---/.test(lines[0] ?? '')) return undefined;
  let end = 1;
  while (end < lines.length && !/^---[ \t]*\r?$/.test(lines[end]!)) end++;
  const path = key.startsWith('agents.') ? ['agents', key.slice('agents.'.length), 'command'] : [key];
  // Line 1 is the opening ---: what nestedKeyLine answers when the key is not there.
  const line = nestedKeyLine(lines.slice(1, end), path, 1);
  return line === 1 ? undefined : line;
}

/**
 * `claim`'s check, made before the lock is taken so that a refused claim leaves nothing behind.
 * It reads the front matter alone, not the board: a claim on a board of thousands of tasks must
 * not pay for a second read of them. A board whose front matter names no command (most boards)
 * costs one read of its first 64 KiB and a text search; no YAML is parsed.
 */
export async function requireSetupTrusted(guild: Guild): Promise<void> {
  const text = boardHead(guild.boardPath);
  if (text === null) return; // no board: the claim itself says so
  const end = frontMatterEnd(text);
  if (end < 0) return;
  const head = text.slice(0, end);
  // YAML can spell a key without its letters in a row (an escape in a double-quoted key, a
  // !!binary tag): any backslash or tag means a real parse. Whatever this gate misses,
  // workspace.ts asks again before running anything (runTrustedCommand).
  if (!/worktree_setup|[\\!]/.test(head)) return;
  // Parsing YAML costs a claim ~5-10 ms (loading the parser): a front matter already found
  // trusted against this very trust.json is not parsed again.
  const seen = checkedKey(guild, head);
  if (seen !== null && readText(checkedPath(guild)) === seen) return;
  const lines = head.split(/\r?\n/);
  const { settings } = await readFrontMatter(BOARD_FILE, lines);
  if (!worktreeSettings(settings).enabled) return;
  requireTrusted(guild, settings, head, ['worktree_setup'], 'claim took no lock and ran nothing', 'claim --no-worktree');
  if (seen === null) return;
  try {
    mkdirSync(dirname(checkedPath(guild)), { recursive: true });
    replaceFile(checkedPath(guild), seen);
  } catch {
    // Only a shortcut: the next claim parses again.
  }
}

/**
 * What a passed check depends on, and nothing else: the front matter's text and trust.json's.
 * A revoke or a new trust changes the second, an edit of the board the first, so a stale entry
 * can only miss, never let an untrusted command through. null: nothing is trusted here.
 */
function checkedKey(guild: Guild, head: string): string | null {
  const trust = readText(trustPath(guild));
  if (trust === null) return null;
  const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
  return `v1 ${sha(head)} ${sha(trust)}`;
}

function checkedPath(guild: Guild): string {
  return join(guild.repo.commonDir, 'guild', 'cache', 'trusted-front-matter');
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}


/**
 * Runs a board command only if this clone trusts it; otherwise says so in `notes` and runs
 * nothing. For the step after a check that already refused (claim's): the board may have changed
 * between that check and this run.
 */
export async function runTrustedCommand(guild: Guild, key: CommandKey, argv: readonly string[], cwd: string, notes: string[]): Promise<CommandRun | null> {
  if (isTrusted(guild, key, argv)) return runBoardCommand(argv, cwd);
  notes.push(`${key} ${JSON.stringify(argv)} is not trusted in this clone (it changed since the claim began?): not run; \`guild-fs trust\` lets this clone run it`);
  return null;
}

export interface TrustResult {
  file: string;
  /** The board's commands as now trusted, each with what it was before. */
  commands: (BoardCommand & { was: 'trusted' | 'new' | 'changed'; previous: string[] | null })[];
  /** Keys trusted before that the board no longer names: forgotten, so that bringing one back asks again. */
  dropped: CommandKey[];
  revoked: boolean;
}

/** `guild-fs trust`: trust exactly the board's commands as they are now. */
export function trustBoard(guild: Guild, board: Pick<Board, 'settings'>, now = guild.now()): TrustResult {
  const commands = boardCommands(board.settings);
  const before = readTrust(guild);
  const shown = trustOf(guild, commands).map(({ key, argv, trusted, previous }) => ({ key, argv, was: trusted ? ('trusted' as const) : previous ? ('changed' as const) : ('new' as const), previous }));
  const next: TrustFile = { version: 1, commands: {} };
  const at = new Date(now).toISOString();
  for (const { key, argv } of commands) {
    const old = before.commands[key];
    const sha256 = commandHash(key, argv);
    next.commands[key] = { argv, sha256, trusted: old?.sha256 === sha256 ? old.trusted : at };
  }
  const dropped = (Object.keys(before.commands) as CommandKey[]).filter((key) => before.commands[key] && !next.commands[key]);
  const path = trustPath(guild);
  if (commands.length === 0) rmSync(path, { force: true });
  else {
    mkdirSync(dirname(path), { recursive: true });
    replaceFile(path, `${JSON.stringify(next, null, 2)}\n`);
  }
  return { file: path, commands: shown, dropped, revoked: false };
}

/** `guild-fs trust --revoke`: this clone runs none of the board's commands until trusted again. */
export function revokeTrust(guild: Guild): TrustResult {
  const before = readTrust(guild);
  const dropped = (Object.keys(before.commands) as CommandKey[]).filter((key) => before.commands[key]);
  rmSync(trustPath(guild), { force: true });
  return { file: trustPath(guild), commands: [], dropped, revoked: true };
}

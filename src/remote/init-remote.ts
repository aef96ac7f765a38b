// `init --remote NAME`: the board's front matter gets `remote: NAME` (claims and sync go through
// that git remote) and `ids: hash` (clones that add tasks offline never give two tasks one ID).
import { readFileSync } from 'node:fs';
import { writeBoardText } from '../board/board-file.js';
import { FRONT_MATTER_OPENING } from '../board/board-head.js';
import { decodeLossless } from '../board/board-bytes.js';
import { UsageError } from '../errors.js';
import { requireRemote } from './remote-git.js';
import { REMOTE_PATTERN } from '../identifiers.js';
import { withBoardMutex } from '../lock/board-mutex.js';
import type { Guild } from '../tasks/guild.js';

export interface RemoteSetup {
  remote: string;
  /** What init did to the front matter: the keys it added, or nothing (already there). */
  added: string[];
  /** The remote the board already named, when it is another one: kept, not replaced. */
  kept?: string;
}

/** Refuses a name that is not a remote of this clone: claims would fail later, one by one. */
export async function requireGitRemote(cwd: string, remote: string): Promise<void> {
  if (!REMOTE_PATTERN.test(remote) || remote.includes('..')) throw new UsageError(`--remote must name a git remote (like origin), got ${JSON.stringify(remote)}`, { remote }, 'EBADREMOTE');
  await requireRemote(cwd, remote);
}

/**
 * The front matter lines `remote:` and `ids: hash`, inserted before its closing --- when they
 * are missing (a board without front matter gets one); every other byte stays.
 */
export function withRemoteSettings(text: string, remote: string): { text: string; added: string[]; kept?: string } {
  const eol = /\r\n/.test(text.slice(0, 4096)) ? '\r\n' : '\n';
  const lines = text.split(/(?<=\n)/);
  if (!FRONT_MATTER_OPENING.test(text)) {
    return { text: `---${eol}remote: ${remote}${eol}ids: hash${eol}---${eol}${text}`, added: ['remote', 'ids'] };
  }
  const close = lines.findIndex((line, i) => i > 0 && /^---[ \t]*\r?\n?$/.test(line));
  if (close < 0) return { text, added: [] }; // an unclosed front matter: the board is refused when read, with its line
  const block = lines.slice(1, close);
  const existing = block.find((line) => /^remote[ \t]*:/.test(line));
  const added: string[] = [];
  const insert: string[] = [];
  if (!existing) {
    insert.push(`remote: ${remote}${eol}`);
    added.push('remote');
  }
  if (!block.some((line) => /^ids[ \t]*:/.test(line))) {
    insert.push(`ids: hash${eol}`);
    added.push('ids');
  }
  const keptName = existing?.replace(/^remote[ \t]*:[ \t]*/, '').replace(/[ \t]*(#.*)?\r?\n?$/, '').replace(/^["']|["']$/g, '');
  const result = [...lines.slice(0, close), ...insert, ...lines.slice(close)].join('');
  return { text: result, added, ...(keptName !== undefined && keptName !== remote ? { kept: keptName } : {}) };
}

export async function setUpRemote(guild: Guild, remote: string): Promise<RemoteSetup> {
  await requireGitRemote(guild.repo.mainWorktree, remote);
  return withBoardMutex(guild.mutexPath, `init --remote ${remote}`, async () => {
    const before = decodeLossless(readFileSync(guild.boardPath));
    const change = withRemoteSettings(before, remote);
    if (change.added.length > 0) await writeBoardText(guild.boardPath, change.text);
    return { remote: change.kept ?? remote, added: change.added, ...(change.kept ? { kept: change.kept } : {}) };
  });
}

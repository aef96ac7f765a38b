// Whether the board names a git remote: asked by every claim and query before anything else, so
// it is kept apart from the code that uses the remote (use-remote.ts and what it loads), which a
// board without one never evaluates.
import { boardHead, frontMatterEnd } from '../board/board-head.js';
import { loadBoard, type Guild } from '../tasks/guild.js';

/**
 * The board's `remote:`, or null. A front matter that does not mention the word is answered from
 * its first bytes (most boards, and every claim on them, pay nothing); one that does is read as
 * YAML, through the board's parse cache.
 */
export async function boardRemote(guild: Guild): Promise<string | null> {
  if (guild.settings) return guild.settings.remote;
  const head = boardHead(guild.boardPath);
  if (head === null) return null;
  const end = frontMatterEnd(head);
  if (end < 0 || !/remote|[\\!]/.test(head.slice(0, end))) return null;
  return (await loadBoard(guild)).settings.remote;
}

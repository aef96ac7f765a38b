// Front matter `commit: true`: after each change of state, the board and the log are committed
// on the branch the main worktree has checked out, with `git commit --only` on those two paths,
// so whatever else is staged or changed there stays as the person left it. The user's hooks run
// as for any commit. Two guild-fs processes committing at once meet on index.lock; the git
// runner retries. The commit holds the two files as they are when it runs, so it may include a
// change another agent made a moment later; its message names the change that asked for it.
import { BOARD_FILE } from '../board/board-file.js';
import { worktreeSettings } from '../board/front-matter.js';
import { git, gitLine } from '../git/git.js';
import { LOG_FILE } from '../log/append-event.js';
import { withBoardMutex } from '../lock/board-mutex.js';
import { loadBoard, type Guild } from '../tasks/guild.js';

export interface AutoCommit {
  commit: string | null;
  /** Why nothing was committed. */
  reason?: string;
}

export async function autoCommitIfEnabled(guild: Guild, message: string): Promise<AutoCommit | null> {
  const settings = guild.settings ?? (await loadBoard(guild)).settings;
  if (!worktreeSettings(settings).commit) return null;
  return autoCommit(guild, message);
}

export async function autoCommit(guild: Guild, message: string): Promise<AutoCommit> {
  // Under the board mutex: a write in its two steps leaves the board without a name for a few
  // microseconds (board-file.ts), and a commit made then would record it deleted.
  return withBoardMutex(guild.mutexPath, 'commit the board and log', () => commitBoardAndLog(guild, message));
}

/**
 * The commit itself; the caller holds the board mutex. `config`: `-c` options put before the
 * command (an identity for a clone without one, git/commit-identity.ts).
 */
export async function commitBoardAndLog(guild: Guild, message: string, config: readonly string[] = []): Promise<AutoCommit> {
  const cwd = guild.repo.mainWorktree;
  const paths = [BOARD_FILE, LOG_FILE];
  const commit = (): Promise<{ code: number; stdout: string; stderr: string }> => git([...config, 'commit', '-q', '--only', '-m', message, '--', ...paths], { cwd, ok: [0, 1] });
  let result = await commit();
  if (result.code !== 0 && /did not match any file/.test(result.stderr)) {
    // A path git does not track yet (the first commit of a new log): --only needs it known.
    await git(['add', '--', ...paths], { cwd });
    result = await commit();
  }
  if (result.code !== 0) {
    const said = `${result.stdout}\n${result.stderr}`;
    if (/nothing to commit|no changes added|nothing added/.test(said)) return { commit: null, reason: 'nothing changed' };
    return { commit: null, reason: said.trim().split('\n').slice(-2).join(' / ') };
  }
  return { commit: await gitLine(['rev-parse', 'HEAD'], { cwd, readOnly: true }) };
}

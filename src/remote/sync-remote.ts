// `sync --remote` (and the daemon's `--sync-every`): the board and the log travel as commits.
//   1. fetch the branch the main worktree has checked out, first: an unreachable remote is exit 7
//      with nothing done at all;
//   2. sync (hand edits recorded, IDs given), so that what is committed is consistent;
//   3. under the board mutex: commit ACTIVE_TASKS.md and the log only (nothing else staged or
//      changed is touched), then merge the fetched branch through the merge drivers; a conflict
//      they cannot settle (another file) aborts the merge and changes nothing;
//   4. after a merge, sync again (a task two clones added under one ID gets its own ID here) and
//      commit what that recorded;
//   5. push; a push the remote turned down because it moved meanwhile fetches, merges and tries
//      again, a bounded number of times;
//   6. with the remote claims known, report tasks In Progress whose claim is gone everywhere.
// The merge is guild-fs's own doing: the log and board it leaves are taken as they are (the log's
// mark moves to them, the board becomes the latest version guild-fs knows), so that neither the
// daemon nor a later write mistakes them for a rewind or a stale save.
import { BusyError, GitError, NoRemoteError, SyncConflictError } from '../errors.js';
import { commitIdentityConfig } from '../git/commit-identity.js';
import { gitOperationUnderWay } from '../git/git-busy.js';
import { gitLine } from '../git/git.js';
import { ensureMergeDrivers } from '../git/merge-drivers.js';
import { shapeOf } from '../board/steady-read.js';
import { syncAsItIs, syncBoard, type SyncResult } from '../history/sync-board.js';
import { withBoardMutex } from '../lock/board-mutex.js';
import { markLogAsItIs } from '../log/log-mark.js';
import { boardVersions, loadBoard, type Guild } from '../tasks/guild.js';
import { commitBoardAndLog } from '../workspace/auto-commit.js';
import { listRemoteClaims } from './remote-claims.js';
import { reconcileClaims, type ClaimedOnRemote, type OrphanedTask } from './reconcile-claims.js';
import { currentBranch, fetchBranch, isAncestorOf, mergeRef, pushBranch, requireRemote, resolveRef, trackingRef } from './remote-git.js';

export interface SyncRemoteOptions {
  /**
   * A person's `sync --remote`: the board and the log as they stand are what they mean, as plain
   * `sync` takes them (syncAsItIs). The daemon's sync leaves that to people (syncBoard only).
   */
  asItIs?: boolean;
  /** The remote's claims (default: listed from it, remote-claims.ts); null: not looked at. */
  claims?: (() => Promise<ClaimedOnRemote>) | null;
  /** Pushes tried before giving up on a remote that keeps moving (default 5). */
  maxAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Notes for people (stderr). */
  say?: (line: string) => void;
}

export interface SyncRemoteResult {
  remote: string;
  branch: string;
  /** The last commit of the board and log this sync made, or null when they had nothing new. */
  committed: string | null;
  /** Whether the remote's branch brought commits that were merged (or fast-forwarded) in. */
  merged: boolean;
  pushed: boolean;
  /** Pushes tried (0 when the remote had everything already). */
  attempts: number;
  /** Events the syncs recorded (hand edits, IDs given), by type. */
  recorded: Record<string, number>;
  /** Tasks In Progress whose claim is gone everywhere; null when the remote claims were not looked at. */
  orphaned: OrphanedTask[] | null;
  /** The branch's commit when the sync ended. */
  head: string;
}

const DEFAULT_ATTEMPTS = 5;
const COMMIT_MESSAGE = 'guild: sync';
const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function syncRemote(guild: Guild, actor: string, options: SyncRemoteOptions = {}): Promise<SyncRemoteResult> {
  const cwd = guild.repo.mainWorktree;
  const say = options.say ?? (() => {});
  const maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_ATTEMPTS);
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const remote = (await loadBoard(guild)).settings.remote;
  if (remote === null) {
    throw new NoRemoteError('sync --remote needs the git remote the board travels through: run `guild-fs init --remote origin`, or add `remote: origin` to the front matter of ACTIVE_TASKS.md');
  }
  refuseWhileBusy(guild);
  await requireRemote(cwd, remote);
  const branch = await currentBranch(cwd);
  const tracking = trackingRef(remote, branch);
  // Before anything changes here: an unreachable remote is exit 7 with nothing done.
  let remoteHasBranch = await fetchBranch(cwd, remote, branch);
  const identity = await commitIdentityConfig(cwd);
  await ensureMergeDrivers(guild.repo, say);

  const recorded: Record<string, number> = {};
  const count = (result: SyncResult): void => {
    for (const [type, n] of Object.entries(result.recorded)) recorded[type] = (recorded[type] ?? 0) + n;
  };
  count(options.asItIs ? await syncAsItIs(guild, actor) : await syncBoard(guild, actor));

  let committed: string | null = null;
  let merged = false;
  let pushed = false;
  let attempts = 0;
  for (;;) {
    const step = await commitAndMerge(guild, remoteHasBranch ? tracking : null, identity);
    committed = step.committed ?? committed;
    if (step.merged) {
      merged = true;
      // The merged board may hold what only a write settles (a task two clones added under one
      // ID, left without one by the board's merge): settled and recorded now, and committed, so
      // that every clone receives the same board rather than settling it each its own way.
      count(await syncBoard(guild, actor));
      committed = (await withBoardMutex(guild.mutexPath, 'sync --remote: commit', () => commitBoardAndLog(guild, COMMIT_MESSAGE, identity))).commit ?? committed;
    }
    const theirs = remoteHasBranch ? await resolveRef(cwd, tracking) : null;
    const head = await gitLine(['rev-parse', 'HEAD'], { cwd, readOnly: true });
    if (theirs !== null && (await isAncestorOf(cwd, head, theirs))) break; // the remote has it all
    attempts++;
    if ((await pushBranch(cwd, remote, branch)) === 'pushed') {
      pushed = true;
      break;
    }
    if (attempts >= maxAttempts) {
      throw new GitError(`the remote ${remote} moved on ${branch} at each of ${attempts} pushes (other clones pushing at the same time); what was committed and merged here stays: sync --remote again`, { remote, branch, attempts });
    }
    // Jittered, growing: clones turned down together do not come back together.
    await sleep(Math.min(100 * 2 ** (attempts - 1), 2_000) * (0.5 + random()));
    remoteHasBranch = await fetchBranch(cwd, remote, branch);
  }

  let orphaned: OrphanedTask[] | null = null;
  const listClaims = options.claims === undefined ? () => remoteClaimTasks(guild, remote) : options.claims;
  if (listClaims) {
    const claims = await listClaims();
    orphaned = reconcileClaims(await loadBoard(guild), claims, (id) => guild.locks.read(id).state !== 'free');
  }
  return { remote, branch, committed, merged, pushed, attempts, recorded, orphaned, head: await gitLine(['rev-parse', 'HEAD'], { cwd, readOnly: true }) };
}

function refuseWhileBusy(guild: Guild): void {
  const sign = gitOperationUnderWay(guild.repo);
  if (sign !== null) {
    throw new BusyError(`a git operation is under way in the main worktree (${sign} in ${guild.repo.commonDir}): finish or abort it, then sync --remote again`, { sign });
  }
}

/**
 * One hold of the board mutex, so that no guild-fs write lands between the commit and the merge
 * (git would refuse to merge over it): the board and the log committed if they changed, then the
 * remote's branch merged in if it has anything new.
 */
async function commitAndMerge(guild: Guild, theirs: string | null, identity: readonly string[]): Promise<{ committed: string | null; merged: boolean }> {
  const cwd = guild.repo.mainWorktree;
  return withBoardMutex(guild.mutexPath, 'sync --remote: commit and merge', async () => {
    refuseWhileBusy(guild);
    const { commit } = await commitBoardAndLog(guild, COMMIT_MESSAGE, identity);
    if (theirs === null || (await isAncestorOf(cwd, theirs, 'HEAD'))) return { committed: commit, merged: false };
    const outcome = await mergeRef(cwd, guild.repo.commonDir, theirs, identity);
    if (!outcome.merged) {
      if (outcome.conflicts.length > 0) {
        // What the drivers said of the conflicts they left (two clones adding a task under one ID).
        const why = outcome.said.split('\n').filter((line) => line.trim() !== '' && !/^(Auto-merging|CONFLICT|Automatic merge failed|guild-fs: .*conflicts? left marked)/.test(line));
        throw new SyncConflictError(
          `merging ${theirs} met conflicts the merge drivers cannot settle, in ${outcome.conflicts.join(', ')}; the merge was aborted and everything is as it was${commit ? ` (the board and log committed as ${commit.slice(0, 12)})` : ''}: merge ${theirs} by hand, then sync --remote again${why.length > 0 ? `\n${why.slice(0, 6).join('\n')}` : ''}`,
          { files: outcome.conflicts, ref: theirs, committed: commit },
        );
      }
      throw new GitError(`git merge ${theirs} failed, nothing was merged: ${outcome.said.split('\n').filter((line) => line.trim() !== '').slice(0, 6).join(' / ')}`, { ref: theirs, committed: commit });
    }
    // The log and board the merge left are guild-fs's own doing (see the top of this file).
    markLogAsItIs(guild.logPath, guild.logMarkPath);
    const board = await loadBoard(guild);
    boardVersions(guild).record(null, board.text, shapeOf(board.text, board.tasks.length), guild.now());
    return { committed: commit, merged: true };
  });
}

/** The tasks with a claim ref on the remote in any state, this clone's own among them. */
async function remoteClaimTasks(guild: Guild, remote: string): Promise<ClaimedOnRemote> {
  return new Set((await listRemoteClaims(guild, remote)).claims.map((claim) => claim.task));
}

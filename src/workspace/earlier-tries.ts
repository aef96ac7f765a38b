// What a try leaves on its task's branch, and what the next claimer is told about it.
//
// A try that ends (fail, a heal of its dead holder, a release) may leave uncommitted work in the
// worktree, and the next claimer gets that same worktree. Inheriting it unseen mixes two agents'
// work with nobody the wiser, so the leftovers are committed on the branch as that try's commit:
// by `fail` itself (the failing agent is alive and it is its own work), and otherwise by the next
// claim, before the worktree is handed on (heal does not: it runs in the daemon, and a holder
// judged stale by its heartbeat alone may still be writing; at the next claim its lock is gone
// and nobody else can be working there). Ignored files are not work and stay as they are.
//
// The next claimer is then told how far the branch is behind the main branch and what each
// earlier try left: its commits and how it ended, with the reasons from the log.
import { gitLine } from '../git/git.js';
import { aheadBehind, commitEverything, countCommits, listWorktrees, worktreeStatus } from '../git/worktree.js';
import { scanHistoryBackwards } from '../log/find-events.js';
import { GitError } from '../errors.js';
import type { Task } from '../board/types.js';
import { resolveOwnTask } from '../tasks/claim-task.js';
import { requireReason, type LeftWork } from '../tasks/finish-task.js';
import { loadBoard, type Guild } from '../tasks/guild.js';
import { worktreeOfTask } from './workspace.js';


/**
 * Commits whatever the try left uncommitted in the task's worktree. `tryNumber` and `how` go into
 * the message ("GLD-3: try 2 failed: tests broke"). Null when the task has no worktree.
 */
export async function commitLeftWork(guild: Guild, task: Pick<Task, 'id' | 'branch' | 'title'>, tryNumber: number, how: string, body: string): Promise<LeftWork | null> {
  const entry = worktreeOfTask(await listWorktrees(guild.repo.mainWorktree), task);
  if (!entry || entry.prunable || entry.branch === null) return null;
  const branch = entry.branch.replace(/^refs\/heads\//, '');
  const dirty = await worktreeStatus(entry.path);
  const work: LeftWork = { branch, path: entry.path, head: '', committed: null, files: dirty.length };
  if (dirty.length > 0) {
    const subject = `${task.id}: try ${tryNumber} ${oneLine(how)}`;
    try {
      work.committed = await commitEverything(entry.path, `${subject}\n\n${body}`);
    } catch (error) {
      // A hook that refuses the commit must not keep the try from ending: the work stays in the
      // worktree, the event says so, and the next claim tries again (and says so if it fails too).
      if (!(error instanceof GitError)) throw error;
      work.notCommitted = String(error.data.stderr ?? error.message).trim().split('\n').slice(-3).join(' / ');
    }
  }
  work.head = await gitLine(['rev-parse', 'HEAD'], { cwd: entry.path, readOnly: true });
  return work;
}

function oneLine(text: string): string {
  const first = text.trim().split('\n')[0]!;
  return first.length > 72 ? `${first.slice(0, 71)}…` : first;
}

/** One earlier holder's try, from the log. */
export interface EarlierTry {
  try: number;
  agent: string | null;
  ended: 'failed' | 'healed' | 'released' | 'open';
  reason: string | null;
  at: string | null;
  /** Commits this try added to the branch; null when the log does not say where it ended. */
  commits: number | null;
  /** The commit that saved its uncommitted work, if one was made. */
  committed: string | null;
}

export interface BranchHistory {
  branch: string;
  main: string;
  /** Commits of the main branch the task's branch does not have. */
  behind: number;
  /** Commits on the task's branch that the main branch does not have. */
  ahead: number;
  tries: EarlierTry[];
}

interface LoggedEvent {
  type: string;
  agent?: string;
  ts?: string;
  data?: Record<string, unknown>;
}

/** This task's events since its task.created, oldest first (a reused ID's older story is not its own). */
export function eventsOfTask(logPath: string, id: string): LoggedEvent[] {
  const events: LoggedEvent[] = [];
  const needle = `"task":"${id}"`;
  scanHistoryBackwards(logPath, (line) => {
    if (!line.includes(needle)) return false;
    let event: LoggedEvent & { task?: string };
    try {
      event = JSON.parse(line) as LoggedEvent & { task?: string };
    } catch {
      return false;
    }
    if (event.task !== id) return false;
    events.push(event);
    return event.type === 'task.created';
  });
  return events.reverse();
}

/** The tries the log records for a task, each with how it ended and where the branch stood then. */
function triesFromLog(events: readonly LoggedEvent[]): { tries: (EarlierTry & { head: string | null })[]; base: string | null } {
  const tries: (EarlierTry & { head: string | null })[] = [];
  let base: string | null = null;
  let open: (EarlierTry & { head: string | null }) | null = null;
  let count = 0;
  for (const event of events) {
    const data = event.data ?? {};
    if (event.type === 'worktree.created' && base === null && typeof data.base === 'string') base = data.base;
    if (event.type === 'task.claimed') {
      open = { try: count + 1, agent: event.agent ?? null, ended: 'open', reason: null, at: null, commits: null, committed: null, head: null };
      tries.push(open);
      continue;
    }
    const ended = event.type === 'task.failed' ? 'failed' : event.type === 'lock.healed' ? 'healed' : event.type === 'task.released' ? 'released' : null;
    if (ended === null || open === null) continue;
    open.ended = ended;
    open.reason = typeof data.reason === 'string' ? data.reason : null;
    open.at = event.ts ?? null;
    if (typeof data.tries === 'number') {
      count = data.tries;
      open.try = data.tries;
    }
    open.head = typeof data.head === 'string' ? data.head : null;
    open.committed = typeof data.committed === 'string' ? data.committed : null;
    if (ended === 'healed' && typeof data.holder === 'string') open.agent = data.holder;
    open = null;
  }
  return { tries, base };
}

/**
 * A task whose branch exists is being handed to a new holder. Whatever the last try left
 * uncommitted in the worktree being reused (`path`; null when a new one was made) is committed as
 * that try's commit first; then the new holder is told how far behind the main branch the branch
 * is, and each earlier try's commits and end.
 */
export async function handOnBranch(guild: Guild, id: string, branch: string, path: string | null, main: { ref: string; commit: string }, notes: string[]): Promise<BranchHistory> {
  const cwd = guild.repo.mainWorktree;
  const { tries, base } = triesFromLog(eventsOfTask(guild.logPath, id));
  const ended = tries.filter((t) => t.ended !== 'open');
  const last = ended.at(-1);
  let savedNow = false;
  if (path !== null) {
    const dirty = await worktreeStatus(path);
    if (dirty.length > 0) {
      const who = last ? `try ${last.try} (${last.agent ?? 'unknown'}, ${last.ended})` : 'an earlier holder';
      const subject = last ? `${id}: try ${last.try} ${last.ended}${last.reason ? `: ${oneLine(last.reason)}` : ''}` : `${id}: work left uncommitted by an earlier holder`;
      try {
        const commit = await commitEverything(path, `${subject}\n\nLeft uncommitted in the worktree by ${who}; committed by guild-fs when the task was claimed again, so that the next try does not inherit it unseen.`);
        if (last) last.committed = commit;
        savedNow = true;
        notes.push(`${id}: ${dirty.length} uncommitted path${dirty.length === 1 ? '' : 's'} left by ${who} committed on ${branch} as ${commit.slice(0, 12)}`);
      } catch (error) {
        if (!(error instanceof GitError)) throw error;
        notes.push(`${id}: the worktree ${path} holds ${dirty.length} uncommitted path${dirty.length === 1 ? '' : 's'} left by ${who}, and committing them failed (${String(error.data.stderr ?? error.message).trim().split('\n').at(-1)}): look at \`git status\` there before you start`);
      }
    }
  }
  const current = await gitLine(['rev-parse', `refs/heads/${branch}`], { cwd, readOnly: true });
  // The last try ended where the branch stands now unless the log says otherwise: nobody has
  // worked on it since (a heal or a release records no head).
  if (last && (last.head === null || savedNow)) last.head = current;
  let previous = base;
  for (const t of ended) {
    t.commits = previous !== null && t.head !== null ? await countCommits(cwd, previous, t.head) : null;
    previous = t.head;
  }
  const { ahead, behind } = await aheadBehind(cwd, main.commit, current);
  return { branch, main: main.ref.replace(/^refs\/heads\//, ''), behind, ahead, tries: ended.map(({ head: _head, ...t }) => t) };
}

/**
 * The failing holder's uncommitted work in the task's worktree, committed on its branch as this
 * try's commit, before failTask records the failure. Only for the holder's own task in progress:
 * anything else is failTask's to refuse.
 */
export async function commitFailedTry(guild: Guild, agent: string, id: string | undefined, reason: string): Promise<LeftWork | null> {
  requireReason(reason);
  const task = resolveOwnTask(await loadBoard(guild), agent, id);
  // No branch on the board: claimed without a worktree, and git is not even started.
  if (task.status !== 'in-progress' || task.owner !== agent || task.branch === null) return null;
  const tryNumber = task.tries + 1;
  const body = `What try ${tryNumber} of ${task.id} (${task.title}) left uncommitted when ${agent} failed it; committed by guild-fs fail so that the next try does not inherit it unseen.\n\nReason:\n${reason}`;
  return commitLeftWork(guild, task, tryNumber, `failed: ${reason}`, body);
}

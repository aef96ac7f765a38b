// A task's workspace: its own branch guild/<ID>-<slug> and worktree <clone>.worktrees/<ID>, a
// folder beside the clone (worktreeRoot says why).
//
// Made after the claim is recorded (lock -> log -> board -> worktree), never before: a claim that
// loses makes nothing, and a crash at any point leaves a state the next `claim <ID>` of the
// holder (or of whoever claims the task after a heal) completes, because every step here is
// idempotent:
//   - a new branch starts from main, with the branches of the task's needs that are Done but
//     not merged into main merged in (needs-branches.ts: all of them, or none when one conflicts);
//   - a branch guild/<ID>-* that exists is reused, never re-created from main: a re-claim after
//     a failure starts from the earlier work, not from scratch, and merges nothing in (it says
//     which needs' work the branch lacks);
//   - a worktree registered for that branch is reused as it is;
//   - a directory at the worktree's path that git does not know but that is a worktree begun for
//     this repository (a crash inside `worktree add`) is moved aside to <path>.orphaned-<time>,
//     never deleted; any other directory there is not guild-fs's, and is refused (exit 2);
//   - the board's `branch:` field and `worktree.created` are written last, by updateBoard.
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { worktreeSettings, type WorktreeSettings } from '../board/front-matter.js';
import type { Task } from '../board/types.js';
import { GitError, UsageError } from '../errors.js';
import { BRANCH_PREFIX, branchFor, taskOfBranch } from '../git/branch-name.js';
import { currentBranch } from '../git/find-repo.js';
import { addWorktree, branchesUnder, checkedOutRef, commitOf, listWorktrees, pruneWorktreeRecords, resetToHead, unlockWorktree, worktreeStatus, type WorktreeEntry } from '../git/worktree.js';
import { isBranchName, isTaskId } from '../identifiers.js';
import type { Guild } from '../tasks/guild.js';
import { loadBoard } from '../tasks/guild.js';
import type { CommandRun } from './board-command.js';
import { handOnBranch, type BranchHistory } from './earlier-tries.js';
import { needsMissingFrom, NO_NEEDS, pendingNeeds, startFromNeeds, type NeedsStart } from './needs-branches.js';
import { runTrustedCommand } from './trust.js';
import { updateBoard } from '../tasks/update-board.js';

export interface Workspace {
  task: string;
  path: string;
  branch: string;
  /** The commit the branch started from (new branch: main, or the merge of main with its needs' branches), or its head when it was reused. */
  base: string;
  /** The needs' branches merged in (or that conflicted), or, for a reused branch, those whose work it lacks. */
  needs: NeedsStart;
  /** A new worktree was made now (false: an existing one was found). */
  created: boolean;
  /** The branch existed already (a re-claim): its commits are kept. */
  reusedBranch: boolean;
  copied: string[];
  setup: CommandRun | null;
  /** A branch handed on to a new holder: how far behind the main branch, what earlier tries left. */
  history: BranchHistory | null;
}

/** `noCommit`: skipped because the repository has no commit yet (the one skip a person's claim may stand without). */
export type WorkspaceOutcome = { workspace: Workspace; skipped: null } | { workspace: null; skipped: string; noCommit?: boolean };

/**
 * Where worktrees go: worktree_root (relative to the main worktree), or else a folder beside the
 * clone named after it, `<clone>.worktrees/` (`~/src/app` -> `~/src/app.worktrees/GLD-4`). Not
 * inside the clone (git would show every worktree as an untracked directory, and editors and
 * watchers would index each one again), and never under `.git`: agent CLIs refuse to write
 * there (Claude Code calls every path under `.git` a sensitive file). Beside the clone rather
 * than in a per-user data folder: on the same file system as the clone (a worktree is a cheap
 * checkout there), found where a person looks, and removed with the clone's parent folder.
 */
export function worktreeRoot(guild: Guild, settings: WorktreeSettings): string {
  return settings.root === null ? defaultWorktreeRoot(guild) : resolve(guild.repo.mainWorktree, settings.root);
}

/** The default worktree folder is the clone's own name plus this. */
export const WORKTREES_SUFFIX = '.worktrees';

/** `<clone>.worktrees`, beside the clone (see worktreeRoot). */
export function defaultWorktreeRoot(guild: Guild): string {
  const main = resolve(guild.repo.mainWorktree);
  // A clone at the file system's root has no name to go by: its worktrees go inside it.
  return basename(main) === '' ? join(main, WORKTREES_SUFFIX) : join(dirname(main), `${basename(main)}${WORKTREES_SUFFIX}`);
}

/**
 * Where worktrees went before they moved beside the clone: <git-common-dir>/guild/worktrees.
 * Worktrees there keep working (each is found by its branch in `git worktree list`, wherever it
 * is); only new ones go to worktreeRoot.
 */
export function oldWorktreeRoot(guild: Guild): string {
  return join(guild.repo.commonDir, 'guild', 'worktrees');
}

/** The main worktree's checked-out ref and its commit (null in a repository without a commit). */
export async function mainHead(guild: Guild): Promise<{ ref: string; commit: string | null }> {
  const ref = await checkedOutRef(guild.repo.mainWorktree);
  return { ref, commit: await commitOf(guild.repo.mainWorktree, ref) };
}

/**
 * The main worktree's checked-out ref and commit as `git worktree list` gave them: git lists the
 * main worktree first, with its HEAD's commit (all zeros before the first commit) and its branch
 * (none when detached). Read from the listing a claim makes anyway, it saves the claim two git
 * processes (symbolic-ref, rev-parse); null when the listing has no main worktree (a bare clone).
 */
export function mainHeadOf(entries: readonly WorktreeEntry[]): { ref: string; commit: string | null } | null {
  const first = entries[0];
  if (!first || first.bare || first.head === null) return null;
  return { ref: first.branch ?? 'HEAD', commit: /^0+$/.test(first.head) ? null : first.head };
}

/** The task whose worktree the command runs in (from its branch, guild/<ID>-...), or undefined. */
export function taskOfWorktree(guild: Guild): string | undefined {
  if (guild.repo.worktree === guild.repo.mainWorktree) return undefined;
  const branch = currentBranch(guild.repo);
  return (branch && taskOfBranch(branch)) ?? undefined;
}

/** The registered worktree that has one of the task's branches checked out. */
export function worktreeOfTask(entries: readonly WorktreeEntry[], task: Pick<Task, 'id' | 'branch'>): WorktreeEntry | undefined {
  const mine = entries.filter((entry) => entry.branch !== null && taskOfBranch(entry.branch) === task.id);
  return mine.find((entry) => entry.branch === `refs/heads/${task.branch}`) ?? mine[0];
}

export interface EnsureOptions {
  /** The agent has just claimed the task (not a second claim of its own): a branch it gets from earlier tries is handed on. */
  fresh?: boolean;
  /** The claim's lock token: who holds the task is the lock's to say, not one read of the board. */
  token: string;
}

/**
 * Whether worktrees are on is the caller's to decide, once (claim-workspace.ts): a board read
 * here that says otherwise for a moment (a person's older buffer saved over it) must not send an
 * agent to the main checkout. For the same reason the holder is the lock's token, not the board.
 */
export async function ensureWorkspace(guild: Guild, agent: string, id: string, notes: string[], options: EnsureOptions): Promise<WorkspaceOutcome> {
  if (!isTaskId(id)) throw new Error(`not a task ID: ${id}`);
  const board = await loadBoard(guild);
  const task = board.byId.get(id);
  const settings = worktreeSettings(board.settings);
  const lock = guild.locks.read(id);
  if (lock.state !== 'held' || lock.owner.token !== options.token) return { workspace: null, skipped: `${agent}'s claim of ${id} was lost (its lock is ${lock.state === 'held' ? `${lock.owner.agent}'s, under another claim` : lock.state})` };
  if (!task) return { workspace: null, skipped: `${id} is not on the board as it reads now` };
  const main = guild.repo.mainWorktree;
  let entries = await listWorktrees(main);
  const head = mainHeadOf(entries) ?? (await mainHead(guild));
  if (head.commit === null) return { workspace: null, skipped: 'the repository has no commit yet: commit once, then `guild-fs claim ' + id + '` again makes the worktree', noCommit: true };

  const branch = await chooseBranch(main, task);
  // Read before anything is made: the needs' branches as the board has them now.
  const pending = await pendingNeeds(main, board, task, head.commit);
  let needs: NeedsStart = NO_NEEDS;
  const mainCommit = head.commit;
  let start = mainCommit;
  const existing = entries.find((entry) => entry.branch === `refs/heads/${branch.name}`);
  let path: string;
  let created = false;
  let reusedPath: string | null = null;
  if (existing && !existing.prunable) {
    path = existing.path;
    reusedPath = path;
    if (existing.locked === INITIALIZING) await finishCutShortCheckout(main, path, notes);
  } else {
    path = join(worktreeRoot(guild, settings), id);
    if (existing || entries.some((entry) => entry.prunable)) {
      // Records of worktrees whose directory is gone: forgetting them removes no file.
      await pruneWorktreeRecords(main);
      entries = await listWorktrees(main);
    }
    let atPath = worktreeAt(entries, path);
    if (atPath?.locked === INITIALIZING && atPath.branch === null) {
      // `worktree add` killed before it set the worktree's HEAD: never handed out, nothing in it
      // but part of a checkout. Unlocked and moved aside (not deleted), then forgotten by git.
      await unlockWorktree(main, atPath.path);
      moveAside(atPath.path, guild.now(), notes);
      await pruneWorktreeRecords(main);
      entries = await listWorktrees(main);
      atPath = worktreeAt(entries, path);
    }
    if (atPath) throw new GitError(`${path} is already a worktree, of ${atPath.branch ?? 'a detached HEAD'}; move it away to let ${id} have its worktree there`, { path });
    if (existsSync(path) && readdirSync(path).length > 0) {
      // Only guild-fs's own half-made worktree is moved aside: with worktree_root outside the
      // repository, <root>/<ID> may be anyone's directory, and guild-fs never moves what it did not make.
      if (!madeByGitForThisRepo(path, guild.repo.commonDir)) {
        throw new UsageError(`${path} exists and is not a worktree of this repository (no .git file pointing into ${join(guild.repo.commonDir, 'worktrees')}); guild-fs moves only its own half-made worktrees: move it away, or set worktree_root elsewhere, then \`guild-fs claim ${id}\` again`, { path }, 'EWORKTREEPATH');
      }
      moveAside(path, guild.now(), notes);
    }
    mkdirSync(dirname(path), { recursive: true });
    if (!branch.exists) ({ start, needs } = await startFromNeeds(main, id, { ref: head.ref, commit: head.commit }, pending));
    try {
      await addWorktree(main, path, branch.name, branch.exists ? null : start);
      created = true;
    } catch (error) {
      // Another process of the same holder may have made it a moment ago: that one is as good.
      const now = (await listWorktrees(main)).find((entry) => entry.branch === `refs/heads/${branch.name}` && !entry.prunable);
      if (!now) throw error;
      path = now.path;
    }
  }
  // Before `base` is read: committing what the last try left moves the branch's head.
  let history: BranchHistory | null = null;
  if (branch.exists && options.fresh) {
    try {
      history = await handOnBranch(guild, id, branch.name, reusedPath, { ref: head.ref, commit: head.commit }, notes);
    } catch (error) {
      // A report that git cannot make (a commit the log names is gone) must not cost the worktree.
      if (!(error instanceof GitError)) throw error;
      notes.push(`${id}: what earlier tries left on ${branch.name} could not be worked out: ${error.message}`);
    }
  }
  // A branch another process of the holder made a moment ago (created false, branch new) may
  // start at its own merge of the needs: its head says where, not ours.
  const base = branch.exists || !created ? ((await commitOf(main, `refs/heads/${branch.name}`)) ?? start) : start;
  if (branch.exists && pending.length > 0) needs = await needsMissingFrom(main, base, pending);
  const copied = created ? copyInto(main, path, settings.copy, notes) : [];
  let setup: CommandRun | null = null;
  if (created && settings.setup) {
    setup = await runTrustedCommand(guild, 'worktree_setup', settings.setup, path, notes);
    if (setup && !setup.ok) notes.push(`worktree_setup (${settings.setup.join(' ')}) failed in ${path} (exit ${setup.exitCode ?? setup.signal}):\n${setup.tail}`);
  }

  const shownPath = loggedPath(main, path, settings);
  await updateBoard(guild, agent, `record the worktree of ${id}`, (tx) => {
    const now = tx.board.byId.get(id);
    if (!now || now.status !== 'in-progress' || now.owner !== agent) return;
    if (now.branch === branch.name && !created) return;
    if (now.branch !== branch.name) tx.edit.update(now, { fields: { branch: branch.name } });
    tx.emit('worktree.created', id, { branch: branch.name, base, path: shownPath, ...(branch.exists ? { reused: true } : {}), ...needsData(mainCommit, needs) });
  });
  return { workspace: { task: id, path, branch: branch.name, base, needs, created, reusedBranch: branch.exists, copied, setup, history }, skipped: null };
}

/**
 * The worktree's path as worktree.created records it. The log is committed: a path relative to
 * the main worktree (`../app.worktrees/GLD-4`) means the same in every clone and names no
 * machine's folders; only a worktree_root a person wrote as an absolute path is logged as one.
 */
function loggedPath(main: string, path: string, settings: WorktreeSettings): string {
  const rel = relative(main, path);
  if (isAbsolute(rel) || (settings.root !== null && isAbsolute(settings.root))) return path;
  return rel.split(sep).join('/');
}

/** What worktree.created records of the needs' branches: only what happened, so that a task without pending needs logs what it always did. */
function needsData(mainCommit: string, needs: NeedsStart): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  if (needs.merged.length > 0) {
    data.main = mainCommit;
    data.merged = needs.merged.map(({ task, branch, commit }) => ({ task, branch, commit }));
  }
  if (needs.conflicts.length > 0) data.conflicts = needs.conflicts.map(({ task, branch, commit, files }) => ({ task, branch, commit, files }));
  if (needs.error) data.mergeError = needs.error;
  return data;
}

/** What `git worktree add` writes into a worktree's lock while it checks the files out. */
const INITIALIZING = 'initializing';

/**
 * True when `path` is a worktree `git worktree add` began for this repository: its .git file
 * ("gitdir: <common-dir>/worktrees/<name>") points into this repository's worktrees, whether or
 * not git still has the record (pruned after a crash).
 */
function madeByGitForThisRepo(path: string, commonDir: string): boolean {
  let text: string;
  try {
    if (!lstatSync(join(path, '.git')).isFile()) return false;
    text = readFileSync(join(path, '.git'), 'utf8');
  } catch {
    return false;
  }
  const match = /^gitdir: (.+?)\r?\n?$/.exec(text.split('\n')[0] + '\n');
  if (!match) return false;
  const admin = resolve(path, match[1]!.trim());
  // The common dir always exists; its worktrees/ may be gone once git pruned the last record.
  return basename(dirname(admin)) === 'worktrees' && samePath(dirname(dirname(admin)), commonDir);
}

/** A directory git does not (or no longer) knows as a worktree: renamed, never deleted. */
function moveAside(path: string, now: number, notes: string[]): void {
  const aside = `${path}.orphaned-${new Date(now).toISOString().replace(/[:.]/g, '-')}`;
  renameSync(path, aside);
  notes.push(`${path} held files git does not know as a worktree (a worktree whose making was cut short); moved to ${aside}`);
}

/**
 * A worktree still locked "initializing": the `worktree add` that made it was killed during its
 * checkout, so its claim never returned and no agent has worked in it. If all git sees is files
 * missing or not yet in the index (all a cut-short checkout can leave), `reset --hard` finishes
 * the checkout: it rewrites only files HEAD has (from that same checkout) and removes none. Anything
 * else is left as it is, and said.
 */
async function finishCutShortCheckout(main: string, path: string, notes: string[]): Promise<void> {
  const status = await worktreeStatus(path);
  if (status.every((entry) => entry.code === 'D ' || entry.code === ' D' || entry.code === '??')) {
    await resetToHead(path);
    await unlockWorktree(main, path);
    notes.push(`${path}: finished a checkout that was cut short`);
  } else {
    notes.push(`${path} is locked "initializing" by a \`git worktree add\` that did not finish, and holds changes: left as it is (check it, then \`git worktree unlock\`)`);
  }
}

/**
 * The task's branch: the one the board names if it exists, else any guild/<ID>-* that exists
 * (the title may have changed since), else a new guild/<ID>-<slug of the title>.
 */
async function chooseBranch(cwd: string, task: Task): Promise<{ name: string; exists: boolean }> {
  const id = task.id!;
  const existing = (await branchesUnder(cwd, BRANCH_PREFIX)).filter((name) => taskOfBranch(name) === id && isBranchName(name));
  if (task.branch && existing.includes(task.branch)) return { name: task.branch, exists: true };
  if (existing.length > 0) return { name: existing.sort()[0]!, exists: true };
  return { name: branchFor(id, task.title), exists: false };
}

/**
 * worktree_copy: files the agent needs that git does not carry (.env, local config). The paths
 * were validated as relative and free of `..`; a symlink that leads out of the repository is
 * still refused here, where the file system is seen.
 */
function copyInto(main: string, worktree: string, paths: readonly string[], notes: string[]): string[] {
  const copied: string[] = [];
  const root = realpathSync(main);
  for (const path of paths) {
    const source = join(main, path);
    if (!existsSync(source)) {
      notes.push(`worktree_copy: ${path} does not exist in the main worktree; not copied`);
      continue;
    }
    const real = realpathSync(source);
    if (real !== root && !real.startsWith(root + sep)) {
      notes.push(`worktree_copy: ${path} leads outside the repository (${real}); not copied`);
      continue;
    }
    const target = join(worktree, path);
    if (existsSync(target)) {
      notes.push(`worktree_copy: ${path} is already in the worktree (tracked by git?); left as it is`);
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    cpSync(real, target, { recursive: statSync(real).isDirectory(), errorOnExist: true, force: false });
    copied.push(path);
  }
  return copied;
}

/**
 * The registered worktree at `path`. A path that does not exist yet (a new task's worktree, the
 * usual case) can only be the same as an entry's by name: an existing entry's real path exists.
 * So the entries' real paths, an lstat per path component of each of a clone's many worktrees,
 * are asked only when `path` exists (measured: 3 ms of the runner's one thread per claim with
 * 200 worktrees).
 */
function worktreeAt(entries: readonly WorktreeEntry[], path: string): WorktreeEntry | undefined {
  if (!lstatSync(path, { throwIfNoEntry: false })) return entries.find((entry) => resolve(entry.path) === resolve(path));
  return entries.find((entry) => samePath(entry.path, path));
}

function samePath(a: string, b: string): boolean {
  const real = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  return resolve(a) === resolve(b) || real(a) === real(b);
}

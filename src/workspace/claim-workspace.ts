// A claim with its worktree: the sequence `guild-fs claim`, the MCP `claim` tool and `guild-fs
// run`'s workers run for each task, kept in one place so that all check trust, claim and make
// the worktree alike. The trust check comes before the lock is taken, so a refused claim leaves
// nothing behind; the worktree comes after the claim is recorded (see workspace.ts for why).
//
// With worktrees on, claim and worktree are one step: its result is a registered worktree of this
// clone, not the main one, with the task's branch checked out, while the lock is still this
// claim's, or it is an error and the claim is given back with the reason (task.released). So a
// caller that gets a result can start an agent in it, and never needs a fallback directory.
import { realpathSync } from 'node:fs';
import { worktreeSettings } from '../board/front-matter.js';
import { GuildError, HeldError } from '../errors.js';
import { isLinkedWorktreeOf } from '../git/find-repo.js';
import { claimTask, type ClaimResult } from '../tasks/claim-task.js';
import { releaseUnstarted } from '../tasks/finish-task.js';
import { loadBoard, type Guild } from '../tasks/guild.js';
import { checkedOutBranch } from './checked-out.js';
import { requireSetupTrusted } from './trust.js';
import type { Workspace } from './workspace.js';

export interface ClaimWorkspaceRequest {
  agent: string;
  id?: string;
  caps?: readonly string[];
  /** Bind the claim to this process too: when it dies, the claim is stale on proof. */
  pid?: number | null;
  /**
   * false: claim without a worktree (--no-worktree, or a run on a board with `worktrees: false`).
   * true: the caller decided that worktrees are on (a run, once, at its start): no board read
   * during the claim can turn them off. Absent: the front matter decides (`guild-fs claim`).
   */
  worktree?: boolean;
}

export interface ClaimedWorkspace extends ClaimResult {
  /** The task's worktree; null with --no-worktree, `worktrees: false`, or (a person's claim) in a repository without a commit. */
  worktree: Workspace | null;
  /** Why no worktree was made, when one would have been. */
  worktreeSkipped?: string;
}

/** `notes` gets what people should read on stderr (a worktree skipped, earlier work handed on). */
export async function claimWorkspace(guild: Guild, request: ClaimWorkspaceRequest, notes: string[]): Promise<ClaimedWorkspace> {
  // A worktree_setup this clone has not trusted refuses the claim before its lock is taken (trust.ts).
  if (request.worktree !== false) await requireSetupTrusted(guild);
  const claim = await claimTask(guild, { agent: request.agent, id: request.id, caps: request.caps, pid: request.pid ?? null });
  // The claim is recorded; the worktree comes after it, and its code (and git's) is loaded only
  // now, so --no-worktree claims start no faster or slower.
  if (!(request.worktree ?? (await worktreesOn(guild)))) return { ...claim, worktree: null };
  const id = claim.task.id!;
  const { ensureWorkspace } = await import('./workspace.js');
  let outcome;
  try {
    outcome = await ensureWorkspace(guild, request.agent, id, notes, { fresh: !claim.alreadyHeld, token: claim.lock.token });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return refuse(guild, request.agent, claim, { reason: `its worktree could not be made: ${why}`, cause: error });
  }
  if (outcome.skipped !== null) {
    // A person's claim in a repository without a commit stands, as documented: nothing is
    // started by it, and the note says how to get the worktree. A run starts no agent there.
    if (outcome.noCommit && request.worktree === undefined) {
      notes.push(`no worktree for ${id}: ${outcome.skipped}`);
      return { ...claim, worktree: null, worktreeSkipped: outcome.skipped };
    }
    return refuse(guild, request.agent, claim, { reason: `no worktree: ${outcome.skipped}` });
  }
  const problem = notTheTasksWorktree(guild, outcome.workspace, claim.lock.token);
  if (problem !== null) return refuse(guild, request.agent, claim, { reason: problem });
  return { ...claim, task: { ...claim.task, branch: outcome.workspace.branch }, worktree: outcome.workspace };
}

/**
 * The front matter as the claim read it says worktrees are on. Off only when a second read says
 * so too: one read of a board a person is saving is not enough to send an agent to the main checkout.
 */
async function worktreesOn(guild: Guild): Promise<boolean> {
  if (!guild.settings || worktreeSettings(guild.settings).enabled) return true;
  return worktreeSettings((await loadBoard(guild)).settings).enabled;
}

/**
 * What is wrong with the workspace a claim is about to hand out, or null: it must be a linked
 * worktree of this clone (never the main one) with the task's branch checked out, and the lock
 * must still be this claim's. Read from the files git keeps (no git process).
 */
export function notTheTasksWorktree(guild: Guild, workspace: Workspace, token: string): string | null {
  const main = realOrSame(guild.repo.mainWorktree);
  if (realOrSame(workspace.path) === main) return `the worktree found for ${workspace.task} is the main checkout (${workspace.path})`;
  if (!isLinkedWorktreeOf(workspace.path, guild.repo.commonDir)) return `${workspace.path} is not a registered worktree of this clone`;
  const branch = checkedOutBranch(workspace.path);
  if (branch !== workspace.branch) return `${workspace.path} has ${branch ?? 'a detached HEAD'} checked out, not ${workspace.branch}`;
  const lock = guild.locks.read(workspace.task);
  if (lock.state !== 'held' || lock.owner.token !== token) return `the claim of ${workspace.task} was lost while its worktree was made (its lock is ${lock.state === 'held' ? `${lock.owner.agent}'s, under another claim` : lock.state})`;
  return null;
}

function realOrSame(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * The try does not start: the claim is given back with the reason (task.released), when it is
 * still this claim's, and the error says so plainly. The worktree's own error keeps its code
 * and exit (an unrelated directory in the way is exit 2, as before).
 */
async function refuse(guild: Guild, agent: string, claim: ClaimResult, why: { reason: string; cause?: unknown }): Promise<never> {
  const id = claim.task.id!;
  const { released } = await releaseUnstarted(guild, agent, id, { reason: why.reason, claim: { token: claim.lock.token } });
  const after = released ? `the claim was released (task.released with this reason); \`guild-fs claim ${id}\` tries again` : 'the claim was no longer this one (healed or released meanwhile): nothing was released';
  const message = `${id} was claimed but no agent may start on it: ${why.reason}\n(${after}; --no-worktree works without a worktree)`;
  const data = { task: id, released, reason: why.reason };
  if (!released) throw new HeldError(message, { ...data, lost: true });
  const cause = why.cause instanceof GuildError ? why.cause : null;
  throw new GuildError(cause?.code ?? 'EWORKTREE', cause?.exitCode ?? 1, message, data);
}

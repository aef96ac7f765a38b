// A claim with its worktree: the sequence `guild-fs claim` runs and `guild-fs run`'s workers run
// for each task, kept in one place so that both check trust, claim and make the worktree alike.
// The trust check comes before the lock is taken, so a refused claim leaves nothing behind; the
// worktree comes after the claim is recorded (see workspace.ts for why).
import { worktreeSettings } from '../board/front-matter.js';
import { GuildError } from '../errors.js';
import { claimTask, type ClaimResult } from '../tasks/claim-task.js';
import type { Guild } from '../tasks/guild.js';
import { requireSetupTrusted } from './trust.js';
import type { Workspace } from './workspace.js';

export interface ClaimWorkspaceRequest {
  agent: string;
  id?: string;
  caps?: readonly string[];
  /** Bind the claim to this process too: when it dies, the claim is stale on proof. */
  pid?: number | null;
  /** false: claim without a worktree (--no-worktree). */
  worktree?: boolean;
}

export interface ClaimedWorkspace extends ClaimResult {
  /** The task's worktree; null with --no-worktree, `worktrees: false`, or in a repository without a commit. */
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
  if (request.worktree === false || (guild.settings && !worktreeSettings(guild.settings).enabled)) return { ...claim, worktree: null };
  const { ensureWorkspace } = await import('./workspace.js');
  let outcome;
  try {
    outcome = await ensureWorkspace(guild, request.agent, claim.task.id!, notes, { fresh: !claim.alreadyHeld });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new GuildError(
      error instanceof GuildError ? error.code : 'EWORKTREE',
      error instanceof GuildError ? error.exitCode : 1,
      `${claim.task.id} is claimed, but its worktree could not be made: ${why}\n(\`guild-fs claim ${claim.task.id}\` again retries it; --no-worktree works without one)`,
      { task: claim.task.id },
    );
  }
  if (outcome.skipped !== null) {
    notes.push(`no worktree for ${claim.task.id}: ${outcome.skipped}`);
    return { ...claim, worktree: null, worktreeSkipped: outcome.skipped };
  }
  return { ...claim, task: { ...claim.task, branch: outcome.workspace.branch }, worktree: outcome.workspace };
}

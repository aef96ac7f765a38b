import { completeTask, requireCleanNote, type FinishResult } from '../../tasks/finish-task.js';
import { refuseControlCharacters } from '../../control-characters.js';
import type { CheckedWork } from '../../workspace/check-work.js';
import { notePendingRemote, optionalTaskId, type Context } from '../context.js';
import { taskFromWorktree } from './worktree-task.js';

export interface CompleteOutput extends FinishResult {
  /** What was checked in the task's worktree: branch, head, a --commit-all commit, verify. */
  work: CheckedWork | null;
}

export async function run(args: { id?: string; note?: string; commitAll?: string }, ctx: Context): Promise<CompleteOutput> {
  // Before --commit-all commits anything: a note that would be refused after the commit.
  requireCleanNote(args.note);
  if (args.commitAll !== undefined) refuseControlCharacters({ name: 'the commit message (--commit-all)', value: args.commitAll, lines: 'many' });
  const guild = await ctx.claimingGuild();
  const agent = ctx.agent();
  const id = (await optionalTaskId(ctx, args.id)) ?? (await taskFromWorktree(ctx));
  // A task without a worktree (claimed with --no-worktree) has nothing to check; git is not
  // even loaded unless the board names a branch for it.
  const { checkWork } = await import('../../workspace/check-work.js');
  const work = await checkWork(guild, agent, id, { commitAll: args.commitAll });
  const result = await completeTask(guild, agent, id, { note: args.note, work });
  notePendingRemote(result, ctx);
  return { ...result, work };
}

export function render(result: CompleteOutput): string {
  const lines = [`${result.already ? 'already ' : ''}${result.status === 'review' ? 'in review' : 'done'}: ${result.task.id} ${result.task.title}`];
  if (result.work?.committed) lines.push(`committed: ${result.work.committed.slice(0, 12)}`);
  if (result.work?.verify) lines.push(`verified: ${result.work.verify.argv.join(' ')} (${Math.round(result.work.verify.ms)} ms)`);
  if (result.work) lines.push(`branch: ${result.work.branch} at ${result.work.head.slice(0, 12)}`);
  return lines.join('\n');
}

export function commitMessage(result: CompleteOutput): string | null {
  return result.already ? null : `guild: ${result.task.id} ${result.status === 'review' ? 'in review' : 'done'} by ${result.task.owner}`;
}

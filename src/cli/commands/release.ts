import { parseTaskId } from '../../identifiers.js';
import { releaseTask, type FinishResult } from '../../tasks/finish-task.js';
import type { Context } from '../context.js';

export async function run(args: { id: string }, ctx: Context): Promise<FinishResult> {
  return releaseTask(ctx.guild(), ctx.agent(), parseTaskId(String(args.id)));
}

export function render(result: FinishResult): string {
  return `released: ${result.task.id} is ${result.status === 'ready' ? 'Ready' : result.status} again`;
}

export function commitMessage(result: FinishResult): string | null {
  return result.already ? null : `guild: ${result.task.id} released`;
}

import { completeTask, type FinishResult } from '../../tasks/finish-task.js';
import { optionalTaskId, type Context } from '../context.js';

export async function run(args: { id?: string; note?: string }, ctx: Context): Promise<FinishResult> {
  return completeTask(ctx.guild(), ctx.agent(), optionalTaskId(args.id), args.note);
}

export function render(result: FinishResult): string {
  return `${result.already ? 'already ' : ''}${result.status === 'review' ? 'in review' : 'done'}: ${result.task.id} ${result.task.title}`;
}

import { nextTask } from '../../tasks/queries.js';
import type { TaskView } from '../../tasks/task-view.js';
import { capsOption, type Context } from '../context.js';

export async function run(args: { caps?: string }, ctx: Context): Promise<{ task: TaskView }> {
  return { task: await nextTask(await ctx.seeingGuild(), capsOption(args.caps)) };
}

export function render(result: { task: TaskView }): string {
  return `${result.task.id} ${result.task.title}`;
}

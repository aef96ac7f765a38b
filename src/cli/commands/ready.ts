import { readyTasks, type TaskList } from '../../tasks/queries.js';
import { capsOption, type Context } from '../context.js';
import { noteNotices, renderTasks } from './list.js';

export async function run(args: { caps?: string }, ctx: Context): Promise<TaskList> {
  const result = await readyTasks(await ctx.seeingGuild(), capsOption(args.caps));
  noteNotices(result, ctx);
  return result;
}

export function render(result: TaskList): string {
  return renderTasks(result.tasks, 'nothing is ready');
}

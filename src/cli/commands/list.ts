import type { Status } from '../../board/types.js';
import { parseAgentName } from '../../identifiers.js';
import { listTasks, type TaskList } from '../../tasks/queries.js';
import type { TaskView } from '../../tasks/task-view.js';
import type { Context } from '../context.js';
import { table } from '../output.js';

// Here --agent filters by owner; GUILD_AGENT does not, so an agent's shell still lists everything.
export async function run(args: { status?: Status; agent?: string }, ctx: Context): Promise<TaskList> {
  const result = await listTasks(await ctx.seeingGuild(), { status: args.status, agent: args.agent === undefined ? undefined : parseAgentName(args.agent) });
  noteNotices(result, ctx);
  return result;
}

export function noteNotices(result: TaskList, ctx: Context): void {
  for (const notice of result.notices) ctx.notes.push(`warning: ACTIVE_TASKS.md:${notice.line}: ${notice.message}`);
}

export function render(result: TaskList): string {
  return renderTasks(result.tasks, 'no tasks');
}

export function renderTasks(tasks: TaskView[], empty: string): string {
  if (tasks.length === 0) return empty;
  return table(
    tasks.map((task) => [
      task.id ?? '(new)',
      task.status,
      task.prio === 'normal' ? '' : task.prio,
      task.owner ?? '',
      task.title + (task.needs.length ? `  [needs ${task.needs.join(',')}]` : '') + (task.caps.length ? `  [caps ${task.caps.join(',')}]` : ''),
    ]),
  );
}

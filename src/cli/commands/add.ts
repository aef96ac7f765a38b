import type { Priority, Status } from '../../board/types.js';
import { UsageError } from '../../errors.js';
import { parseCaps, splitList } from '../../identifiers.js';
import { addTask, type AddResult } from '../../tasks/add-task.js';
import { typedTaskIds, type Context } from '../context.js';

export interface AddArgs {
  title?: string[] | string;
  /** Words after `--`: a title that starts with a dash. */
  '--'?: (string | number)[];
  prio?: Priority;
  needs?: string;
  caps?: string;
  emptyOk?: boolean;
  body?: string;
  status?: Status;
}

export async function run(args: AddArgs, ctx: Context): Promise<AddResult> {
  const words = [...([] as (string | number)[]).concat(args.title ?? []), ...(args['--'] ?? [])];
  const title = words.map(String).join(' ');
  if (title.trim() === '') throw new UsageError('add needs a title: guild-fs add "Fix the login bug"');
  const needs = args.needs === undefined ? undefined : await typedTaskIds(ctx, splitList(args.needs));
  const result = await addTask(ctx.guild(), {
    agent: ctx.agentOr('human'),
    title,
    prio: args.prio,
    needs,
    caps: args.caps === undefined ? undefined : parseCaps(args.caps),
    emptyOk: args.emptyOk === true,
    body: args.body,
    status: args.status,
  });
  // stdout holds the ID alone, so that ID=$(guild-fs add ...) works. Where it went is for people,
  // on stderr, and only when it is not where a task is expected (Ready): a plain add stays quiet.
  const waits = result.status === 'blocked' && needs?.length ? ` until ${needs.join(', ')} ${needs.length === 1 ? 'is' : 'are'} done` : '';
  if (result.status !== 'ready') ctx.notes.push(`${result.id} added to ${result.status}${waits}`);
  return result;
}

export function render(result: AddResult): string {
  return result.id;
}

export function commitMessage(result: AddResult): string {
  return `guild: ${result.id} added`;
}

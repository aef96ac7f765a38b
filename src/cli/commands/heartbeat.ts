import { heartbeatTask, type HeartbeatResult } from '../../tasks/claim-task.js';
import { optionalTaskId, type Context } from '../context.js';

export async function run(args: { id?: string }, ctx: Context): Promise<HeartbeatResult> {
  return heartbeatTask(ctx.guild(), ctx.agent(), optionalTaskId(args.id));
}

export function render(result: HeartbeatResult): string {
  return `${result.task}: heartbeat ${result.heartbeat}`;
}

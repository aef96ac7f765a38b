import { initGuild, type InitResult } from '../../tasks/init-guild.js';
import type { Context } from '../context.js';

export async function run(args: { example?: boolean; prefix?: string }, ctx: Context): Promise<InitResult> {
  return initGuild(ctx.cwd, { example: args.example, prefix: args.prefix, agent: ctx.agentOr('human') });
}

export function render(result: InitResult): string {
  return [
    result.boardCreated ? `created ${result.board} (${result.tasks} tasks)` : `kept ${result.board} as it is`,
    result.logCreated ? `created ${result.log}` : `kept ${result.log}`,
    result.gitattributes === 'added' ? 'added .guild/audit.jsonl merge=union to .gitattributes' : '.gitattributes already merges the log by union',
    result.boardCreated ? 'next: commit ACTIVE_TASKS.md, .guild/ and .gitattributes, then `guild-fs ready`' : '',
  ]
    .filter(Boolean)
    .join('\n');
}

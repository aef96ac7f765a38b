import { initGuild, type InitResult } from '../../tasks/init-guild.js';
import { VERSION } from '../../version.js';
import type { Context } from '../context.js';

export async function run(args: { example?: boolean; prefix?: string; ci?: boolean }, ctx: Context): Promise<InitResult> {
  return initGuild(ctx.cwd, { example: args.example, prefix: args.prefix, agent: ctx.agentOr('human'), ci: args.ci, version: VERSION ?? undefined });
}

export function render(result: InitResult): string {
  return [
    result.boardCreated ? `created ${result.board} (${result.tasks} tasks)` : `kept ${result.board} as it is`,
    result.logCreated ? `created ${result.log}` : `kept ${result.log}`,
    result.gitattributes === 'added' ? 'added .guild/audit.jsonl merge=union to .gitattributes' : '.gitattributes already merges the log by union',
    result.workflow ? `CI: ${result.workflow} runs \`guild-fs replay --check\` on every push` : 'CI: `guild-fs init --ci` adds a GitHub workflow that runs `guild-fs replay --check`',
    result.boardCreated ? 'next: commit ACTIVE_TASKS.md, .guild/ and .gitattributes, then `guild-fs ready`' : '',
  ]
    .filter(Boolean)
    .join('\n');
}

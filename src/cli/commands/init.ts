import { ATTRIBUTE_LINES } from '../../merge/gitattributes.js';
import { initGuild, type InitResult } from '../../health/init-guild.js';
import { runBy } from '../../workspace/trust.js';
import { VERSION } from '../../version.js';
import type { Context } from '../context.js';

export async function run(args: { example?: boolean; demo?: boolean; prefix?: string; ci?: boolean; remote?: string }, ctx: Context): Promise<InitResult> {
  return initGuild(ctx.cwd, { example: args.example, demo: args.demo, prefix: args.prefix, agent: ctx.agentOr('human'), ci: args.ci, version: VERSION ?? undefined, remote: args.remote });
}

export function render(result: InitResult): string {
  return [
    result.boardCreated ? `created ${result.board} (${result.tasks} tasks)` : `kept ${result.board} as it is`,
    result.logCreated ? `created ${result.log}` : `kept ${result.log}`,
    // The lines themselves: what init set up, not a description that can drift from it (the log's was union once).
    result.gitattributes === 'present' ? `.gitattributes already has ${ATTRIBUTE_LINES.join(', ')}` : `${result.gitattributes} the merge lines in .gitattributes: ${ATTRIBUTE_LINES.join(', ')}`,
    ...result.mergeDrivers.filter((driver) => driver.state !== 'present').map((driver) => `${driver.state} merge driver ${driver.name} in .git/config`),
    ...(result.remote ? [remoteLine(result.remote)] : []),
    result.workflow ? `CI: ${result.workflow} runs \`guild-fs replay --check\` on every push` : 'CI: `guild-fs init --ci` adds a GitHub workflow that runs `guild-fs replay --check`',
    ...(result.untrusted ?? []).map((command) => `not trusted in this clone: ${command.key} ${JSON.stringify(command.argv)}; ${runBy(command.key)} refuses to run it until you read it and run \`guild-fs trust\``),
    result.boardCreated ? 'next: commit ACTIVE_TASKS.md, .guild/ and .gitattributes, then `guild-fs ready`' : '',
  ]
    .filter(Boolean)
    .join('\n');
}

function remoteLine(remote: NonNullable<InitResult['remote']>): string {
  if (remote.kept) return `kept remote: ${remote.kept} in the front matter (it already names that remote; change it by hand to use another)`;
  if (remote.added.length === 0) return `claims and sync already go through ${remote.remote}`;
  return `claims and sync go through ${remote.remote}: added ${remote.added.map((key) => (key === 'ids' ? 'ids: hash' : `remote: ${remote.remote}`)).join(' and ')} to the front matter`;
}

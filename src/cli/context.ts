// What every command gets: where it runs, who is acting, and a lazily opened Guild.
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { parseAgentName, parseCaps, parseTypedTaskId } from '../identifiers.js';
import { loadBoard, openGuild, type Guild } from '../tasks/guild.js';
import { resolveTypedId } from '../tasks/typed-id.js';
import { boardRemote } from '../remote/board-remote.js';

export interface GlobalArgs {
  json?: boolean;
  cwd?: string;
  agent?: string;
  offline?: boolean;
}

export interface Context {
  cwd: string;
  json: boolean;
  /** Notes for people: printed on stderr, never mixed into --json stdout. */
  notes: string[];
  guild(): Guild;
  /** --offline: a board's remote is not asked (claims are made in this clone alone). */
  offline: boolean;
  /** The guild, its claims going through the board's remote if it names one (remote/use-remote.ts). */
  claimingGuild(): Promise<Guild>;
  /** The guild, knowing what other clones hold on the board's remote (Guild.elsewhere), if it names one. */
  seeingGuild(): Promise<Guild>;
  /** The acting agent; a usage error when there is none. */
  agent(): string;
  /** The acting agent, or `fallback` for commands a person may run without one. */
  agentOr(fallback: string): string;
  /** The acting agent if one was named. */
  agentIfAny(): string | undefined;
}

export function makeContext(args: GlobalArgs, env: NodeJS.ProcessEnv = process.env): Context {
  const cwd = resolve(args.cwd ?? '.');
  let guild: Guild | undefined;
  const named = (): string | undefined => {
    if (args.agent !== undefined) return parseAgentName(args.agent, '--agent');
    if (env.GUILD_AGENT) return parseAgentName(env.GUILD_AGENT, 'GUILD_AGENT');
    return undefined;
  };
  const notes: string[] = [];
  // The board's remote, looked up once per command: claim asks both for the claims other clones
  // hold and for claims through the remote.
  let remote: Promise<string | null> | undefined;
  const boardRemoteOnce = (opened: Guild): Promise<string | null> => (remote ??= boardRemote(opened));
  return {
    cwd,
    json: Boolean(args.json),
    notes,
    guild: () => (guild ??= openGuild(cwd)),
    offline: Boolean(args.offline),
    claimingGuild: async () => {
      const opened = (guild ??= openGuild(cwd));
      const name = await boardRemoteOnce(opened);
      if (name === null) return opened;
      const { useRemote } = await import('../remote/use-remote.js');
      useRemote(opened, name, { offline: args.offline });
      if (args.offline) notes.push(`--offline: ${name} was not asked; a claim made now is this clone's alone, and other clones cannot see it`);
      return opened;
    },
    seeingGuild: async () => {
      const opened = (guild ??= openGuild(cwd));
      const name = await boardRemoteOnce(opened);
      if (name === null) return opened;
      const { seeElsewhere } = await import('../remote/use-remote.js');
      const seen = await seeElsewhere(opened, name, { offline: args.offline });
      if (seen.offline) notes.push(`--offline: other clones' claims as ${name} showed them ${seen.listedAt ?? 'never (this clone has not asked it yet)'}`);
      return opened;
    },
    agent: () => {
      const agent = named();
      if (agent === undefined) throw new UsageError('this command acts as an agent: pass --agent NAME or set GUILD_AGENT', {}, 'ENOAGENT');
      return agent;
    },
    agentOr: (fallback) => named() ?? fallback,
    agentIfAny: named,
  };
}

/** A task ID from the command line, or undefined when none was given: see typedTaskIds. */
export async function optionalTaskId(ctx: Context, value: unknown): Promise<string | undefined> {
  if (value === undefined || value === null || value === '') return undefined;
  return (await typedTaskIds(ctx, [String(value)]))[0];
}

export async function typedTaskId(ctx: Context, value: unknown): Promise<string> {
  return (await typedTaskIds(ctx, [String(value)]))[0]!;
}

/**
 * Task IDs as typed, each validated and upper-cased. A numeric ID is taken as it is, without
 * reading the board: `claim GLD-4` stays as fast as it was. A hash ID or a prefix of one (GLD-K3)
 * is resolved against the board, read once for all of them (tasks/typed-id.ts).
 */
export async function typedTaskIds(ctx: Context, values: readonly string[]): Promise<string[]> {
  const typed = values.map(parseTypedTaskId);
  if (typed.every((id) => id.exact)) return typed.map((id) => id.value);
  const board = await loadBoard(ctx.guild());
  return typed.map((id) => (id.exact ? id.value : resolveTypedId(board, id.value)));
}

export function capsOption(value: unknown, env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  if (typeof value === 'string') return parseCaps(value, '--caps');
  if (env.GUILD_CAPS !== undefined) return parseCaps(env.GUILD_CAPS, 'GUILD_CAPS');
  return undefined;
}

/** A finish made here whose remote step could not be made: said, not hidden (heal finishes it). */
export function notePendingRemote(result: { task: { id: string | null }; lock: string }, ctx: Context): void {
  if (result.lock === 'remote-pending') {
    ctx.notes.push(`${result.task.id}: the remote could not be reached, so its claim ref stays there for now; its lock here says what is left, and \`guild-fs heal\` (or the daemon) finishes it once the remote answers`);
  }
}

// What every command gets: where it runs, who is acting, and a lazily opened Guild.
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { parseAgentName, parseCaps, parseTaskId } from '../identifiers.js';
import { openGuild, type Guild } from '../tasks/guild.js';

export interface GlobalArgs {
  json?: boolean;
  cwd?: string;
  agent?: string;
}

export interface Context {
  cwd: string;
  json: boolean;
  /** Notes for people: printed on stderr, never mixed into --json stdout. */
  notes: string[];
  guild(): Guild;
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
  return {
    cwd,
    json: Boolean(args.json),
    notes: [],
    guild: () => (guild ??= openGuild(cwd)),
    agent: () => {
      const agent = named();
      if (agent === undefined) throw new UsageError('this command acts as an agent: pass --agent NAME or set GUILD_AGENT', {}, 'ENOAGENT');
      return agent;
    },
    agentOr: (fallback) => named() ?? fallback,
    agentIfAny: named,
  };
}

export function optionalTaskId(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return parseTaskId(String(value));
}

export function capsOption(value: unknown, env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  if (typeof value === 'string') return parseCaps(value, '--caps');
  if (env.GUILD_CAPS !== undefined) return parseCaps(env.GUILD_CAPS, 'GUILD_CAPS');
  return undefined;
}

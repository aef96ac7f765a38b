// A tool call is the CLI command of the same name. Each tool calls the command module's own
// `run(args, ctx)`, the function the CLI calls after parsing its options, so that a claim made
// through MCP takes the same locks, writes the same events and fails with the same errors as
// `guild-fs claim`. Only the input (JSON arguments instead of argv) and the output (a tool result
// instead of stdout and an exit code) differ, and both are handled here.
import { GuildError, UsageError } from '../errors.js';
import { parseAgentName } from '../identifiers.js';
import { makeContext, type Context } from '../cli/context.js';
import { TOOLS, type ToolDefinition, type ToolName } from './tool-list.js';

export interface ToolResult {
  [key: string]: unknown;
  content: { type: 'text'; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

export interface CallOptions {
  /** Where the server runs: the repository its tools act on. */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Claims are bound to this process (the server's): a host that dies leaves claims stale on proof. */
  pid: number;
  /** `guild-fs mcp --agent NAME`: the agent when a call names none (before GUILD_AGENT). */
  agent?: string;
  /** `guild-fs mcp --offline`: no call asks the board's remote. */
  offline?: boolean;
}

type Args = Record<string, unknown>;

interface CommandModule {
  run(args: never, ctx: Context): Promise<unknown>;
  render(result: never): string;
}

/** Each tool: the command it runs and its arguments as that command's options. */
const CALLS: Record<Exclude<ToolName, 'log'>, { load: () => Promise<CommandModule>; args: (input: Args, options: CallOptions) => Args }> = {
  ready: { load: () => import('../cli/commands/ready.js'), args: (input) => ({ caps: input.caps }) },
  claim: { load: () => import('../cli/commands/claim.js'), args: (input, options) => ({ id: input.id, caps: input.caps, worktree: input.worktree ?? true, pid: options.pid }) },
  show: { load: () => import('../cli/commands/show.js'), args: (input) => ({ id: input.id }) },
  complete: { load: () => import('../cli/commands/complete.js'), args: (input) => ({ id: input.id, note: input.note, commitAll: input.commit_all }) },
  fail: { load: () => import('../cli/commands/fail.js'), args: (input) => ({ id: input.id, reason: input.reason }) },
  release: { load: () => import('../cli/commands/release.js'), args: (input) => ({ id: input.id }) },
  add: { load: () => import('../cli/commands/add.js'), args: (input) => ({ title: input.title, body: input.body, needs: input.needs, caps: input.caps, prio: input.prio, status: input.status }) },
};

export async function callTool(name: string, input: unknown, options: CallOptions): Promise<ToolResult> {
  let ctx: Context | undefined;
  try {
    const tool = TOOLS.find((candidate) => candidate.name === name);
    if (!tool) throw new UsageError(`no tool named ${JSON.stringify(name)} (tools: ${TOOLS.map((t) => t.name).join(', ')})`, {}, 'ENOTOOL');
    const args = checkArguments(tool, input);
    const agent = typeof args.agent === 'string' ? parseAgentName(args.agent, 'the agent argument') : options.agent;
    ctx = makeContext({ cwd: options.cwd, json: true, agent, offline: options.offline }, options.env);
    const { data, text } = tool.name === 'log' ? await logEvents(args, ctx) : await runCommand(tool.name, args, ctx, options);
    return { content: [{ type: 'text', text: withNotes(text, ctx.notes) }], structuredContent: plain(data) };
  } catch (error) {
    return errorResult(error, ctx?.notes ?? []);
  }
}

async function runCommand(name: Exclude<ToolName, 'log'>, input: Args, ctx: Context, options: CallOptions): Promise<{ data: unknown; text: string }> {
  const call = CALLS[name];
  const command = await call.load();
  const data = await command.run(call.args(input, options) as never, ctx);
  return { data, text: command.render(data as never) || 'done' };
}

/** The log command streams to stdout; here the events are collected (the last 20 unless asked). */
async function logEvents(input: Args, ctx: Context): Promise<{ data: unknown; text: string }> {
  const [{ logFilter, humanLine }, { queryLog }] = await Promise.all([import('../cli/commands/log.js'), import('../history/query-log.js')]);
  const filter = await logFilter({ task: input.task as string | undefined, agent: input.by as string | undefined, type: input.type as string | undefined, since: input.since as string | undefined, limit: (input.limit as number | undefined) ?? 20 }, ctx);
  const events: unknown[] = [];
  const lines: string[] = [];
  await queryLog(
    ctx.guild(),
    filter,
    (event) => {
      events.push(event);
      lines.push(humanLine(event));
    },
    (warning) => void ctx.notes.push(`warning: ${warning.file}:${warning.line}: ${warning.message}`),
  );
  return { data: { events }, text: lines.length > 0 ? lines.join('\n') : 'no events' };
}

/**
 * The arguments against the tool's schema. The SDK's low-level server does not check them, and
 * a host's model may send anything: a wrong type or an unknown name is a usage error that says
 * which, as the CLI's option parser would.
 */
function checkArguments(tool: ToolDefinition, input: unknown): Args {
  if (input === undefined || input === null) input = {};
  if (typeof input !== 'object' || Array.isArray(input)) throw new UsageError(`${tool.name}: arguments must be an object`);
  const args = input as Args;
  const { properties, required = [] } = tool.inputSchema;
  for (const [key, value] of Object.entries(args)) {
    const property = properties[key];
    if (!property) throw new UsageError(`${tool.name}: unknown argument ${JSON.stringify(key)} (it takes ${Object.keys(properties).join(', ')})`);
    if (value === undefined || value === null) continue;
    const ok = property.type === 'integer' ? Number.isInteger(value) : typeof value === property.type;
    if (!ok) throw new UsageError(`${tool.name}: ${key} must be ${property.type === 'integer' ? 'a whole number' : `a ${property.type}`}, got ${JSON.stringify(value)}`);
    if (property.enum && !property.enum.includes(value as string)) throw new UsageError(`${tool.name}: ${key} must be one of ${property.enum.join(', ')}, got ${JSON.stringify(value)}`);
    if (property.minimum !== undefined && (value as number) < property.minimum) throw new UsageError(`${tool.name}: ${key} must be at least ${property.minimum}, got ${value}`);
  }
  for (const key of required) if (args[key] === undefined || args[key] === null) throw new UsageError(`${tool.name}: ${key} is required`);
  return Object.fromEntries(Object.entries(args).filter(([, value]) => value !== null));
}

/** The CLI's error envelope as a tool error: the code an agent can act on, and the message. */
function errorResult(error: unknown, notes: string[]): ToolResult {
  const known = error instanceof GuildError;
  const body = known ? { ...error.toJSON(), exitCode: error.exitCode } : { code: 'EUNEXPECTED', message: (error as Error)?.message ?? String(error), exitCode: 1 };
  return { content: [{ type: 'text', text: withNotes(`${body.code}: ${body.message}`, notes) }], structuredContent: { error: body }, isError: true };
}

function withNotes(text: string, notes: string[]): string {
  return notes.length === 0 ? text : `${text}\n\n${notes.join('\n')}`;
}

/** Results as the --json envelope has them: plain JSON (no undefined, no class instances). */
function plain(data: unknown): Record<string, unknown> {
  const json = JSON.parse(JSON.stringify(data ?? {})) as unknown;
  return typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : { result: json };
}

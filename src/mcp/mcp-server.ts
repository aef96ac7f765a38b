// `guild-fs mcp`: the tools of tool-list.ts over stdio. stdout belongs to the protocol alone (a
// stray line there breaks the host's reader), so everything for people goes to stderr.
import type { Readable, Writable } from 'node:stream';
import { VERSION } from '../version.js';
import { callTool } from './call-tool.js';
import { JsonRpcLineTransport, type LineSchemas } from './json-rpc-lines.js';
import { ClaimKeeper } from './keep-claims.js';
import { TOOLS } from './tool-list.js';

export interface ServeOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  stdin?: Readable;
  stdout?: Writable;
  /** `--agent`: the agent of calls that name none (GUILD_AGENT otherwise). */
  agent?: string;
  offline?: boolean;
  /** Where notes for people go (stderr). */
  log?: (line: string) => void;
}

export interface ServeResult {
  calls: number;
}

// Sent once, at initialize: what a host may put in front of its model before any tool is used.
const INSTRUCTIONS = 'guild-fs shares this repository\'s work through ACTIVE_TASKS.md. Take a task with claim, work and commit in the worktree it returns, then complete it (or fail with a reason, or release it).';

/** Serves until the host closes stdin; calls under way are let finish first. */
export async function serveMcp(options: ServeOptions): Promise<ServeResult> {
  const sdk = await import('./mcp-sdk.js');
  const { Server, CallToolRequestSchema, ListToolsRequestSchema } = sdk;
  const stdin = options.stdin ?? process.stdin;
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const env = options.env ?? process.env;
  const keeper = new ClaimKeeper(options.cwd, env, log);
  const server = new Server({ name: 'guild-fs', version: VERSION ?? 'dev' }, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
  // Tool calls whose answer is not out yet, by request id: settled when the transport has sent it.
  const unanswered = new Map<string | number, { done: Promise<void>; answered: () => void }>();
  let calls = 0;

  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: TOOLS.map((tool) => ({ ...tool })) }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    calls++;
    let answered = (): void => {};
    const done = new Promise<void>((resolve) => (answered = resolve));
    unanswered.set(extra.requestId, { done, answered });
    const result = await callTool(request.params.name, request.params.arguments, { cwd: options.cwd, env, pid: process.pid, agent: options.agent, offline: options.offline });
    if (result.isError && env.GUILD_DEBUG) log(`guild-fs mcp: ${request.params.name}: ${result.content[0]?.text}`);
    if (!result.isError) keepClaims(keeper, request.params.name, result.structuredContent);
    return result;
  });
  server.onerror = (error) => log(`guild-fs mcp: ${error.message}`);

  const closed = new Promise<void>((resolve) => {
    // The transport does not watch for the end of stdin; a host that goes away ends it.
    stdin.once('end', resolve);
    stdin.once('close', resolve);
    server.onclose = resolve;
  });
  // Every request method this server answers has its params checked before the SDK's handler,
  // which would answer a schema failure with -32603 (json-rpc-lines.ts).
  const schemas: LineSchemas = {
    message: sdk.JSONRPCMessageSchema,
    requests: { initialize: sdk.InitializeRequestSchema, ping: sdk.PingRequestSchema, 'tools/list': ListToolsRequestSchema, 'tools/call': CallToolRequestSchema },
  };
  const transport = new JsonRpcLineTransport(stdin, options.stdout ?? process.stdout, schemas);
  const send = transport.send.bind(transport);
  transport.send = async (message) => {
    const id = 'id' in message && !('method' in message) ? message.id : undefined;
    try {
      await send(message);
    } finally {
      // Sent or not (a host that went away cannot read it), the call is over.
      if (id !== undefined) unanswered.get(id)?.answered();
      if (id !== undefined) unanswered.delete(id);
    }
  };
  await server.connect(transport);
  log(`guild-fs mcp: serving ${options.cwd} over stdio (${TOOLS.length} tools)`);
  await closed;
  // A host that closes stdin right after a call still gets its answer, and a claim is never cut
  // off between its lock and its board write (that would be left for heal).
  await Promise.all([...unanswered.values()].map((call) => call.done));
  keeper.stop();
  await server.close();
  return { calls };
}

/** A claim made through this server is kept fresh until it is finished through it (or elsewhere). */
function keepClaims(keeper: ClaimKeeper, tool: string, data: Record<string, unknown> | undefined): void {
  const task = data?.task as { id?: string; owner?: string | null } | undefined;
  if (!task?.id) return;
  if (tool === 'claim' && task.owner) keeper.hold(task.id, task.owner);
  if (tool === 'complete' || tool === 'fail' || tool === 'release') keeper.drop(task.id);
}

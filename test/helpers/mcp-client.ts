// A real MCP client (the SDK's Client over its stdio transport) talking to the built
// `guild-fs mcp`, as an agent host does.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { BIN } from './cli.js';

export interface McpSession {
  client: Client;
  pid: number;
  stderr: () => string;
  /** A tool call's result: its text, its structured content, and whether it is an error. */
  call(name: string, args?: Record<string, unknown>): Promise<{ text: string; data: any; isError: boolean }>;
  close(): Promise<void>;
}

export async function connectMcp(cwd: string, options: { agent?: string; env?: Record<string, string>; args?: string[] } = {}): Promise<McpSession> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && key !== 'GUILD_AGENT' && key !== 'GUILD_CAPS') env[key] = value;
  if (options.agent !== undefined) env.GUILD_AGENT = options.agent;
  Object.assign(env, { GUILD_VERIFY_CACHE: '1' }, options.env);
  const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp', ...(options.args ?? [])], cwd, env, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'guild-fs-test', version: '1.0.0' });
  await client.connect(transport);
  return {
    client,
    pid: transport.pid!,
    stderr: () => stderr,
    async call(name, args = {}) {
      const result = (await client.callTool({ name, arguments: args })) as { content: { type: string; text?: string }[]; structuredContent?: unknown; isError?: boolean };
      return { text: result.content.map((item) => item.text ?? '').join('\n'), data: result.structuredContent, isError: result.isError === true };
    },
    close: () => client.close(),
  };
}

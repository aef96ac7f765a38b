// The scripted model for Claude Code: a Messages API server (`POST /v1/messages`, streamed as
// server-sent events, or as one JSON message when the CLI falls back to non-streaming) on
// 127.0.0.1 that plays scripted-model.ts's script with Claude Code's own `Write` tool. Claude Code
// reads its endpoint from ANTHROPIC_BASE_URL and its key from ANTHROPIC_API_KEY; everything else
// it would send somewhere (telemetry, feature flags, update checks, error reports) is switched
// off by the variables below, and what still tries to leave goes through HTTPS_PROXY, which is
// this same server: it refuses the tunnel and records the host in `strays()`, so a test can
// show that nothing left the machine. Free of node:test: the recipe bench reuses it.
import { mkdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { localServer, readBody, scriptedWrite, SCRIPTED_DONE } from './scripted-model.js';

/** A running scripted model and what running Claude Code against it needs. */
export interface ScriptedClaude {
  /** ANTHROPIC_BASE_URL and a dummy key, an isolated HOME and CLAUDE_CONFIG_DIR, no telemetry. */
  env: Record<string, string>;
  /** How many Messages requests the server answered. */
  requests(): number;
  /** The hosts Claude Code tried to reach other than this server (through the proxy). */
  strays(): string[];
  /** The text of every tool result Claude Code sent back, in the order they came. */
  toolResults(): string[];
  close(): Promise<void>;
}

/** What the scripted model says in one turn: one tool call, or text that ends the turn. */
type Turn = { kind: 'tool'; name: string; input: Record<string, unknown> } | { kind: 'text'; text: string };

interface ContentBlock {
  type: string;
  text?: string;
  /** A tool_result's content: text, or text blocks. */
  content?: string | ContentBlock[];
  tool_use_id?: string;
}

/** The parts of a Messages API request the script reads. */
export interface MessagesRequest {
  stream?: boolean;
  model?: string;
  system?: string | ContentBlock[];
  messages?: { role: string; content: string | ContentBlock[] }[];
  tools?: { name: string }[];
}

/** The prompt for the MCP turn: the model calls guild-fs's `ready` tool through Claude Code. */
export const SCRIPTED_MCP_PROMPT = 'Call the guild-fs ready tool once, then stop.';
/** Claude Code's name for an MCP server's tool: mcp__<server>__<tool>. */
export const GUILD_FS_READY_TOOL = 'mcp__guild-fs__ready';

function blocks(content: string | ContentBlock[] | undefined): ContentBlock[] {
  if (content === undefined) return [];
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}

function userText(request: MessagesRequest): string {
  const user = (request.messages ?? []).filter((message) => message.role === 'user');
  return user.flatMap((message) => blocks(message.content)).map((block) => block.text ?? '').join('\n');
}

function toolResultsOf(request: MessagesRequest): ContentBlock[] {
  return (request.messages ?? []).flatMap((message) => blocks(message.content)).filter((block) => block.type === 'tool_result');
}

function hasToolResult(request: MessagesRequest): boolean {
  return toolResultsOf(request).length > 0;
}

// Write wants an absolute path: the worktree as guild-fs's prompt names it, else the working
// directory Claude Code puts in its system prompt.
function workingDirectory(request: MessagesRequest, prompt: string): string | undefined {
  const named = /Your working directory is a git worktree of its own, (.+), on the branch /.exec(prompt)?.[1];
  if (named !== undefined) return named;
  const system = blocks(request.system).map((block) => block.text ?? '').join('\n');
  return /Primary working directory: (.+)/.exec(system)?.[1]?.trim();
}

/** The script: write the task's note with Write, then say done; call `ready` for the MCP turn. */
export function scriptedTurn(request: MessagesRequest): Turn {
  const offered = new Set((request.tools ?? []).map((tool) => tool.name));
  if (hasToolResult(request)) return { kind: 'text', text: SCRIPTED_DONE };
  const prompt = userText(request);
  const write = scriptedWrite(prompt);
  const cwd = workingDirectory(request, prompt);
  if (write && cwd && offered.has('Write')) {
    return { kind: 'tool', name: 'Write', input: { file_path: join(cwd, write.path), content: write.content } };
  }
  if (prompt.includes(SCRIPTED_MCP_PROMPT) && offered.has(GUILD_FS_READY_TOOL)) {
    return { kind: 'tool', name: GUILD_FS_READY_TOOL, input: {} };
  }
  // Anything else Claude Code asks (a title, a summary, a side question) gets the shortest answer.
  return { kind: 'text', text: SCRIPTED_DONE };
}

function contentBlock(turn: Turn, id: string): Record<string, unknown> {
  return turn.kind === 'tool' ? { type: 'tool_use', id, name: turn.name, input: turn.input } : { type: 'text', text: turn.text };
}

function message(turn: Turn, model: string, serial: number): Record<string, unknown> {
  return {
    id: `msg_scripted_${serial}`,
    type: 'message',
    role: 'assistant',
    model,
    content: [contentBlock(turn, `toolu_scripted_${serial}`)],
    stop_reason: turn.kind === 'tool' ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 1, output_tokens: 1 },
  };
}

/** The same message as the event stream the Messages API sends with `stream: true`. */
function events(turn: Turn, model: string, serial: number): string {
  const whole = message(turn, model, serial);
  const block = contentBlock(turn, `toolu_scripted_${serial}`);
  const start = turn.kind === 'tool' ? { ...block, input: {} } : { ...block, text: '' };
  const delta = turn.kind === 'tool' ? { type: 'input_json_delta', partial_json: JSON.stringify(turn.input) } : { type: 'text_delta', text: turn.text };
  const sent: [string, Record<string, unknown>][] = [
    ['message_start', { message: { ...whole, content: [], stop_reason: null } }],
    ['content_block_start', { index: 0, content_block: start }],
    ['content_block_delta', { index: 0, delta }],
    ['content_block_stop', { index: 0 }],
    ['message_delta', { delta: { stop_reason: whole.stop_reason, stop_sequence: null }, usage: { output_tokens: 1 } }],
    ['message_stop', {}],
  ];
  return sent.map(([type, data]) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`).join('');
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/** What the server keeps of what it was asked. */
interface Seen {
  served: number;
  /** By tool_use_id: each turn sends the whole conversation again. */
  toolResults: Map<string, string>;
}

async function answer(request: IncomingMessage, response: ServerResponse, seen: Seen): Promise<void> {
  const path = (request.url ?? '/').split('?')[0];
  const text = await readBody(request);
  if (request.method === 'POST' && path === '/v1/messages/count_tokens') return sendJson(response, 200, { input_tokens: 1 });
  if (request.method !== 'POST' || path !== '/v1/messages') {
    // Claude Code's warm-up HEAD / and anything else: an empty yes.
    response.writeHead(200, { 'content-type': 'application/json' });
    return void response.end(request.method === 'HEAD' ? undefined : '{}');
  }
  const body = JSON.parse(text) as MessagesRequest;
  const turn = scriptedTurn(body);
  const model = body.model ?? 'claude-scripted';
  const serial = ++seen.served;
  for (const result of toolResultsOf(body)) {
    seen.toolResults.set(result.tool_use_id ?? `#${seen.toolResults.size}`, blocks(result.content).map((block) => block.text ?? '').join('\n'));
  }
  if (!body.stream) return sendJson(response, 200, message(turn, model, serial));
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  response.end(events(turn, model, serial));
}

/**
 * The environment that points Claude Code at `url` and keeps it from everything else (also for a
 * test that runs Claude Code without a model: `claude mcp`). Its folders go under `dir`.
 */
export function claudeEnv(dir: string, url: string): Record<string, string> {
  const home = join(dir, 'claude-home');
  mkdirSync(join(home, '.claude'), { recursive: true });
  mkdirSync(join(dir, 'claude-tmp'), { recursive: true });
  return {
    ANTHROPIC_BASE_URL: url,
    ANTHROPIC_API_KEY: 'sk-ant-scripted-dummy',
    HOME: home,
    CLAUDE_CONFIG_DIR: join(home, '.claude'),
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_STATE_HOME: join(home, '.local', 'state'),
    // Its per-user temp folder (else /tmp/claude-<uid>, shared with every other run).
    CLAUDE_CODE_TMPDIR: join(dir, 'claude-tmp'),
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_UPDATES: '1',
    DISABLE_GROWTHBOOK: '1',
    CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY: '1',
    CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL: '1',
    // Anything not for 127.0.0.1 goes to this server's CONNECT handler, which refuses it.
    HTTPS_PROXY: url,
    HTTP_PROXY: url,
    https_proxy: url,
    http_proxy: url,
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
  };
}

/** Starts the scripted Messages API server; its config and home folders go under `dir`. */
export async function startScriptedClaude(dir: string): Promise<ScriptedClaude> {
  const seen: Seen = { served: 0, toolResults: new Map() };
  const strays: string[] = [];
  const local = await localServer((request, response) => {
    // A proxied plain-HTTP request names its full URL: it was meant for another host.
    if (/^https?:/.test(request.url ?? '')) {
      strays.push(request.url!);
      return sendJson(response, 403, {});
    }
    answer(request, response, seen).catch((error: Error) => sendJson(response, 500, { type: 'error', error: { type: 'api_error', message: error.message } }));
  });
  local.server.on('connect', (request: IncomingMessage, socket: Duplex) => {
    strays.push(request.url ?? '?');
    socket.on('error', () => {});
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  return {
    env: claudeEnv(dir, local.url),
    requests: () => seen.served,
    strays: () => [...strays],
    toolResults: () => [...seen.toolResults.values()],
    close: local.close,
  };
}

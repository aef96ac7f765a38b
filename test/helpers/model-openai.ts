// A scripted OpenAI Responses API for Codex (the Rust CLI of @openai/codex), playing the script
// of scripted-model.ts: Codex streams `POST <base_url>/responses` and reads server-sent events
// (`response.created`, `response.output_item.done`, `response.completed`). Codex 0.171.0 offers a
// model of a custom provider no apply_patch tool of its own, only `exec_command`, and its
// instructions tell the model to edit files by running `apply_patch` there, which Codex catches
// and applies itself ("apply patch ... patch: completed", not a shell): the scripted write is that.
// Codex is pointed here by a `[model_providers.scripted]` table in an isolated CODEX_HOME, with
// the plugin marketplace, connectors, analytics, feedback and update checks off: with them on,
// 0.171.0 runs `git ls-remote https://github.com/openai/plugins.git` and looks up api.github.com
// and chatgpt.com before its first model request.
import { mkdirSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { localServer, readBody, scriptedWrite, SCRIPTED_DONE, type ScriptedWrite } from './scripted-model.js';

/** What running Codex against a scripted server needs. */
export interface ScriptedCodex {
  /** CODEX_HOME, HOME and the provider's key: add to the CLI's environment. */
  env: Record<string, string>;
  /** How many requests the server answered (every path). */
  requests(): number;
  /**
   * The tools the model was offered in the last `/responses` request, by name; a namespace's
   * tools as `<namespace>.<name>` (Codex offers an MCP server's tools as one namespace).
   */
  toolsOffered(): string[];
  close(): Promise<void>;
}

/** The environment variable the provider's `env_key` names; its value is a dummy. */
const KEY_VAR = 'GUILD_SCRIPTED_OPENAI_KEY';

/** A tool of a Responses request, the fields the script reads. */
interface Tool {
  type?: string;
  name?: string;
  tools?: Tool[];
}

/** One item of a Responses request's `input`, the fields the script reads. */
interface InputItem {
  type?: string;
  role?: string;
  content?: string | { type?: string; text?: string }[];
}

function config(baseUrl: string): string {
  return [
    'model = "scripted-model"',
    'model_provider = "scripted"',
    'check_for_update_on_startup = false',
    '',
    '[model_providers.scripted]',
    'name = "scripted"',
    `base_url = "${baseUrl}/v1"`,
    `env_key = "${KEY_VAR}"`,
    'wire_api = "responses"',
    // A scripted answer is right or a bug: a retry would only hide it behind backoff.
    'request_max_retries = 0',
    'stream_max_retries = 0',
    '',
    '[analytics]',
    'enabled = false',
    '',
    '[feedback]',
    'enabled = false',
    '',
    '[features]',
    'plugins = false',
    'remote_plugin = false',
    'apps = false',
    'tool_suggest = false',
    '',
  ].join('\n');
}

/** The user's words in a request: every user message's text, joined. */
function userText(input: InputItem[]): string {
  const texts: string[] = [];
  for (const item of input) {
    if (item.role !== 'user') continue;
    if (typeof item.content === 'string') texts.push(item.content);
    else for (const part of item.content ?? []) if (typeof part.text === 'string') texts.push(part.text);
  }
  return texts.join('\n');
}

/**
 * The `apply_patch` command that adds `write`'s file (its path relative to the turn's cwd, the
 * task's worktree). A patch line is a file line: content that ends in a newline loses nothing.
 */
export function codexWriteCommand(write: ScriptedWrite): string {
  const added = write.content.replace(/\n$/, '').split('\n').map((line) => `+${line}`).join('\n');
  return `apply_patch <<'PATCH'\n*** Begin Patch\n*** Add File: ${write.path}\n${added}\n*** End Patch\nPATCH`;
}

function toolNames(tools: Tool[]): string[] {
  return tools.flatMap((tool) => (tool.type === 'namespace' ? (tool.tools ?? []).map((inner) => `${tool.name}.${inner.name}`) : [tool.name ?? tool.type ?? '?']));
}

/** The output item the model answers `body` with. */
function answer(body: { input?: InputItem[]; tools?: Tool[] }, turn: number): Record<string, unknown> {
  const input = body.input ?? [];
  const write = scriptedWrite(userText(input));
  const answered = input.some((item) => item.type === 'function_call_output' || item.type === 'custom_tool_call_output');
  if (write === undefined || answered) {
    return { type: 'message', role: 'assistant', id: `msg_${turn}`, content: [{ type: 'output_text', text: SCRIPTED_DONE, annotations: [] }] };
  }
  if (!(body.tools ?? []).some((tool) => tool.name === 'exec_command')) {
    throw new Error(`Codex offered no exec_command tool: ${(body.tools ?? []).map((tool) => tool.name).join(', ')}`);
  }
  const args = { cmd: codexWriteCommand(write), yield_time_ms: 10_000 };
  return { type: 'function_call', id: `fc_${turn}`, call_id: `call_${turn}`, name: 'exec_command', arguments: JSON.stringify(args) };
}

function event(response: ServerResponse, data: Record<string, unknown>): void {
  response.write(`event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** One streamed response holding `item`, as the Responses API frames it. */
function stream(response: ServerResponse, item: Record<string, unknown>, turn: number): void {
  const id = `resp_${turn}`;
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  event(response, { type: 'response.created', response: { id, object: 'response', status: 'in_progress', output: [] } });
  event(response, { type: 'response.output_item.added', output_index: 0, item });
  event(response, { type: 'response.output_item.done', output_index: 0, item });
  const usage = { input_tokens: 1, input_tokens_details: { cached_tokens: 0 }, output_tokens: 1, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 2 };
  event(response, { type: 'response.completed', response: { id, object: 'response', status: 'completed', output: [item], usage } });
  response.end();
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/** What the server saw, for the test to ask. */
interface Seen {
  requests: number;
  tools: string[];
}

async function handle(request: IncomingMessage, response: ServerResponse, seen: Seen): Promise<void> {
  const turn = seen.requests;
  const text = await readBody(request);
  const path = (request.url ?? '').split('?')[0]!;
  if (request.method === 'POST' && path.endsWith('/responses')) {
    try {
      const body = JSON.parse(text) as { input?: InputItem[]; tools?: Tool[] };
      seen.tools = toolNames(body.tools ?? []);
      stream(response, answer(body, turn), turn);
    } catch (error) {
      json(response, 400, { error: { message: `scripted model: ${(error as Error).message}`, type: 'invalid_request_error' } });
    }
  } else if (request.method === 'GET' && path.endsWith('/models')) {
    json(response, 200, { object: 'list', data: [], models: [] });
  } else {
    json(response, 404, { error: { message: `scripted model: nothing at ${request.method} ${path}`, type: 'not_found' } });
  }
}

/**
 * Starts the scripted server and writes Codex's isolated home under `dir` (`codex-home/`, and
 * `home/` for HOME, so neither ~/.codex nor the real HOME's dotfiles are read).
 */
export async function startScriptedCodex(dir: string): Promise<ScriptedCodex> {
  const seen: Seen = { requests: 0, tools: [] };
  const server = await localServer((request, response) => {
    seen.requests += 1;
    handle(request, response, seen).catch((error: unknown) => {
      if (!response.headersSent) json(response, 500, { error: { message: String(error), type: 'server_error' } });
      else response.destroy();
    });
  });
  const codexHome = join(dir, 'codex-home');
  const home = join(dir, 'home');
  mkdirSync(codexHome, { recursive: true });
  mkdirSync(home, { recursive: true });
  writeFileSync(join(codexHome, 'config.toml'), config(server.url));
  return {
    env: { CODEX_HOME: codexHome, HOME: home, [KEY_VAR]: 'scripted-dummy-key' },
    requests: () => seen.requests,
    toolsOffered: () => seen.tools,
    close: server.close,
  };
}

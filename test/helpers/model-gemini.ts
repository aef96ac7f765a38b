// A scripted Gemini API (generativelanguage v1beta, as the @google/genai SDK bundled in Gemini CLI
// speaks it) for the recipe tests and the recipes bench: Gemini CLI is pointed at it through
// GOOGLE_GEMINI_BASE_URL with a dummy GEMINI_API_KEY, a HOME of its own and its settings.json
// there (API-key auth chosen, usage statistics, telemetry, update checks and the IDE companion
// off), so the real ~/.gemini is never read and no request leaves 127.0.0.1: traced, the one other
// host 0.61.0 asks for is play.googleapis.com (usage statistics), which the settings turn off.
// The script (helpers/scripted-model.ts): the turn that holds guild-fs's prompt and no tool result
// gets one `write_file` call; once the function response is in, the text SCRIPTED_DONE.
// Gemini CLI also asks its utility models for JSON (the model router's classifiers, the
// next-speaker check): each gets the smallest object its response schema allows.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { localServer, readBody, SCRIPTED_DONE, scriptedWrite } from './scripted-model.js';

/** What a test or the bench needs to run Gemini CLI against the scripted server. */
export interface ScriptedGemini {
  env: Record<string, string>;
  /** How many requests the server has answered. */
  requests(): number;
  close(): Promise<void>;
}

/** How the server answers: the script, or one HTTP error for every request. */
export interface ScriptedGeminiOptions {
  /** Answer every request with this HTTP status and the Gemini API's error body for it (401, 429...). */
  failWith?: number;
}

interface Part {
  text?: string;
  functionCall?: { name: string; args: Record<string, unknown> };
  functionResponse?: unknown;
}
interface GenerateRequest {
  contents?: { role?: string; parts?: Part[] }[];
  generationConfig?: { responseJsonSchema?: JsonSchema; responseSchema?: JsonSchema };
}
interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  enum?: unknown[];
  items?: JsonSchema;
}

// Gemini CLI's file-writing tool (packages/core WRITE_FILE_TOOL_NAME), called with file_path and content.
const WRITE_FILE = 'write_file';
// templates/prompt.md: "Your working directory is a git worktree of its own, {{worktree}}, on the branch".
const WORKTREE_LINE = /Your working directory is a git worktree of its own, (.+?), on the branch /;

const API_ERRORS: Record<number, string> = { 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };

/** Starts the scripted Gemini API and writes Gemini CLI's isolated home under `dir`. */
export async function startScriptedGemini(dir: string, options: ScriptedGeminiOptions = {}): Promise<ScriptedGemini> {
  let requests = 0;
  const served = await localServer((request, response) => {
    requests++;
    answer(request, response, options).catch((error: unknown) => {
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify(apiError(500, String(error))));
    });
  });
  return { env: { ...geminiHome(dir), GEMINI_API_KEY: 'scripted-dummy-key', GOOGLE_GEMINI_BASE_URL: served.url }, requests: () => requests, close: served.close };
}

/** HOME (and GEMINI_CLI_HOME, Gemini CLI's own name for it) with the settings the tests need. */
function geminiHome(dir: string): Record<string, string> {
  const home = join(dir, 'gemini-home');
  const tmp = join(dir, 'gemini-tmp');
  mkdirSync(join(home, '.gemini'), { recursive: true });
  mkdirSync(tmp, { recursive: true });
  const settings = {
    security: { auth: { selectedType: 'gemini-api-key' } },
    general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
    privacy: { usageStatisticsEnabled: false },
    telemetry: { enabled: false },
    ide: { enabled: false },
  };
  writeFileSync(join(home, '.gemini', 'settings.json'), JSON.stringify(settings, null, 2) + '\n');
  return {
    HOME: home,
    GEMINI_CLI_HOME: home,
    // The machine's settings (/etc/gemini-cli/) would override the user's: files that are never there.
    GEMINI_CLI_SYSTEM_SETTINGS_PATH: join(dir, 'gemini-system', 'settings.json'),
    GEMINI_CLI_SYSTEM_DEFAULTS_PATH: join(dir, 'gemini-system', 'system-defaults.json'),
    // The variable wins over settings.json, so a GEMINI_TELEMETRY_ENABLED in the caller's env cannot turn it on.
    GEMINI_TELEMETRY_ENABLED: 'false',
    // Gemini CLI writes its error reports (gemini-client-error-*.json) to the OS temp folder.
    TMPDIR: tmp,
  };
}

async function answer(request: IncomingMessage, response: ServerResponse, options: ScriptedGeminiOptions): Promise<void> {
  const body = await readBody(request);
  if (options.failWith !== undefined) return sendJson(response, options.failWith, failure(options.failWith));
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  if (request.method === 'GET' && url.pathname === '/v1beta/models') return sendJson(response, 200, { models: [] });
  const call = /^\/v1beta\/models\/([^/:]+):([A-Za-z]+)$/.exec(url.pathname);
  if (request.method !== 'POST' || !call) return sendJson(response, 404, apiError(404, `no such method: ${request.method} ${url.pathname}`));
  const model = call[1]!;
  const method = call[2]!;
  const generate = body === '' ? {} : (JSON.parse(body) as GenerateRequest);
  if (method === 'countTokens') return sendJson(response, 200, { totalTokens: 1 });
  if (method === 'generateContent') return sendJson(response, 200, reply(model, [{ text: utilityText(generate) }]));
  if (method === 'streamGenerateContent') return sendStream(response, reply(model, turn(generate)));
  return sendJson(response, 404, apiError(404, `no such method: ${method}`));
}

/** The script: a write_file call for the task's note, or the last words once it was answered. */
function turn(generate: GenerateRequest): Part[] {
  const parts = (generate.contents ?? []).flatMap((content) => content.parts ?? []);
  if (parts.some((part) => part.functionResponse !== undefined)) return [{ text: SCRIPTED_DONE }];
  const prompt = parts.map((part) => part.text ?? '').join('\n');
  const write = scriptedWrite(prompt);
  if (write === undefined) return [{ text: SCRIPTED_DONE }];
  // write_file wants a path inside the workspace; absolute is what the model is told to give.
  const worktree = WORKTREE_LINE.exec(prompt)?.[1];
  const filePath = worktree !== undefined && isAbsolute(worktree) ? join(worktree, write.path) : write.path;
  return [{ functionCall: { name: WRITE_FILE, args: { file_path: filePath, content: write.content } } }];
}

/** A utility call's answer: JSON for a response schema (the smallest value), else short text. */
function utilityText(generate: GenerateRequest): string {
  const schema = generate.generationConfig?.responseJsonSchema ?? generate.generationConfig?.responseSchema;
  return schema === undefined ? SCRIPTED_DONE : JSON.stringify(smallest(schema));
}

/** The smallest value of a JSON schema: each property present, an enum's first value, 1 for a number. */
function smallest(schema: JsonSchema): unknown {
  if (schema.enum !== undefined && schema.enum.length > 0) return schema.enum[0];
  switch ((schema.type ?? 'object').toLowerCase()) {
    case 'string':
      return 'scripted';
    case 'integer':
    case 'number':
      return 1;
    case 'boolean':
      return false;
    case 'array':
      return [];
    default:
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([name, property]) => [name, smallest(property)]));
  }
}

function reply(model: string, parts: Part[]): Record<string, unknown> {
  return {
    candidates: [{ content: { role: 'model', parts }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1, totalTokenCount: 2 },
    modelVersion: model,
  };
}

function apiError(status: number, message: string): Record<string, unknown> {
  return { error: { code: status, message, status: API_ERRORS[status] ?? 'UNKNOWN' } };
}

// The Gemini API's 429 for a spent free-tier day, as it sends it: Gemini CLI reads the QuotaFailure's
// quotaId ("...PerDay...") as a terminal quota error and gives up at once, where a bare 429 is
// retried with backoff for minutes.
const DAILY_QUOTA_429 = {
  error: {
    code: 429,
    message: 'You exceeded your current quota, please check your plan and billing details.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 250',
    status: 'RESOURCE_EXHAUSTED',
    details: [
      {
        '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
        violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests', quotaId: 'GenerateRequestsPerDayPerProjectPerModel-FreeTier' }],
      },
    ],
  },
};

/** The body of the scripted failure `status`. */
function failure(status: number): Record<string, unknown> {
  return status === 429 ? DAILY_QUOTA_429 : apiError(status, 'scripted failure');
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/** `?alt=sse`: one `data:` event holding the whole turn. */
function sendStream(response: ServerResponse, chunk: unknown): void {
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  response.end(`data: ${JSON.stringify(chunk)}\r\n\r\n`);
}

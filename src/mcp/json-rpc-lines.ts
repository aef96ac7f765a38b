// The stdio transport of `guild-fs mcp`: one JSON-RPC message a line, as the SDK's
// StdioServerTransport reads them, except that every line gets the answer JSON-RPC 2.0 asks for.
// The SDK's transport drops a line that is not JSON, an array or a scalar with only an onerror,
// so a host waits for ever; and its request handlers turn params that fail their schema into
// -32603 Internal error. Here a line is judged before the SDK sees it: -32700 Parse error,
// -32600 Invalid Request, -32602 Invalid params, answered at once, and the server serves on.
//
// Batches: MCP 2025-03-26 allowed JSON-RPC batches; 2025-06-18 removed them, and the SDK (which
// speaks 2025-11-25 and earlier) has no way to take one. An array gets one -32600 saying so.
import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const INVALID_PARAMS = -32602;
/** As the SDK's ReadBuffer: a longer line is not a message anyone meant to send. */
const MAX_LINE_BYTES = 10 * 1024 * 1024;

/** The part of a zod schema used here (the SDK's schemas, handed in: this file never loads the SDK). */
export interface MessageSchema {
  safeParse(value: unknown): { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } };
}

export interface LineSchemas {
  /** Any JSON-RPC message MCP knows: request, notification, response. */
  message: MessageSchema;
  /** The request schema of each method whose params are checked before the SDK's handler. */
  requests: Record<string, MessageSchema>;
}

export interface ErrorAnswer {
  jsonrpc: '2.0';
  id: string | number | null;
  error: { code: number; message: string };
}

export type LineVerdict = { message: JSONRPCMessage } | { answer: ErrorAnswer } | { blank: true };

/** What one line from the host is: a message for the SDK, or the error answer it gets instead. */
export function judgeLine(line: string, schemas: LineSchemas): LineVerdict {
  if (line.trim() === '') return { blank: true };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return answer(null, PARSE_ERROR, `Parse error: ${(error as Error).message}`);
  }
  if (Array.isArray(value)) {
    return answer(null, INVALID_REQUEST, `Invalid Request: ${value.length === 0 ? 'an empty batch' : 'a batch'}; MCP has no batches since 2025-06-18, send each message as a line of its own`);
  }
  if (typeof value !== 'object' || value === null) return answer(null, INVALID_REQUEST, `Invalid Request: a message is a JSON object, not ${value === null ? 'null' : `a ${typeof value}`}`);
  const object = value as Record<string, unknown>;
  const id = typeof object.id === 'string' || typeof object.id === 'number' ? object.id : null;
  const checked = schemas.message.safeParse(object);
  if (!checked.success) return answer(id, INVALID_REQUEST, `Invalid Request: ${whyInvalid(object, checked.error?.issues ?? [])}`);
  const request = typeof object.method === 'string' && id !== null ? schemas.requests[object.method] : undefined;
  const params = request?.safeParse(object);
  if (params && !params.success) return answer(id, INVALID_PARAMS, `Invalid params for ${object.method as string}: ${issueList(params.error?.issues ?? [])}`);
  return { message: object as JSONRPCMessage };
}

function answer(id: string | number | null, code: number, message: string): { answer: ErrorAnswer } {
  return { answer: { jsonrpc: '2.0', id, error: { code, message } } };
}

/** The first rule of JSON-RPC (as MCP narrows it) that the message breaks, in words. */
function whyInvalid(object: Record<string, unknown>, issues: { path: PropertyKey[]; message: string }[]): string {
  if (object.jsonrpc !== '2.0') return `"jsonrpc" must be "2.0", got ${JSON.stringify(object.jsonrpc) ?? 'nothing'}`;
  if ('method' in object && typeof object.method !== 'string') return '"method" must be a string';
  if ('id' in object && typeof object.id !== 'string' && typeof object.id !== 'number') return '"id" must be a string or a number';
  const params = object.params;
  if ('params' in object && (typeof params !== 'object' || params === null || Array.isArray(params))) return '"params" must be an object';
  if (!('method' in object) && !('result' in object) && !('error' in object)) return 'neither a request or notification ("method") nor a response ("result" or "error")';
  return `not a request, a notification or a response (${issueList(issues)})`;
}

function issueList(issues: { path: PropertyKey[]; message: string }[]): string {
  return issues.slice(0, 3).map((issue) => `${issue.path.map(String).join('.') || 'the message'}: ${issue.message}`).join('; ') || 'it does not fit the schema';
}

/** Reads the host's lines from stdin, writes messages to stdout; the SDK's Server connects to it. */
export class JsonRpcLineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private pending: Buffer = Buffer.alloc(0);
  /** Inside a line that grew past MAX_LINE_BYTES: dropped up to its end. */
  private skipping = false;

  constructor(
    private readonly stdin: Readable,
    private readonly stdout: Writable,
    private readonly schemas: LineSchemas,
  ) {}

  async start(): Promise<void> {
    this.stdin.on('data', this.onData);
    this.stdin.on('error', this.onStdinError);
  }

  /** The SDK's messages. The transport's own error answers are written apart (see write). */
  send(message: JSONRPCMessage): Promise<void> {
    return this.write(message);
  }

  async close(): Promise<void> {
    this.stdin.off('data', this.onData);
    this.stdin.off('error', this.onStdinError);
    if (this.stdin.listenerCount('data') === 0) this.stdin.pause();
    this.pending = Buffer.alloc(0);
    this.onclose?.();
  }

  private readonly onStdinError = (error: Error): void => this.onerror?.(error);

  private readonly onData = (chunk: Buffer | string): void => {
    this.pending = Buffer.concat([this.pending, typeof chunk === 'string' ? Buffer.from(chunk) : chunk]);
    let end: number;
    while ((end = this.pending.indexOf(0x0a)) >= 0) {
      const line = this.pending.toString('utf8', 0, end).replace(/\r$/, '');
      this.pending = this.pending.subarray(end + 1);
      if (this.skipping) this.skipping = false;
      else this.take(line);
    }
    if (this.pending.length > MAX_LINE_BYTES && !this.skipping) {
      this.skipping = true;
      this.pending = Buffer.alloc(0);
      this.reply(answer(null, PARSE_ERROR, `Parse error: a line longer than ${MAX_LINE_BYTES} bytes`).answer);
    } else if (this.skipping) {
      this.pending = Buffer.alloc(0);
    }
  };

  private take(line: string): void {
    const verdict = judgeLine(line, this.schemas);
    if ('message' in verdict) this.onmessage?.(verdict.message);
    else if ('answer' in verdict) this.reply(verdict.answer);
  }

  /**
   * Not through send: the server wraps send to learn when a tool call's answer is out, and an
   * invalid message may carry the id of a call still running.
   */
  private reply(error: ErrorAnswer): void {
    void this.write(error);
  }

  private write(message: unknown): Promise<void> {
    return new Promise((resolve) => {
      if (this.stdout.write(`${JSON.stringify(message)}\n`)) resolve();
      else this.stdout.once('drain', resolve);
    });
  }
}

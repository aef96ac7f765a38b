import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { createWriteStream, openSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { requireDuration } from '../../duration.js';
import { UsageError } from '../../errors.js';
import { parseAgentName } from '../../identifiers.js';
import type { AuditEvent } from '../../log/event.js';
import { queryLog, type LogFilter } from '../../history/query-log.js';
import { rotateLog } from '../../history/rotate-log.js';
import { typedTaskId, type Context } from '../context.js';

export interface LogArgs {
  action?: string;
  file?: string;
  before?: string;
  ndjson?: boolean;
  task?: string;
  agent?: string;
  type?: string[] | string;
  since?: string;
  until?: string;
  errors?: boolean;
  limit?: number;
  lenient?: boolean;
}

/** With --json this prints NDJSON itself, one event a line, as the events come (for jq). */
export const streams = true;

export async function run(args: LogArgs, ctx: Context): Promise<{ events: number; file?: string }> {
  const filter = await logFilter(args, ctx);
  const warn = (warning: { file: string; line: number; message: string }): void => void ctx.notes.push(`warning: ${warning.file}:${warning.line}: ${warning.message}`);
  if (args.action === 'export') return exportLog(args, filter, ctx, warn);
  if (args.action === 'rotate') return rotate(args, ctx);
  if (args.action !== undefined) throw new UsageError(`unknown log action ${JSON.stringify(args.action)} (try: guild-fs log export FILE, guild-fs log rotate)`);
  if (ctx.json) {
    // NDJSON through the ndjson library's stringify stream, with backpressure: a slow reader at
    // the other end of a pipe holds the log reader back instead of filling memory.
    const { stringify } = await import('ndjson');
    const stream = stringify();
    stream.pipe(process.stdout, { end: false });
    const events = await queryLog(ctx.guild(), filter, (event) => (stream.write(event) ? undefined : once(stream, 'drain').then(() => undefined)), warn);
    stream.end();
    await once(stream, 'end');
    return { events };
  }
  const out: string[] = [];
  const flush = (): void => {
    if (out.length > 0) process.stdout.write(out.join(''));
    out.length = 0;
  };
  const events = await queryLog(
    ctx.guild(),
    filter,
    (event) => {
      out.push(`${humanLine(event)}\n`);
      if (out.length >= 512) flush();
    },
    warn,
  );
  flush();
  return { events };
}

/** The filter the options ask for (shared with the MCP server's log tool). */
export async function logFilter(args: LogArgs, ctx: Context): Promise<LogFilter> {
  const filter: LogFilter = {
    task: args.task === undefined ? undefined : await typedTaskId(ctx, args.task),
    agent: args.agent === undefined ? undefined : parseAgentName(args.agent),
    types: args.type === undefined ? undefined : ([] as string[]).concat(args.type).flatMap((type) => type.split(',')),
    since: timeOption(args.since, '--since', ctx),
    until: timeOption(args.until, '--until', ctx),
    errors: args.errors,
    lenient: args.lenient,
  };
  if (args.limit !== undefined) {
    if (!Number.isInteger(args.limit) || args.limit < 1) throw new UsageError(`--limit must be a whole number of at least 1, got ${args.limit}`);
    filter.limit = args.limit;
  }
  return filter;
}

export function render(): string {
  return '';
}

/** `log rotate [--before T]`: events older than T (default: the start of this month, UTC) go to monthly segments. */
async function rotate(args: LogArgs, ctx: Context): Promise<{ events: number }> {
  const now = new Date(ctx.guild().now());
  const before = args.before === undefined ? Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1) : timeOption(args.before, '--before', ctx)!;
  const result = await rotateLog(ctx.guild(), before);
  const text = result.moved === 0 ? `nothing older than ${new Date(before).toISOString()} to rotate` : `moved ${result.moved} events into ${result.segments.map((path) => basename(path)).join(', ')}; ${result.kept} stay in the live log`;
  process.stdout.write(ctx.json ? `${JSON.stringify({ ok: true, result: { ...result, before: new Date(before).toISOString() } })}\n` : `${text}\n`);
  return { events: result.moved };
}

/**
 * `log export FILE`: the (filtered) history as one JSON array, or NDJSON with --ndjson, written
 * atomically: a reader of FILE sees the old file or the whole new one.
 */
async function exportLog(args: LogArgs, filter: LogFilter, ctx: Context, warn: (warning: { file: string; line: number; message: string }) => void): Promise<{ events: number; file: string }> {
  if (!args.file) throw new UsageError('log export needs a file: guild-fs log export history.json');
  const file = resolve(ctx.cwd, args.file);
  const guild = ctx.guild();
  const temp = `${file}.${process.pid}.tmp`;
  // Opened here, synchronously, so that a folder that does not exist is a usage error with the
  // path, not an 'error' event on the stream after the log has been read.
  const out = createWriteStream(temp, { fd: openExportFile(temp, file) });
  // A write that fails later (a full disk) is reported by finished() below, not as an uncaught event.
  out.on('error', () => undefined);
  let first = true;
  const write = (text: string): Promise<void> | undefined => (out.write(text) ? undefined : once(out, 'drain').then(() => undefined));
  if (!args.ndjson) out.write('[\n');
  let events: number;
  try {
    events = await queryLog(
      guild,
      filter,
      (event) => {
        const text = args.ndjson ? `${JSON.stringify(event)}\n` : `${first ? '' : ',\n'}${JSON.stringify(event)}`;
        first = false;
        return write(text);
      },
      warn,
    );
  } catch (error) {
    out.destroy();
    rmSync(temp, { force: true });
    throw error;
  }
  if (!args.ndjson) out.write(first ? ']\n' : '\n]\n');
  out.end();
  try {
    await finished(out);
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new UsageError(`cannot write ${file}: ${(error as Error).message}`, { file }, 'EEXPORT');
  }
  if (!ctx.json) process.stdout.write(`exported ${events} event${events === 1 ? '' : 's'} to ${file}\n`);
  else process.stdout.write(`${JSON.stringify({ ok: true, result: { events, file } })}\n`);
  return { events, file };
}

function openExportFile(temp: string, file: string): number {
  try {
    return openSync(temp, 'w');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? `the folder ${dirname(file)} does not exist` : code === 'EISDIR' ? 'it is a folder' : (error as Error).message;
    throw new UsageError(`cannot write ${file}: ${why}`, { file, ...(code ? { errno: code } : {}) }, 'EEXPORT');
  }
}

/** An ISO time, or a duration meaning that long ago ("2h"). */
function timeOption(value: string | undefined, option: string, ctx: Context): number | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  if (!Number.isNaN(time) && /\d{4}-\d{2}-\d{2}/.test(value)) return time;
  return ctx.guild().now() - requireDuration(value, option);
}

export function humanLine(event: AuditEvent): string {
  const data = Object.entries(event.data ?? {})
    .filter(([, value]) => value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return [event.ts, event.type.padEnd(15), (event.task ?? '-').padEnd(8), event.agent, data].join('  ').trimEnd();
}

// `guild-fs output <ID> [--try N] [--follow]`: what an agent printed in one try of a task, as the
// runner recorded it in <git-common-dir>/guild/runs/<ID>/<try>.log (runner/run-log.ts). For a
// person: the lines as the agent printed them (stdout and stderr interleaved, as they came), then
// how the try ended. With --json: NDJSON, one {task, try, time, kind, text} a line (kind out, err
// or end), like `log` and `events`. --follow keeps printing as the log grows, until its end line.
import { wakeOnChange } from '../folder-wakeup.js';
import { open } from 'node:fs/promises';
import { once } from 'node:events';
import { dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { ExitCode, GuildError, NoSuchTaskError, UsageError } from '../../errors.js';
import { judgeLock } from '../../lock/task-locks.js';
import { listRuns, parseRunLine, type RunFile } from '../../runner/run-log.js';
import { loadBoard, type Guild } from '../../tasks/guild.js';
import { typedTaskId, type Context } from '../context.js';

export interface OutputArgs {
  id: string;
  try?: number;
  follow?: boolean;
}

export interface OutputResult {
  task: string;
  try: number;
  lines: number;
  /** The end line's summary, or null when the log has none (yet, or its runner died). */
  ended: string | null;
}

/** Prints its own output as it goes: a log can be far larger than one document should be. */
export const streams = true;

/** Follow: how often to look where fs.watch hears nothing, and how long a log with no end line may sit unchanged once its task is no longer held. */
const POLL_MS = 500;
const ABANDONED_MS = 2_000;

export async function run(args: OutputArgs, ctx: Context): Promise<OutputResult> {
  const guild = ctx.guild();
  const id = await typedTaskId(ctx, args.id);
  if (args.try !== undefined && (!Number.isInteger(args.try) || args.try < 1)) throw new UsageError(`--try must be a try number from 1, got ${JSON.stringify(args.try)}`, { value: args.try });
  const runs = listRuns(guild.repo.commonDir, id);
  if (runs.length === 0) await requireTask(guild, id);
  const chosen = args.try === undefined ? runs[runs.length - 1] : runs.find((run) => run.try === args.try);
  if (!chosen) {
    const have = runs.length === 0 ? 'no try of it has output yet (guild-fs run writes it)' : `tries with output: ${runs.map((run) => run.try).join(', ')}`;
    throw new GuildError('ENORUN', ExitCode.noSuchTask, `${id} has no output for ${args.try === undefined ? 'any try' : `try ${args.try}`}: ${have}`, { task: id, try: args.try ?? null, tries: runs.map((run) => run.try) });
  }

  const reader = new RunLogReader(chosen.path, (line) => print(ctx.json ? jsonLine(id, chosen.try, line) : humanLine(chosen.try, line)));
  await reader.read();
  if (args.follow && reader.ended === null) await follow(guild, id, chosen, reader, ctx.notes);
  return { task: id, try: chosen.try, lines: reader.lines, ended: reader.ended };
}

/** No output and not on the board: no such task (exit 4), said as `show` says it. */
async function requireTask(guild: Guild, id: string): Promise<void> {
  const board = await loadBoard(guild);
  if (!board.byId.has(id)) throw new NoSuchTaskError(id);
}

type Line = { time: string | null; kind: 'out' | 'err' | 'end' | 'unparsed'; text: string };

function jsonLine(task: string, tryNumber: number, line: Line): string {
  return JSON.stringify({ task, try: tryNumber, ...line });
}

function humanLine(tryNumber: number, line: Line): string {
  return line.kind === 'end' ? `-- try ${tryNumber} ended ${line.time}: ${line.text}` : line.text;
}

async function print(text: string): Promise<void> {
  // Backpressure: a slow reader (a pager) holds the reading back rather than filling memory.
  if (!process.stdout.write(`${text}\n`)) await once(process.stdout, 'drain');
}

/** Reads a run log from where it last stopped: only whole lines; a line still being written waits for its end. */
class RunLogReader {
  offset = 0;
  lines = 0;
  ended: string | null = null;
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');

  constructor(
    private readonly path: string,
    private readonly emit: (line: Line) => Promise<void>,
  ) {}

  /** Reads what was added since the last call; true when anything was. */
  async read(): Promise<boolean> {
    const handle = await open(this.path, 'r');
    const buffer = Buffer.alloc(64 * 1024);
    let grew = false;
    try {
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
        if (bytesRead === 0) break;
        grew = true;
        this.offset += bytesRead;
        const pieces = (this.partial + this.decoder.write(buffer.subarray(0, bytesRead))).split('\n');
        this.partial = pieces.pop()!;
        for (const piece of pieces) {
          await this.take(piece);
          // Whatever a runner appends after its end line is not part of this try.
          if (this.ended !== null) return true;
        }
      }
    } finally {
      await handle.close();
    }
    return grew;
  }

  private async take(raw: string): Promise<void> {
    const parsed = parseRunLine(raw);
    const line: Line = parsed ?? { time: null, kind: 'unparsed', text: raw };
    if (line.kind === 'end') this.ended = line.text;
    this.lines++;
    await this.emit(line);
  }
}

/**
 * Prints what the log gains until its end line. Woken by fs.watch on the runs folder, with a
 * modest poll beside it (file systems where fs.watch hears nothing). A try whose runner died
 * (SIGKILL) never gets its end line: once its task is no longer held, or held by a process proved
 * gone (the runner binds its claims to itself), or a later try has begun, and the log has sat
 * unchanged for ABANDONED_MS, following stops with a note.
 */
async function follow(guild: Guild, id: string, chosen: RunFile, reader: RunLogReader, notes: string[]): Promise<void> {
  const wakeup = wakeOnChange(dirname(chosen.path), POLL_MS);
  let lastGrowth = Date.now();
  try {
    while (reader.ended === null) {
      await wakeup.next();
      if (await reader.read()) {
        lastGrowth = Date.now();
        continue;
      }
      if (Date.now() - lastGrowth < ABANDONED_MS) continue;
      const gone = listRuns(guild.repo.commonDir, id).some((run) => run.try > chosen.try) ? 'a later try has begun' : holderGone(guild, id);
      if (gone !== null) {
        await reader.read();
        if (reader.ended === null) notes.push(`guild-fs output: try ${chosen.try} of ${id} has no end line and ${gone}: its runner stopped without finishing it`);
        return;
      }
    }
  } finally {
    wakeup.close();
  }
}

/** Why nobody runs the task any more, or null while its claim stands. Judged by process alone: a quiet agent is no sign of a dead runner. */
function holderGone(guild: Guild, id: string): string | null {
  const read = guild.locks.read(id);
  if (read.state === 'free') return `${id} is no longer held`;
  if (read.state !== 'held') return null;
  const judged = judgeLock(read.owner, { now: Date.now(), ttlMs: Infinity });
  return judged.stale ? `its claim's process is gone (${judged.reason})` : null;
}

/** Everything was printed as it was read. */
export function render(): string {
  return '';
}

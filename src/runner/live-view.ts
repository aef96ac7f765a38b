// What a person at a terminal sees while `guild-fs run` works: the run's event lines scroll by as
// in the plain output, and below them a block redrawn in place (at most ten times a second): the
// board's progress as a bar (done of all tasks outside Backlog), then one line per worker with its
// task, how long it has been at it, and the last line its agent printed. Elsewhere (a pipe, CI,
// --json) the plain lines or NDJSON are printed instead: a redraw would only garble a log.
import { stripTerminalControls } from '../control-characters.js';
import { formatDuration } from '../duration.js';
import type { RunEvent } from './events.js';
import { clockTime, eventLines } from './event-lines.js';

export interface BoardProgress {
  done: number;
  total: number;
}

interface WorkerState {
  task: string | null;
  since: number;
  last: string;
}

export interface LiveViewOptions {
  out: { write(text: string): boolean; columns?: number };
  workers?: string[];
  /** Reads the board's progress; called after each task event, never on the redraw path. */
  progress: () => Promise<BoardProgress>;
  now?: () => number;
  /** Redraws at most this often (ms). */
  frameMs?: number;
}

const ERASE_LINE = '\x1b[2K';
const UP = (n: number): string => `\x1b[${n}A`;

export class LiveView {
  private readonly workers = new Map<string, WorkerState>();
  private drawn = 0;
  private progress: BoardProgress | null = null;
  private failedTries = 0;
  /** Agent commands whose breaker is open: said in the block until they work again. */
  private readonly parked = new Map<string, Extract<RunEvent, { event: 'agent.unavailable' }>>();
  private started: number;
  private timer: NodeJS.Timeout | null = null;
  private dirty = false;
  private readonly now: () => number;

  constructor(private readonly options: LiveViewOptions) {
    this.now = options.now ?? Date.now;
    this.started = this.now();
    for (const name of options.workers ?? []) this.workers.set(name, { task: null, since: this.started, last: '' });
  }

  onEvent(event: RunEvent): void {
    if (event.event === 'run.started') {
      for (const name of event.workers) if (!this.workers.has(name)) this.workers.set(name, { task: null, since: this.now(), last: '' });
      this.refreshProgress();
    }
    if (event.event === 'task.claimed') this.workers.set(event.worker, { task: event.task, since: this.now(), last: '' });
    if (event.event === 'task.done' || event.event === 'task.failed' || event.event === 'task.released') {
      this.workers.set(event.worker, { task: null, since: this.now(), last: '' });
      if (event.event === 'task.failed') this.failedTries++;
      this.refreshProgress();
    }
    if (event.event === 'agent.unavailable') this.parked.set(event.command, event);
    if (event.event === 'agent.available') this.parked.delete(event.command);
    if (event.event === 'run.summary') {
      this.stop();
      this.clear();
    }
    const lines = eventLines(event);
    if (lines.length > 0) {
      // Lines above the block: erase the block, print, and draw it again below them.
      this.clear();
      for (const line of lines) this.options.out.write(`${line.text}\n`);
    }
    if (event.event !== 'run.summary') this.draw();
  }

  onOutput(worker: string, text: string): void {
    const state = this.workers.get(worker);
    if (!state || text.trim() === '') return;
    state.last = text;
    this.dirty = true;
    if (this.timer === null) {
      // The block is redrawn on a timer while agents print: output can come by the thousand lines.
      this.timer = setInterval(() => this.dirty && this.draw(), this.options.frameMs ?? 100);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** The block as it would be drawn now (for tests). */
  block(): string[] {
    const width = Math.max(40, (this.options.out.columns || 80) - 1);
    const cut = (line: string): string => (line.length > width ? `${line.slice(0, width - 1)}…` : line);
    const lines = [cut(this.bar(width)), ...[...this.parked.values()].map((event) => parkedLine(event, width))];
    for (const [name, state] of this.workers) {
      const elapsed = formatElapsed(this.now() - state.since);
      lines.push(cut(state.task === null ? `${name}  idle` : `${name}  ${state.task}  ${elapsed.padStart(5)}  ${state.last === '' ? '' : `> ${printable(state.last)}`}`));
    }
    return lines;
  }

  private bar(width: number): string {
    const elapsed = formatElapsed(this.now() - this.started);
    const failed = this.failedTries > 0 ? ` · ${this.failedTries} failed tr${this.failedTries === 1 ? 'y' : 'ies'}` : '';
    if (this.progress === null || this.progress.total === 0) return `run · ${elapsed}${failed}`;
    const { done, total } = this.progress;
    const size = Math.max(10, Math.min(30, width - 40));
    const filled = Math.round((done / total) * size);
    return `[${'#'.repeat(filled)}${'.'.repeat(size - filled)}] ${done}/${total} done · ${elapsed}${failed}`;
  }

  private refreshProgress(): void {
    this.options.progress().then(
      (progress) => {
        this.progress = progress;
        this.draw();
      },
      () => {},
    );
  }

  private draw(): void {
    this.dirty = false;
    this.clear();
    const lines = this.block();
    this.options.out.write(lines.map((line) => `${line}\n`).join(''));
    this.drawn = lines.length;
  }

  private clear(): void {
    if (this.drawn === 0) return;
    let text = UP(this.drawn);
    for (let i = 0; i < this.drawn; i++) text += `${ERASE_LINE}\n`;
    this.options.out.write(`${text}${UP(this.drawn)}`);
    this.drawn = 0;
  }
}

/** Whole seconds, as the rest of guild-fs says durations (a running clock has no use for ms). */
function formatElapsed(ms: number): string {
  return ms < 1_000 ? '0s' : formatDuration(Math.floor(ms / 1_000) * 1_000);
}

/** An agent's line without the control bytes that would move the cursor under the view. */
/** An agent's text as one line of the block: the same cleaning as the reasons stored (control-characters.ts), tabs and line ends as spaces. */
function printable(text: string): string {
  return stripTerminalControls(text).replace(/[\t\n]/g, ' ');
}

/** An open breaker in the block: the reason is what gets cut, never the time it waits for. */
function parkedLine(event: Extract<RunEvent, { event: 'agent.unavailable' }>, width: number): string {
  const head = `agent ${event.command} unavailable: `;
  const tail = event.wait ? `; waiting until ${clockTime(event.until)} (or --no-wait to stop)` : '; not waiting (--no-wait)';
  const room = Math.max(10, width - head.length - tail.length);
  const reason = printable(event.reason);
  return `${head}${reason.length > room ? `${reason.slice(0, room - 1)}…` : reason}${tail}`;
}

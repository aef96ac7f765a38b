// replay --check: does the board say what the log says? CI runs it, so every disagreement is
// named with the board's line and the event behind it.
import { replayLog, type ReplayedTask } from '../log/replay-log.js';
import type { LogWarning } from '../log/read-events.js';
import { loadBoard, type Guild } from '../tasks/guild.js';
import { boardNotices } from '../tasks/queries.js';

export interface Disagreement {
  task: string | null;
  line: number | null;
  message: string;
}

export interface ReplayReport {
  ok: boolean;
  events: number;
  tasks: ReplayedTask[];
  disagreements: Disagreement[];
  warnings: string[];
}

export async function replayGuild(guild: Guild, options: { until?: number; check: boolean; lenient?: boolean; onProgress?: (bytesRead: number, totalBytes: number) => void }): Promise<ReplayReport> {
  const replay = await replayLog(guild.logPath, { until: options.until, lenient: options.lenient, onProgress: options.onProgress });
  const warnings = [
    ...replay.warnings.map((warning: LogWarning) => `${warning.file}:${warning.line}: ${warning.message}`),
    ...replay.unknown.map((event) => `.guild/audit.jsonl:${event.line}: event of unknown type ${JSON.stringify(event.type)} kept, not replayed`),
  ];
  const report: ReplayReport = { ok: true, events: replay.events, tasks: [...replay.tasks.values()], disagreements: [], warnings };
  if (!options.check) return report;

  const board = await loadBoard(guild);
  const heading = (status: string): string => board.settings.headings[status as keyof typeof board.settings.headings] ?? status;
  const since = (r: ReplayedTask): string => `the log's last event for it is ${r.last.type} by ${r.last.agent} at ${r.last.ts} (.guild/audit.jsonl:${r.last.line})`;
  const disagree = (task: string | null, line: number | null, message: string): void => void report.disagreements.push({ task, line, message: line ? `ACTIVE_TASKS.md:${line} ${message}` : message });

  for (const task of board.tasks) {
    if (task.id === null) {
      disagree(null, task.line, `a task without an ID, not yet in the log (run \`guild-fs sync\` or any write)`);
      continue;
    }
    if (task.checked && task.status !== 'done') {
      disagree(task.id, task.line, `${task.id} is ticked on the board but still in ${heading(task.status)}: a hand edit not yet recorded (run \`guild-fs sync\` or any write)`);
      continue;
    }
    const replayed = replay.tasks.get(task.id);
    if (!replayed) {
      disagree(task.id, task.line, `${task.id} is in ${heading(task.status)} on the board, but the log has no event for it`);
      continue;
    }
    if (replayed.status !== task.status) {
      disagree(task.id, task.line, `${task.id} is in ${heading(task.status)} on the board, but ${since(replayed)}`);
    } else if (task.status === 'in-progress' && replayed.owner !== task.owner) {
      disagree(task.id, task.line, `${task.id} is held by ${task.owner ?? 'nobody'} on the board, but by ${replayed.owner ?? 'nobody'} in the log: ${since(replayed)}`);
    } else if (replayed.tries !== task.tries) {
      disagree(task.id, task.line, `${task.id} has tries:${task.tries} on the board, but ${replayed.tries} in the log: ${since(replayed)}`);
    }
  }
  for (const replayed of replay.tasks.values()) {
    if (!board.byId.has(replayed.id) && replayed.last.type !== 'task.cancelled') {
      disagree(replayed.id, null, `${replayed.id} is not on the board, but ${since(replayed)}`);
    }
  }
  // Two clones that claimed one task offline both logged their claim: the board can show only
  // one holder, so this is named even when the board agrees with the last claim.
  for (const { task, first, second } of replay.doubleClaims) {
    const claim = (c: typeof first): string => `by ${c.agent} at ${c.ts} (event ${c.id}, ${c.file}:${c.line})`;
    disagree(task, board.byId.get(task)?.line ?? null, `${task} was claimed twice with no release, completion, failure or heal between: ${claim(first)} and ${claim(second)}`);
  }
  for (const notice of boardNotices(board)) {
    if (notice.message.startsWith('task without an ID')) continue; // named above
    disagree(null, notice.line, notice.message);
  }
  report.ok = report.disagreements.length === 0;
  return report;
}

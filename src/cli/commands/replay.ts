import { CheckFailedError, UsageError } from '../../errors.js';
import { replayGuild, type ReplayReport } from '../../history/replay-check.js';
import type { Context } from '../context.js';
import { progressBar } from '../progress.js';
import { table } from '../output.js';

export async function run(args: { until?: string; check?: boolean; lenient?: boolean }, ctx: Context): Promise<ReplayReport> {
  let until: number | undefined;
  if (args.until !== undefined) {
    until = Date.parse(args.until);
    if (Number.isNaN(until)) throw new UsageError(`--until: not a time: ${JSON.stringify(args.until)} (try 2026-11-21T10:00:00Z)`);
  }
  const progress = progressBar('replay', { json: ctx.json });
  const report = await replayGuild(ctx.guild(), { until, check: Boolean(args.check), lenient: args.lenient, onProgress: progress.update });
  progress.done();
  for (const warning of report.warnings) ctx.notes.push(`warning: ${warning}`);
  return report;
}

/** With --check, exit 6 naming each disagreement. */
export function failure(report: ReplayReport): CheckFailedError | undefined {
  if (report.ok) return undefined;
  const count = report.disagreements.length;
  return new CheckFailedError(`the board and the log disagree in ${count} place${count === 1 ? '' : 's'}`, { disagreements: report.disagreements });
}

export function render(report: ReplayReport): string {
  if (report.disagreements.length > 0) return report.disagreements.map((d) => d.message).join('\n');
  const rows = report.tasks.map((task) => [task.id, task.status, task.owner ?? '', task.tries ? `tries:${task.tries}` : '', `${task.last.type} ${task.last.ts}`]);
  return [`${report.events} events, ${report.tasks.length} tasks${report.ok ? '' : ''}`, rows.length ? table(rows) : ''].filter(Boolean).join('\n');
}

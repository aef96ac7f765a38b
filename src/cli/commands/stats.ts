import { formatDuration } from '../../duration.js';
import { logStats, type StatsResult } from '../../history/log-stats.js';
import type { Context } from '../context.js';
import { progressBar } from '../progress.js';
import { table } from '../output.js';

export async function run(args: { lenient?: boolean }, ctx: Context): Promise<StatsResult> {
  const progress = progressBar('stats', { json: ctx.json });
  const result = await logStats(ctx.guild(), { lenient: args.lenient, onProgress: progress.update });
  progress.done();
  for (const warning of result.warnings) ctx.notes.push(`warning: ${warning.file}:${warning.line}: ${warning.message}`);
  return result;
}

export function render(result: StatsResult): string {
  const time = (ms: number | null): string => (ms === null ? '-' : formatDuration(ms));
  const agents = result.agents.length
    ? table([['agent', 'claimed', 'completed', 'failed', 'in progress', 'mean', 'p90'], ...result.agents.map((a) => [a.agent, String(a.claimed), String(a.completed), String(a.failed), String(a.inProgress), time(a.meanMs), time(a.p90Ms)])])
    : 'no claims yet';
  const statuses = Object.entries(result.statuses)
    .map(([status, count]) => `${status} ${count}`)
    .join(', ');
  return `${agents}\n\n${result.events} events; tasks: ${statuses || 'none'}`;
}

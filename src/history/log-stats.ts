// stats: who did what, from the log, streamed: per agent, claims, completions, failures, what
// is in progress now, and the time from claim to complete (mean and p90); per status, counts.
// Memory grows with tasks and agents, not with events (for a log in (ts, id) order; one a merge
// left out of order is sorted in memory, as replay does).
import { foldOrdered } from '../log/ordered-events.js';
import type { LogWarning } from '../log/read-events.js';
import { applyEvent, slimEvent, type ReplayedTask } from '../log/replay-log.js';
import type { Guild } from '../tasks/guild.js';

export interface AgentStats {
  agent: string;
  claimed: number;
  completed: number;
  failed: number;
  inProgress: number;
  /** Claim-to-complete times, in ms. */
  meanMs: number | null;
  p90Ms: number | null;
}

export interface StatsResult {
  events: number;
  agents: AgentStats[];
  statuses: Record<string, number>;
  warnings: LogWarning[];
}

export async function logStats(guild: Guild, options: { lenient?: boolean; onProgress?: (bytesRead: number, totalBytes: number) => void } = {}): Promise<StatsResult> {
  const warnings: LogWarning[] = [];
  let agents!: Map<string, { claimed: number; completed: number; failed: number; durations: number[] }>;
  let tasks!: Map<string, ReplayedTask>;
  const of = (agent: string) => {
    let stats = agents.get(agent);
    if (!stats) agents.set(agent, (stats = { claimed: 0, completed: 0, failed: 0, durations: [] }));
    return stats;
  };
  // The same order and dedupe as replay (ordered-events.ts): a line a merge kept twice counts
  // once wherever it sits, and the statuses here are replay's. Streamed when the log is in order.
  const events = await foldOrdered(guild.logPath, { lenient: options.lenient, onProgress: options.onProgress, onWarning: (warning) => warnings.push(warning), slim: slimEvent }, () => {
    agents = new Map();
    tasks = new Map();
    // Times are kept as written and parsed only when a completion needs them.
    const claimedAt = new Map<string, { agent: string; at: string }>();
    return {
      wants: (event) => typeof event.task === 'string',
      visit: (event, line) => {
        const task = event.task!;
        applyEvent(tasks, event, line);
        if (event.type === 'task.claimed') {
          of(event.agent).claimed++;
          claimedAt.set(task, { agent: event.agent, at: event.ts });
        } else if (event.type === 'task.completed') {
          const claim = claimedAt.get(task);
          // A box ticked by a human completes the task for whoever held it.
          const agent = event.agent === 'human' && claim ? claim.agent : event.agent;
          const stats = of(agent);
          stats.completed++;
          if (claim) stats.durations.push(Date.parse(event.ts) - Date.parse(claim.at));
          claimedAt.delete(task);
        } else if (event.type === 'task.failed') {
          of(event.agent).failed++;
          claimedAt.delete(task);
        } else if (event.type === 'task.released' || event.type === 'lock.healed' || event.type === 'task.poisoned') {
          claimedAt.delete(task);
        }
      },
    };
  });
  const statuses: Record<string, number> = {};
  const inProgress = new Map<string, number>();
  for (const task of tasks.values()) {
    statuses[task.status] = (statuses[task.status] ?? 0) + 1;
    if (task.status === 'in-progress' && task.owner) inProgress.set(task.owner, (inProgress.get(task.owner) ?? 0) + 1);
  }
  for (const owner of inProgress.keys()) of(owner);
  const rows = [...agents.entries()]
    .filter(([agent]) => agent !== 'human' || agents.get(agent)!.claimed > 0)
    .map(([agent, stats]): AgentStats => {
      const sorted = [...stats.durations].sort((a, b) => a - b);
      return {
        agent,
        claimed: stats.claimed,
        completed: stats.completed,
        failed: stats.failed,
        inProgress: inProgress.get(agent) ?? 0,
        meanMs: sorted.length ? Math.round(sorted.reduce((sum, ms) => sum + ms, 0) / sorted.length) : null,
        p90Ms: sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.9) - 1)]! : null,
      };
    })
    .sort((a, b) => a.agent.localeCompare(b.agent));
  return { events, agents: rows, statuses, warnings };
}

import { formatDuration } from '../../duration.js';
import { guildStatus, type GuildStatus } from '../../health/guild-status.js';
import type { Context } from '../context.js';
import { table } from '../output.js';

export type StatusOutput = GuildStatus & { elsewhere?: { claimed: string[]; done: string[] } };

export async function run(_args: unknown, ctx: Context): Promise<StatusOutput> {
  const guild = await ctx.seeingGuild();
  const status: StatusOutput = await guildStatus(guild, {
    // Only when no running daemon has a fresh sample: loading systeminformation is status's cost then.
    sample: async () => {
      try {
        const { sampleMachine } = await import('../../daemon/sample-machine.js');
        return await sampleMachine(guild.repo.mainWorktree, guild.now());
      } catch {
        return null;
      }
    },
  });
  // Through a remote: what other clones hold, or finished and this board does not show yet.
  if (guild.elsewhere) {
    const of = (state: 'claimed' | 'done'): string[] => [...guild.elsewhere!].filter(([, claim]) => claim.state === state).map(([task]) => task).sort();
    status.elsewhere = { claimed: of('claimed'), done: of('done') };
  }
  return status;
}

const gib = (bytes: number | null): string => (bytes === null ? '?' : `${(bytes / 2 ** 30).toFixed(1)} GiB`);

export function render(status: StatusOutput): string {
  const lines: string[] = [];
  const counts = Object.entries(status.board.counts)
    .filter(([, n]) => n > 0)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
  lines.push(status.board.error ? `board: cannot be read: ${status.board.error}` : `board: ${status.board.tasks} tasks${counts ? `: ${counts}` : ''}`);
  if (status.holding.length === 0) lines.push('held: nothing');
  else {
    lines.push('held:');
    const age = (iso: string | null): string => {
      if (iso === null) return '';
      const ms = Date.now() - Date.parse(iso);
      if (Number.isNaN(ms)) return `at ${iso}`;
      // A clock stepped back since it was written: never a negative age.
      return ms < 0 ? `${formatDuration(-ms)} in the future` : `${formatDuration(ms)} ago`;
    };
    lines.push(
      table(status.holding.map((h) => [`  ${h.task}`, h.agent ?? '?', h.title ?? '', h.acquired ? `since ${age(h.acquired)}` : '', h.stale ? `STALE: ${h.stale}` : `beat ${age(h.heartbeat)}`])),
    );
  }
  if (status.elsewhere) {
    const { claimed, done } = status.elsewhere;
    lines.push(`other clones: ${claimed.length ? `hold ${claimed.join(', ')}` : 'hold nothing'}${done.length ? `; finished ${done.length} task(s) (done markers on the remote)` : ''}`);
  }
  const d = status.daemon;
  if (d.running) {
    lines.push(`daemon: running, pid ${d.pid} on ${d.host}, since ${d.since}`);
    if (d.waiting) lines.push(`  ${d.waiting.message} (since ${d.waiting.since})`);
    if (d.lastReaction) lines.push(`  last reaction ${d.lastReaction.at}: ${d.lastReaction.what}`);
    if (d.counts) lines.push(`  ${d.counts.reactions} reactions, ${d.counts.eventsRecorded} events recorded, ${d.counts.locksHealed} locks healed, ${d.counts.errors} errors`);
    if (d.lastError) lines.push(`  last error ${d.lastError.at}: ${d.lastError.message}`);
  } else if (d.stale) lines.push(`daemon: not running; ${d.stale}`);
  else lines.push(d.pid === null ? 'daemon: not running (start one with `guild-fs watch`)' : `daemon: not running (pid ${d.pid} stopped cleanly)`);
  const m = status.machine;
  if (m) {
    const cpu = m.cpuLoadPercent === null ? '' : `CPU ${m.cpuLoadPercent}%, `;
    lines.push(`machine (${m.source === 'daemon' ? `daemon's sample at ${m.at}` : 'sampled now'}): ${cpu}load ${m.loadAverage} on ${m.cores} cores, memory ${gib(m.memFreeBytes)} free of ${gib(m.memTotalBytes)}, disk ${gib(m.diskFreeBytes)} free of ${gib(m.diskTotalBytes)}`);
  }
  return lines.join('\n');
}

// `guild-fs status`: one screen of what is going on. Counts per status, who holds what (from
// the locks, with each lock judged as heal would judge it), the daemon as its lock and report
// say, and the machine as the daemon last sampled it (or as sampled now, by the caller).
import type { Status } from '../board/types.js';
import { STATUSES } from '../board/types.js';
import { GuildError } from '../errors.js';
import { systemProbe, type ProcessProbe } from '../lock/liveness.js';
import { judgeLock } from '../lock/task-locks.js';
import { currentDaemonError, daemonState, type DaemonState, type MachineSample } from './daemon-status.js';
import { loadBoard, type Guild } from '../tasks/guild.js';

export interface Holding {
  task: string;
  agent: string | null;
  title: string | null;
  acquired: string | null;
  heartbeat: string | null;
  pid: number | null;
  /** Why heal would break it now; null while it stands. */
  stale: string | null;
}

export interface GuildStatus {
  board: { tasks: number; counts: Record<Status, number>; error: string | null };
  holding: Holding[];
  daemon: Omit<DaemonState, 'report'> & {
    lastReaction: { at: string; what: string } | null;
    /** The daemon's last error while it stands; null once a reaction succeeded after it. */
    lastError: { at: string; message: string } | null;
    counts: Record<string, number> | null;
    updated: string | null;
    /** Present while a running daemon holds its reactions (see DaemonReport.waiting). */
    waiting?: { since: string; message: string };
  };
  machine: (MachineSample & { source: 'daemon' | 'now' }) | null;
}

/** A daemon sample older than this is not shown as the machine's state; the caller samples anew. */
const FRESH_SAMPLE_MS = 5 * 60_000;

export async function guildStatus(guild: Guild, options: { sample?: () => Promise<MachineSample | null>; probe?: ProcessProbe } = {}): Promise<GuildStatus> {
  const probe = options.probe ?? systemProbe;
  const counts = Object.fromEntries(STATUSES.map((status) => [status, 0])) as Record<Status, number>;
  let tasks = 0;
  let error: string | null = null;
  const titles = new Map<string, string>();
  let ttlMs = 3_600_000;
  try {
    const board = await loadBoard(guild);
    tasks = board.tasks.length;
    ttlMs = board.settings.lockTtlMs;
    for (const task of board.tasks) {
      counts[task.status]++;
      if (task.id) titles.set(task.id, task.title);
    }
  } catch (caught) {
    if (!(caught instanceof GuildError)) throw caught;
    error = caught.message;
  }
  const holding: Holding[] = guild.locks.list().map(({ task, read }) => {
    if (read.state !== 'held') return { task, agent: null, title: titles.get(task) ?? null, acquired: null, heartbeat: null, pid: null, stale: read.state === 'unreadable' ? read.reason : null };
    const staleness = judgeLock(read.owner, { now: guild.now(), ttlMs, probe, written: read.written });
    return { task, agent: read.owner.agent, title: titles.get(task) ?? null, acquired: read.owner.acquired, heartbeat: read.owner.heartbeat, pid: read.owner.pid, stale: staleness.stale ? staleness.reason : null };
  });
  const state = daemonState(guild, probe);
  const { report, ...daemon } = state;
  let machine: GuildStatus['machine'] = null;
  const sampled = report?.machine;
  if (state.running && sampled && guild.now() - Date.parse(sampled.at) < FRESH_SAMPLE_MS) machine = { ...sampled, source: 'daemon' };
  else if (options.sample) {
    const now = await options.sample();
    if (now) machine = { ...now, source: 'now' };
  }
  return {
    board: { tasks, counts, error },
    holding,
    daemon: {
      ...daemon,
      lastReaction: report?.lastReaction ?? null,
      // Only while it stands: after the person fixed the board and the daemon read it, status shows the board as it is now.
      lastError: currentDaemonError(report),
      counts: report?.counts ?? null,
      updated: report?.updated ?? null,
      ...(state.running && report?.waiting ? { waiting: report.waiting } : {}),
    },
    machine,
  };
}

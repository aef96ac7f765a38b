// `<git-common-dir>/guild/daemon.json`: what the daemon last said about itself and the machine,
// replaced atomically (temp + rename) so a reader never sees half. It is a report, not a lock:
// a daemon killed with SIGKILL leaves it behind, so a reader judges it against the daemon lock
// and the pid it names before calling the daemon running.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { judgeProcess, systemProbe, type ProcessProbe } from '../lock/liveness.js';
import { replaceFile } from '../lock/mkdir-lock.js';
import { judgeDaemonLock } from './daemon-lock.js';
import type { Guild } from '../tasks/guild.js';

export interface MachineSample {
  at: string;
  /** Share of all cores busy since the previous sample, 0-100. */
  cpuLoadPercent: number | null;
  /** 1-minute load average. */
  loadAverage: number;
  cores: number;
  memFreeBytes: number | null;
  memTotalBytes: number | null;
  /** The file system holding the repository. */
  diskFreeBytes: number | null;
  diskTotalBytes: number | null;
}

export interface DaemonReport {
  pid: number;
  pidStart: string | null;
  host: string;
  bootId: string | null;
  agent: string;
  since: string;
  updated: string;
  /** running, or stopped after a clean stop (the last write before the daemon goes). */
  state: 'running' | 'stopped';
  healEveryMs: number;
  sampleEveryMs: number;
  lastReaction: { at: string; what: string } | null;
  counts: { reactions: number; boardWrites: number; eventsRecorded: number; heals: number; locksHealed: number; retried: number; eventsSeen: number; errors: number };
  lastError: { at: string; message: string } | null;
  /** When a reaction last succeeded: a lastError older than this is over. */
  lastOk: string | null;
  /** The daemon's own memory when the report was written. */
  memory: { rssBytes: number; heapUsedBytes: number } | null;
  /** The next time a task's retry comes due, if any. */
  nextRetry: string | null;
  machine: MachineSample | null;
  /** Merge conflicts predicted between active task branches and main when branches last moved. */
  conflicts?: { at: string; pairs: { a: string; b: string; files: string[] }[] } | null;
  /** Worktrees of finished, merged tasks the daemon removed. */
  worktreesRemoved?: number;
  /** Set while the daemon holds its reactions because the log is behind what guild-fs wrote (git rewound it). */
  waiting?: { since: string; message: string } | null;
  /**
   * `watch --sync-every`: the last sync through the remote. lastError stays after a later
   * success; it is current while lastOk is older than it (or null).
   */
  remoteSync?: { everyMs: number; syncs: number; lastAt: string; lastOk: string | null; lastError: { at: string; code: string; message: string } | null; head: string | null } | null;
}

export function daemonReportPath(guild: Guild): string {
  return join(guild.repo.commonDir, 'guild', 'daemon.json');
}

export function writeDaemonReport(guild: Guild, report: DaemonReport): void {
  replaceFile(daemonReportPath(guild), `${JSON.stringify(report, null, 2)}\n`);
}

export function readDaemonReport(guild: Guild): DaemonReport | null {
  try {
    const value = JSON.parse(readFileSync(daemonReportPath(guild), 'utf8')) as DaemonReport;
    return typeof value === 'object' && value !== null && typeof value.pid === 'number' ? value : null;
  } catch {
    // Missing, or damaged by hand: there is no report to show.
    return null;
  }
}

/**
 * The daemon's error as it stands: its last one, unless a reaction succeeded since (the person
 * fixed the board and saved, and the daemon read it). A fixed error is history, not state.
 */
export function currentDaemonError(report: DaemonReport | null): DaemonReport['lastError'] {
  const error = report?.lastError ?? null;
  if (!error || !report) return null;
  return report.lastOk !== null && report.lastOk > error.at ? null : error;
}

export interface DaemonState {
  /** A live daemon holds the clone's daemon lock. */
  running: boolean;
  pid: number | null;
  host: string | null;
  since: string | null;
  /** Why what is on disk cannot be believed: a lock or report left by a daemon that is gone. */
  stale: string | null;
  report: DaemonReport | null;
}

/** The daemon as the lock and the report together say: running only when a live process holds the lock. */
export function daemonState(guild: Guild, probe: ProcessProbe = systemProbe): DaemonState {
  const lock = judgeDaemonLock(guild, probe);
  const report = readDaemonReport(guild);
  if (lock.state === 'running') {
    const mine = report && report.pid === lock.owner.pid && report.host === lock.owner.host ? report : null;
    return { running: true, pid: lock.owner.pid, host: lock.owner.host, since: lock.owner.since, stale: null, report: mine };
  }
  if (lock.state === 'stale') {
    const pid = lock.owner?.pid ?? null;
    return { running: false, pid, host: lock.owner?.host ?? null, since: lock.owner?.since ?? null, stale: `daemon lock left by ${pid === null ? 'a watch that died starting' : `pid ${pid}`}: ${lock.reason} (the next \`watch\` or \`heal\` breaks it)`, report };
  }
  if (report === null) return { running: false, pid: null, host: null, since: null, stale: null, report: null };
  if (report.state === 'stopped') return { running: false, pid: report.pid, host: report.host, since: report.since, stale: null, report };
  const gone = judgeProcess({ host: report.host, bootId: report.bootId, pid: report.pid, pidStart: report.pidStart }, probe);
  const why = gone.alive ? `pid ${report.pid} holds no daemon lock` : gone.reason;
  return { running: false, pid: report.pid, host: report.host, since: report.since, stale: `daemon.json was left by a daemon that is gone (${why}); last updated ${report.updated}`, report };
}

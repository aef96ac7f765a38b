// `guild-fs watch`: runs the daemon in the foreground until SIGINT or SIGTERM. Progress goes to
// stderr as it happens; with --json, stdout gets one document when the daemon stops (its final
// report), as for every other non-streaming command, and the error envelope when it cannot start
// (exit 3 when another daemon watches this clone).
import { requireDuration } from '../../duration.js';
import { NoRemoteError, UsageError } from '../../errors.js';
import { Daemon } from '../../daemon/daemon.js';
import type { DaemonReport } from '../../health/daemon-status.js';
import { loadBoard } from '../../tasks/guild.js';
import type { Context } from '../context.js';

export interface WatchArgs {
  healEvery?: string | string[];
  sampleEvery?: string | string[];
  debounce?: string | string[];
  syncEvery?: string | string[];
}

export async function run(args: WatchArgs, ctx: Context): Promise<DaemonReport> {
  const healEveryMs = interval(args.healEvery ?? '30s', '--heal-every', 100);
  const sampleEveryMs = interval(args.sampleEvery ?? '30s', '--sample-every', 100);
  const debounceMs = interval(args.debounce ?? '50ms', '--debounce', 0);
  const syncEveryMs = args.syncEvery === undefined ? null : interval(args.syncEvery, '--sync-every', 1_000);
  // Through a remote, the daemon's heal removes a broken claim's ref with its lock (RemoteTaskLocks).
  const guild = await ctx.claimingGuild();
  if (syncEveryMs !== null && (await loadBoard(guild)).settings.remote === null) {
    throw new NoRemoteError('--sync-every syncs through the board\'s git remote, and ACTIVE_TASKS.md names none: run `guild-fs init --remote origin`, or add `remote: origin` to its front matter');
  }
  const say = (line: string): void => void process.stderr.write(`guild-fs watch: ${new Date().toISOString().slice(11, 19)} ${line}\n`);
  const daemon = new Daemon(guild, { actor: ctx.agentOr('daemon'), healEveryMs, sampleEveryMs, debounceMs, syncEveryMs, say });
  let stop: (signal: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => (stop = resolve));
  // Installed before start: a signal during start-up still stops cleanly (the lock goes).
  const onSignal = (signal: string): void => stop(signal);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('SIGHUP', onSignal);
  await daemon.start();
  say(`watching ${guild.boardPath} (pid ${process.pid}); heal every ${healEveryMs / 1000}s, sample every ${sampleEveryMs / 1000}s${syncEveryMs === null ? '' : `; sync through the remote every ${syncEveryMs / 1000}s`}; Ctrl-C stops`);
  const signal = await stopped;
  say(`${signal}: stopping`);
  return daemon.stop(signal);
}

function interval(given: string | string[], option: string, minimumMs: number): number {
  // Given twice (a wrapper's default, then the user's): the last one wins, as in most CLIs.
  const value = Array.isArray(given) ? given[given.length - 1]! : given;
  const ms = requireDuration(String(value), option);
  if (ms < minimumMs) throw new UsageError(`${option} must be at least ${minimumMs}ms, got ${value}`);
  return ms;
}

export function render(report: DaemonReport): string {
  const c = report.counts;
  return `stopped: ${c.reactions} reactions since ${report.since}, ${c.eventsRecorded} events recorded, ${c.locksHealed} locks healed, ${c.retried} retries, ${c.errors} errors`;
}

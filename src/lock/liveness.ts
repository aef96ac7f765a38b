// Is the process behind a lock still there? Staleness is judged on proof, never on a guess:
// on this host, a process is gone when kill(pid, 0) says so, or when the pid now belongs to a
// process that started at another time (pid reuse), or when the machine has rebooted since (boot
// id). Anything else, and every lock taken on another host, is judged by its heartbeat alone.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** The OS questions staleness asks. Tests pass a fake; everything else uses systemProbe. */
export interface ProcessProbe {
  host: string;
  bootId: string | null;
  isAlive(pid: number): boolean;
  /** An opaque start time of pid, stable for the life of the process; null when unknown. */
  startTime(pid: number): string | null;
}

/** Who holds something, as recorded when it was taken. */
export interface Holder {
  host: string;
  bootId: string | null;
  pid: number | null;
  pidStart: string | null;
}

export type Verdict = { alive: true } | { alive: false; reason: string };

/** Proof that the holder's process is gone; `alive` when there is none (or nothing to prove). */
export function judgeProcess(holder: Holder, probe: ProcessProbe): Verdict {
  // No process to judge (a claim that lives by heartbeat), or one on another host: no proof.
  if (holder.host !== probe.host || holder.pid === null) return { alive: true };
  if (holder.bootId && probe.bootId && holder.bootId !== probe.bootId) return { alive: false, reason: 'the machine has restarted since' };
  if (!probe.isAlive(holder.pid)) return { alive: false, reason: `process ${holder.pid} is gone` };
  if (holder.pidStart !== null) {
    const start = probe.startTime(holder.pid);
    if (start !== null && start !== holder.pidStart) return { alive: false, reason: `pid ${holder.pid} now belongs to another process` };
  }
  return { alive: true };
}

/** What this process records about itself (or about `pid`) when it takes something. */
export function holderOf(probe: ProcessProbe, pid: number | null): Holder {
  return { host: probe.host, bootId: probe.bootId, pid, pidStart: pid === null ? null : probe.startTime(pid) };
}

let cachedBootId: string | null | undefined;
let cachedHost: string | undefined;
let ownStartTime: string | null | undefined;

export const systemProbe: ProcessProbe = {
  get host(): string {
    cachedHost ??= hostname();
    return cachedHost;
  },
  get bootId(): string | null {
    if (cachedBootId === undefined) {
      try {
        cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      } catch {
        cachedBootId = null;
      }
    }
    return cachedBootId;
  },
  isAlive(pid: number): boolean {
    if (process.platform === 'linux') {
      // A killed process that its parent has not reaped yet (a zombie, state Z) is gone too.
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const state = stat[stat.lastIndexOf(')') + 2];
        return state !== 'Z' && state !== 'X';
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      }
    }
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      // EPERM: it exists, it is just not ours to signal.
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  },
  startTime(pid: number): string | null {
    // Our own start time never changes, and every breaker records it.
    if (pid === process.pid) return (ownStartTime ??= readStartTime(pid));
    return readStartTime(pid);
  },
};

function readStartTime(pid: number): string | null {
  if (process.platform === 'linux') {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null; // field 22 overall
    } catch {
      return null;
    }
  }
  if (process.platform === 'darwin' || process.platform.endsWith('bsd')) {
    try {
      // pid is a number, never text from a file: nothing here reaches a shell.
      return execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
    } catch {
      return null;
    }
  }
  return null;
}

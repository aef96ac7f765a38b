// Who holds a lock, recorded so that a later judge can prove staleness (issue: crash safety)
// rather than guess it: host and boot id tell "this machine, this boot"; pid and its start time
// tell "this very process", even after the pid has been reused.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface LockOwner {
  task: string;
  agent: string;
  host: string;
  /** The process the claim is bound to (`claim --pid P`), or null when it lives by heartbeat. */
  pid: number | null;
  /** The start time of pid as the OS reports it (Linux: /proc/<pid>/stat field 22), when known. */
  pidStart: string | null;
  bootId: string | null;
  acquired: string;
  heartbeat: string;
  token: string;
}

let cachedBootId: string | null | undefined;

export function bootId(): string | null {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      cachedBootId = null;
    }
  }
  return cachedBootId;
}

/** Linux only for now; other systems record null and are judged by heartbeat. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null; // field 22 overall
  } catch {
    return null;
  }
}

let cachedHost: string | undefined;
export function hostName(): string {
  cachedHost ??= hostname();
  return cachedHost;
}

// The machine, as the daemon reports it: CPU load and free memory from systeminformation, disk
// free on the repository's own file system from statfs (exact for the volume the repo is on, and
// no `df` process every sample). Built as a bundle of its own (scripts/build.mjs) and imported
// only by `watch` and `status`: no other command pays to load systeminformation. It imports
// nothing of guild-fs but types.
import { statfsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import si from 'systeminformation';
import type { MachineSample } from '../health/daemon-status.js';

export async function sampleMachine(repoDir: string, now: number = Date.now()): Promise<MachineSample> {
  const [load, mem] = await Promise.all([si.currentLoad().catch(() => null), si.mem().catch(() => null)]);
  let diskFreeBytes: number | null = null;
  let diskTotalBytes: number | null = null;
  try {
    const fs = statfsSync(repoDir);
    diskFreeBytes = fs.bavail * fs.bsize;
    diskTotalBytes = fs.blocks * fs.bsize;
  } catch {
    // No statfs here: the sample says so with nulls.
  }
  return {
    at: new Date(now).toISOString(),
    cpuLoadPercent: load ? Math.round(load.currentLoad * 10) / 10 : null,
    loadAverage: Math.round(loadavg()[0]! * 100) / 100,
    cores: cpus().length,
    // "available", not "free": the kernel's page cache is memory a process can have.
    memFreeBytes: mem ? mem.available : null,
    memTotalBytes: mem ? mem.total : null,
    diskFreeBytes,
    diskTotalBytes,
  };
}

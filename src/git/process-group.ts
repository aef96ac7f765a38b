// Signals to a whole process group: what guild-fs starts in a group of its own (an agent, a
// runner's verify) is stopped with everything it started, not only its first process.

/** Sends `signal` to the group `pgid` leads; nothing when there is none, or it is gone already (ESRCH). */
export function signalGroup(pgid: number | undefined, signal: NodeJS.Signals): void {
  if (pgid === undefined) return;
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group is gone already.
  }
}

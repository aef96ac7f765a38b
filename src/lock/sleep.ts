const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Synchronous sleep: lock waits happen inside synchronous read-modify-writes, kept short on purpose. */
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

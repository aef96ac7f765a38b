// A daemon lives for days and reacts in bursts. V8 sizes its heap for the burst (a reaction
// parses the board and replays the log: megabytes of short-lived objects) and keeps that size
// while idle, because it only collects when it allocates. So once the daemon has been quiet for
// a moment after a burst, it asks for one full collection, and the idle daemon's resident memory
// is what it holds, not what its last burst happened to leave behind. One collection per quiet
// spell, never on a timer of its own: idle, the daemon still does nothing.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | null | undefined;

/** The engine's full collection, or null where it cannot be had. */
export function fullCollection(): (() => void) | null {
  if (collect !== undefined) return collect;
  try {
    // --expose-gc set at run time reaches new contexts: the documented way to get gc() without a flag at start.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    collect = typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    collect = null;
  }
  return collect;
}

/** For a long-lived process: the young generation stays at its starting size (see above). */
export function keepNurserySmall(): void {
  try {
    setFlagsFromString('--semi-space-growth-factor=1');
  } catch {
    // An engine without the flag: memory is then what V8 makes it.
  }
}

// A window on the end of a stream of events: `log --limit`, `events --limit` and `show` keep only
// what they will print, however long the log.
import type { AuditEvent } from './event.js';

/** The last `size` events added, in a ring: adding is O(1) and memory stays at `size`. */
export class LastEvents<T = AuditEvent> {
  private readonly ring: T[] = [];
  private next = 0;
  constructor(private readonly size: number) {}
  add(event: T): void {
    if (this.size === 0) return;
    if (this.ring.length < this.size) this.ring.push(event);
    else this.ring[this.next] = event;
    this.next = (this.next + 1) % this.size;
  }
  events(): T[] {
    return this.ring.length < this.size ? this.ring.slice() : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }
}

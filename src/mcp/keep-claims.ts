// The claims made through this server are kept fresh while it runs, as the runner keeps its
// workers' claims: a heartbeat four times per lock_ttl. The server's pid proves a dead host's
// claims stale at once; the heartbeat keeps a live one's from going stale after lock_ttl of work.
import { GuildError } from '../errors.js';
import { makeContext } from '../cli/context.js';
import { heartbeatEvery } from '../runner/worker.js';
import { loadBoard } from '../tasks/guild.js';

export class ClaimKeeper {
  /** Task ID -> the agent that holds it through this server. */
  private readonly held = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly cwd: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: (line: string) => void,
  ) {}

  hold(id: string, agent: string): void {
    this.held.set(id, agent);
    if (this.timer === null && !this.stopped) void this.schedule();
  }

  drop(id: string): void {
    this.held.delete(id);
  }

  get holding(): string[] {
    return [...this.held.keys()];
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.held.clear();
  }

  /** The next beat, lock_ttl read afresh each time (a person may change it on the board). */
  private async schedule(): Promise<void> {
    let every = heartbeatEvery(60 * 60_000);
    try {
      every = heartbeatEvery((await loadBoard(makeContext({ cwd: this.cwd }, this.env).guild())).settings.lockTtlMs);
    } catch (error) {
      this.log(`guild-fs mcp: cannot read lock_ttl, heartbeats every ${every / 1000}s: ${(error as Error).message}`);
    }
    if (this.stopped) return;
    // unref: a host that closes stdin is not kept waiting for the next beat.
    this.timer = setTimeout(() => void this.beat(), every).unref();
  }

  private async beat(): Promise<void> {
    const { run } = await import('../cli/commands/heartbeat.js');
    for (const [id, agent] of [...this.held]) {
      try {
        await run({ id }, makeContext({ cwd: this.cwd, agent }, this.env));
      } catch (error) {
        // Finished, released or broken elsewhere (a person, heal, the CLI): no longer ours to keep.
        if (error instanceof GuildError && error.exitCode !== 1) this.held.delete(id);
        this.log(`guild-fs mcp: heartbeat of ${id} failed: ${(error as Error).message}`);
      }
    }
    this.timer = null;
    if (this.held.size > 0) await this.schedule();
  }
}

// The watcher daemon: one per clone, holding <git-common-dir>/guild/daemon.lock. It hears the
// board, the log and the locks through chokidar and reacts through the same code the CLI runs:
//   board changed (a hand save, or any write) -> reactToBoard: retries due, then sync's fix-ups
//                                                and hand-edit records, all in updateBoard
//   a lock appeared or went, or every --heal-every -> healGuild, as `guild-fs heal`
//   the earliest `retry:` time on the board      -> reactToBoard again, at that moment
//   log appended                                 -> counted (the log is for `events --follow`)
//   every --sync-every (remote: on the board)    -> syncRemote, as `guild-fs sync --remote`: the
//                                                board and log committed, merged with the
//                                                remote's, pushed; a failure is reported and
//                                                the next tick tries again
//   every --sample-every                         -> the machine sampled, daemon.json rewritten
// Reactions run one at a time from a queue that merges what piles up, so a burst of saves is
// one reaction and a stop waits for at most the one under way. A board that does not parse is
// reported (file:line) and left alone until the next save: the daemon never writes over a
// person's text (updateBoard refuses to write a board it cannot read) and never dies of it.
// Before each reaction it looks at git: while an operation is under way in the main worktree
// (a merge, rebase, stash or checkout) the reaction waits a moment; while the log is behind what
// guild-fs last appended (git rewound the working tree) nothing reacts, heals or appends until
// the log is back, or a person's CLI write says the rewind was meant.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BoardChangedError, FileError, GuildError, RemoteUnreachableError } from '../errors.js';
import { LogFollower } from '../log/follow-log.js';
import { acquireDaemonLock, recordDaemonEvent, type DaemonLock } from '../health/daemon-lock.js';
import { writeDaemonReport, type DaemonReport, type MachineSample } from '../health/daemon-status.js';
import type { Guild } from '../tasks/guild.js';
import { healGuild } from '../health/heal.js';
import { syncRemote } from '../remote/sync-remote.js';
import { healRemoteClaims } from '../remote/heal-remote.js';
import { reactToBoard } from './react-to-board.js';
import { conflictsKey, reactToBranches } from './react-to-branches.js';
import { describeHold, GitHold } from './git-hold.js';
import { fullCollection, keepNurserySmall } from './idle-gc.js';
import type { PathWatcher, WatchedKind } from './watch-paths.js';

export interface DaemonOptions {
  actor: string;
  healEveryMs: number;
  sampleEveryMs: number;
  /** Quiet time after the last event before reacting: an editor's save is several events. */
  debounceMs: number;
  /** `--sync-every`: how often to sync through the remote, or null (never). */
  syncEveryMs?: number | null;
  /** Human progress lines (stderr). */
  say: (line: string) => void;
}

type Job = 'board' | 'heal' | 'sync' | 'branches';

/** setTimeout takes at most 2^31-1 ms; a retry further off is looked at again later. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;
/** How long without a reaction counts as quiet, for the collection after a burst. */
const QUIET_MS = 1_000;
/** How soon to look again while a git operation is under way: most take a fraction of a second. */
const GIT_BUSY_RETRY_MS = 250;

export class Daemon {
  private lock: DaemonLock | null = null;
  private watcher: PathWatcher | null = null;
  private branchWatcher: PathWatcher | null = null;
  private branchTimer: NodeJS.Timeout | null = null;
  private lastConflicts = '';
  private follower: LogFollower | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();
  private boardTimer: NodeJS.Timeout | null = null;
  private locksTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private quietTimer: NodeJS.Timeout | null = null;
  private readonly pending = new Set<Job>();
  private running: Promise<void> | null = null;
  private stopping = false;
  /** Hash of the board text the last board reaction started from: the same bytes need nothing. */
  private lastBoardHash: string | null = null;
  private lastErrorShown: string | null = null;
  /** When other clones' claims were last judged (healRemote), and whether the remote answered. */
  private lastRemoteHeal = Number.NEGATIVE_INFINITY;
  private remoteUnreachable = false;
  private readonly hold: GitHold;
  private gitBusyTimer: NodeJS.Timeout | null = null;
  /** The git operation last said to be under way, so it is said once. */
  private gitBusyShown: string | null = null;
  readonly report: DaemonReport;

  constructor(
    private readonly guild: Guild,
    private readonly options: DaemonOptions,
  ) {
    this.hold = new GitHold(guild);
    const now = new Date(guild.now()).toISOString();
    this.report = {
      pid: process.pid,
      pidStart: null,
      host: guild.host,
      bootId: null,
      agent: options.actor,
      since: now,
      updated: now,
      state: 'running',
      healEveryMs: options.healEveryMs,
      sampleEveryMs: options.sampleEveryMs,
      lastReaction: null,
      counts: { reactions: 0, boardWrites: 0, eventsRecorded: 0, heals: 0, locksHealed: 0, retried: 0, eventsSeen: 0, errors: 0 },
      lastError: null,
      lastOk: null,
      memory: null,
      nextRetry: null,
      machine: null,
    };
  }

  /** Takes the daemon lock (HeldError, exit 3, when another daemon has it), then starts watching. */
  async start(): Promise<void> {
    keepNurserySmall();
    this.lock = acquireDaemonLock(this.guild, this.options.actor);
    const owner = this.lock.owner;
    Object.assign(this.report, { pidStart: owner.pidStart, bootId: owner.bootId, since: owner.since });
    if (this.lock.healed) this.options.say(this.lock.healed);
    try {
      const held = this.holdReason();
      if (held === null) await recordDaemonEvent(this.guild, 'daemon.started', this.options.actor, { pid: process.pid, healEveryMs: this.options.healEveryMs, sampleEveryMs: this.options.sampleEveryMs });
      else this.options.say(`daemon.started not logged: ${held}`);
      this.follower = new LogFollower(this.guild.logPath, { fromEnd: true });
      // There before the watch starts, so a first claim's lock is heard (it is in .git, not the worktree).
      mkdirSync(this.guild.locksDir, { recursive: true });
      const { watchPaths, watchBranches } = await import('./watch-paths.js');
      this.watcher = watchPaths(
        { worktree: this.guild.repo.mainWorktree, board: this.guild.boardPath, guildDir: join(this.guild.repo.mainWorktree, '.guild'), locksDir: this.guild.locksDir },
        (kind) => this.heard(kind),
        (error) => this.failed(`watcher: ${error.message}`),
      );
      await this.watcher.ready;
      this.branchWatcher = watchBranches(
        this.guild.repo.commonDir,
        () => this.heard('branches'),
        (error) => this.failed(`branch watcher: ${error.message}`),
      );
      await this.branchWatcher.ready;
      this.every(this.options.healEveryMs, () => {
        this.enqueue('heal');
        // A safety net under the watcher: a save it did not report is caught within one interval.
        if (this.lastBoardHash !== this.hashBoard()) this.enqueue('board');
      });
      this.every(this.options.sampleEveryMs, () => void this.sample());
      // Through the queue: never two syncs at once, never one beside a reaction, none while git is busy.
      if (this.options.syncEveryMs) this.every(this.options.syncEveryMs, () => this.enqueue('sync'));
      await this.sample();
      // What happened while no daemon watched: one pass of each.
      this.enqueue('board');
      this.enqueue('heal');
      this.enqueue('branches');
      if (this.options.syncEveryMs) this.enqueue('sync');
    } catch (error) {
      await this.stop('failed to start');
      throw error;
    }
  }

  /** Waits for the reaction under way, stops listening, logs daemon.stopped and gives the lock back. */
  async stop(reason: string): Promise<DaemonReport> {
    if (this.stopping) return this.report;
    this.stopping = true;
    for (const timer of [...this.timers, this.boardTimer, this.locksTimer, this.retryTimer, this.quietTimer, this.branchTimer, this.gitBusyTimer]) if (timer) clearTimeout(timer);
    this.timers.clear();
    await this.watcher?.close();
    await this.branchWatcher?.close();
    await this.running;
    this.follower?.close();
    this.report.state = 'stopped';
    this.writeReport();
    if (this.lock) {
      try {
        // An append now would be what makes git refuse to go on, or a line git is about to drop.
        const held = this.holdReason();
        if (held === null) await recordDaemonEvent(this.guild, 'daemon.stopped', this.options.actor, { pid: process.pid, reason, reactions: this.report.counts.reactions });
        else this.options.say(`daemon.stopped not logged: ${held}`);
      } finally {
        this.lock.release();
      }
    }
    return this.report;
  }

  private heard(kind: WatchedKind): void {
    if (this.stopping) return;
    if (kind === 'log') {
      this.readLog();
      return;
    }
    // Debounced: an editor's save, or a claim's mkdir + owner.json, is several events.
    if (kind === 'board') {
      if (this.boardTimer) clearTimeout(this.boardTimer);
      this.boardTimer = setTimeout(() => this.boardSettled(), this.options.debounceMs);
    } else if (kind === 'branches') {
      // A commit or merge moves several refs and logs; one look once they are still.
      if (this.branchTimer) clearTimeout(this.branchTimer);
      this.branchTimer = setTimeout(() => this.enqueue('branches'), Math.max(this.options.debounceMs, 250));
    } else {
      if (this.locksTimer) clearTimeout(this.locksTimer);
      this.locksTimer = setTimeout(() => this.enqueue('heal'), this.options.debounceMs);
    }
  }

  private boardSettled(): void {
    this.boardTimer = null;
    // Bytes already reacted to need nothing: the echo of the daemon's own write, or a touch. (A
    // board git put back as it was, while reactions waited: a look at whether the wait is over.)
    if (this.lastBoardHash !== null && this.lastBoardHash === this.hashBoard()) return this.enqueue();
    this.enqueue('board');
  }

  private hashBoard(): string | null {
    try {
      return createHash('sha1').update(readFileSync(this.guild.boardPath)).digest('hex');
    } catch {
      return null;
    }
  }

  private readLog(): void {
    try {
      this.report.counts.eventsSeen += this.follower?.poll().length ?? 0;
    } catch (error) {
      this.failed(`reading the log: ${(error as Error).message}`);
    }
    // The log changed: if reactions wait for it to come back, this may be it.
    if (this.report.waiting) this.enqueue();
  }

  /** Adds `job`; without one, only runs what is pending (reactions that waited). */
  private enqueue(job?: Job): void {
    if (this.stopping) return;
    if (job) this.pending.add(job);
    if (this.pending.size === 0) return;
    this.running ??= this.drain().finally(() => {
      this.running = null;
      this.whenQuiet();
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.size > 0 && !this.stopping) {
      // Looked at before every job: a git operation may start between two of them.
      if (!this.mayReact()) return;
      // Board first: heal judges locks against the board as the board reaction leaves it, and a
      // sync commits the board as the reactions leave it.
      // Branches last: a task finished by the board reaction may have a worktree to remove.
      const job: Job = (['board', 'heal', 'sync', 'branches'] as const).find((name) => this.pending.has(name))!;
      this.pending.delete(job);
      await this.run(job);
    }
  }

  private async run(job: Job): Promise<void> {
    const started = this.guild.now();
    try {
      if (job === 'board') await this.reactToBoard();
      else if (job === 'heal') await this.heal();
      else if (job === 'sync') await this.syncRemote();
      else await this.reactToBranches();
      this.lastErrorShown = null;
      this.report.lastOk = new Date(this.guild.now()).toISOString();
    } catch (error) {
      if (error instanceof BoardChangedError) {
        // A person saved while this reaction wrote: nothing was written or logged; react to
        // their save now.
        this.lastBoardHash = null;
        this.pending.add('board');
        return;
      }
      if (job === 'sync') this.recordSync({ error: error as Error });
      // A board that cannot be read waits for the next save (its bytes are marked seen); any
      // other failure (a mutex not free in time) is tried again at the next heal tick.
      if (job === 'board' && !(error instanceof FileError)) this.lastBoardHash = null;
      // Never dies of a reaction: a broken board waits for the next save, a busy mutex for the next event.
      if (error instanceof FileError) this.failed(`${error.message} (the board is left as it is; fix it and save)`);
      else this.failed(error instanceof GuildError ? error.message : `${job}: ${(error as Error).stack ?? String(error)}`);
    }
    this.report.counts.reactions++;
    this.report.updated = new Date(this.guild.now()).toISOString();
    if (this.guild.now() - started > 5_000) this.options.say(`${job} took ${Math.round((this.guild.now() - started) / 1000)}s`);
    this.writeReport();
  }

  private async reactToBoard(): Promise<void> {
    // The bytes this reaction starts from; a save landing during it has other bytes and is heard.
    this.lastBoardHash = this.hashBoard();
    if (this.lastBoardHash === null) return; // no board (yet): nothing to react to
    const reaction = await reactToBoard(this.guild, this.options.actor, { say: this.options.say });
    const entries = Object.entries(reaction.recorded);
    if (entries.length > 0) {
      const total = entries.reduce((sum, [, n]) => sum + n, 0);
      const what = entries.map(([type, n]) => `${n} ${type}`).join(', ');
      this.report.counts.boardWrites++;
      this.report.counts.eventsRecorded += total;
      this.report.counts.retried += reaction.retried.length;
      this.report.lastReaction = { at: new Date(this.guild.now()).toISOString(), what: `board: ${what}` };
      this.options.say(`board: recorded ${what}`);
    }
    this.scheduleRetry(reaction.nextRetry);
    // A task the board now shows Done may leave a merged worktree to remove.
    if (entries.length > 0) this.pending.add('branches');
  }

  private async reactToBranches(): Promise<void> {
    const reaction = await reactToBranches(this.guild, this.options.actor);
    if (reaction.skipped) return;
    if (reaction.removed.length > 0) {
      this.report.worktreesRemoved = (this.report.worktreesRemoved ?? 0) + reaction.removed.length;
      const what = `removed the merged worktree${reaction.removed.length > 1 ? 's' : ''} of ${reaction.removed.map((r) => r.task).join(', ')}`;
      this.report.lastReaction = { at: new Date(this.guild.now()).toISOString(), what: `worktrees: ${what}` };
      this.options.say(`worktrees: ${what}`);
    }
    const key = conflictsKey(reaction.conflicts);
    this.report.conflicts = { at: new Date(this.guild.now()).toISOString(), pairs: reaction.conflicts.map(({ a, b, files }) => ({ a, b, files })) };
    if (key === this.lastConflicts) return;
    this.lastConflicts = key;
    if (reaction.conflicts.length === 0) this.options.say('conflicts: none predicted now');
    for (const c of reaction.conflicts) this.options.say(`conflicts: ${c.a} and ${c.b} would conflict in ${c.files.join(', ')}`);
  }

  private async syncRemote(): Promise<void> {
    // No reconciliation with the remote's claims: its report (orphaned tasks) is for a person's `sync --remote`.
    const synced = await syncRemote(this.guild, this.options.actor, { say: this.options.say, claims: null });
    const at = this.recordSync({ head: synced.head });
    if (!synced.merged && !synced.pushed) return;
    const what = [synced.merged ? 'merged the remote\'s changes' : null, synced.pushed ? `pushed ${synced.head.slice(0, 12)}` : null].filter(Boolean).join(', ');
    this.report.lastReaction = { at, what: `sync: ${what}` };
    this.options.say(`sync: ${synced.remote}/${synced.branch}: ${what}`);
  }

  /**
   * A sync in the report, done (`head`) or failed (the remote unreachable, a conflict, a remote
   * that kept moving: the next tick tries again). Returns its time.
   */
  private recordSync(outcome: { head: string } | { error: Error }): string {
    const at = new Date(this.guild.now()).toISOString();
    const last = this.report.remoteSync;
    const error = 'error' in outcome ? outcome.error : null;
    this.report.remoteSync = {
      everyMs: this.options.syncEveryMs ?? 0,
      syncs: (last?.syncs ?? 0) + 1,
      lastAt: at,
      lastOk: error ? (last?.lastOk ?? null) : at,
      lastError: error ? { at, code: error instanceof GuildError ? error.code : 'EUNEXPECTED', message: error.message } : (last?.lastError ?? null),
      head: 'head' in outcome ? outcome.head : (last?.head ?? null),
    };
    return at;
  }

  private async heal(): Promise<void> {
    const healed = await healGuild(this.guild, { actor: this.options.actor });
    await this.healRemote();
    this.report.counts.heals++;
    if (healed.actions.length === 0 && !healed.mutexBroken) return;
    this.report.counts.locksHealed += healed.actions.length;
    const what = [...healed.actions.map((action) => `${action.task} ${action.action} (${action.reason})`), ...(healed.mutexBroken ? ['board mutex of a dead writer broken'] : [])].join('; ');
    this.report.lastReaction = { at: new Date(this.guild.now()).toISOString(), what: `heal: ${what}` };
    this.options.say(`heal: ${what}`);
  }

  /**
   * Through a remote: other clones' claims that stopped moving, judged by this clock (one
   * ls-remote), at most once per --heal-every however often locks change here. An unreachable
   * remote is said once and tried again at the next turn; it never stops the local heal.
   */
  private async healRemote(): Promise<void> {
    const remote = this.guild.settings?.remote ?? null;
    const now = this.guild.now();
    if (remote === null || now - this.lastRemoteHeal < this.options.healEveryMs) return;
    this.lastRemoteHeal = now;
    let healed;
    try {
      healed = await healRemoteClaims(this.guild, remote, this.options.actor);
    } catch (error) {
      if (!(error instanceof RemoteUnreachableError)) throw error;
      if (!this.remoteUnreachable) this.options.say(`heal: ${error.message}`);
      this.remoteUnreachable = true;
      return;
    }
    this.remoteUnreachable = false;
    const acted = healed.actions.filter((action) => action.action !== 'lost-race');
    if (acted.length === 0) return;
    this.report.counts.locksHealed += acted.length;
    const what = acted.map((action) => `${action.task} ${action.action} on ${remote} (${action.reason})`).join('; ');
    this.report.lastReaction = { at: new Date(now).toISOString(), what: `heal: ${what}` };
    this.options.say(`heal: ${what}`);
  }

  /**
   * Whether reactions may run now. While a git operation is under way they are put off a moment
   * (said once); while the log is behind what guild-fs wrote they wait, pending, until the log
   * comes back: the next log or board event or heal tick looks again.
   */
  private mayReact(): boolean {
    const hold = this.hold.now();
    if (hold?.kind === 'git') {
      if (this.gitBusyShown !== hold.sign) this.options.say(`waiting: a git operation is under way (${hold.sign} in ${this.guild.repo.commonDir}); reactions wait for it`);
      this.gitBusyShown = hold.sign;
      this.gitBusyTimer ??= setTimeout(() => {
        this.gitBusyTimer = null;
        this.enqueue();
      }, GIT_BUSY_RETRY_MS);
      return false;
    }
    this.gitBusyShown = null;
    if (hold?.kind === 'behind') {
      if (!this.report.waiting) {
        const message = `waiting: the log is behind what guild-fs wrote (a git stash or checkout?): ${hold.reason}; nothing reacts, heals or logs until it is back (run \`guild-fs sync\` if that was deliberate)`;
        this.report.waiting = { since: new Date(this.guild.now()).toISOString(), message };
        this.options.say(message);
        this.writeReport();
      }
      return false;
    }
    if (this.report.waiting) {
      this.report.waiting = null;
      this.options.say('resumed: the log holds what guild-fs wrote');
      this.writeReport();
    }
    return true;
  }

  /** Why nothing may be appended now, or null. */
  private holdReason(): string | null {
    const hold = this.hold.now();
    return hold === null ? null : describeHold(hold);
  }

  /** After a burst of reactions, one full collection once a second has passed without another (see idle-gc.ts). */
  private whenQuiet(): void {
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => {
      this.quietTimer = null;
      if (this.running || this.stopping) return;
      fullCollection()?.();
      this.writeReport();
    }, QUIET_MS);
  }

  private scheduleRetry(at: number | null): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.report.nextRetry = at === null ? null : new Date(at).toISOString();
    if (at === null || this.stopping) return;
    // A little after the time itself: the reaction then finds it due by its own clock too.
    const wait = Math.min(Math.max(0, at - this.guild.now()) + 20, LONGEST_TIMER_MS);
    this.retryTimer = setTimeout(() => this.enqueue('board'), wait);
  }

  private async sample(): Promise<void> {
    try {
      const { sampleMachine } = await import('./sample-machine.js');
      this.report.machine = await sampleMachine(this.guild.repo.mainWorktree, this.guild.now());
    } catch (error) {
      this.failed(`sampling the machine: ${(error as Error).message}`);
    }
    this.report.updated = new Date(this.guild.now()).toISOString();
    this.writeReport();
  }

  private failed(message: string): void {
    this.report.counts.errors++;
    this.report.lastError = { at: new Date(this.guild.now()).toISOString(), message };
    // The same complaint once, not on every heal tick while the person is still typing.
    if (message !== this.lastErrorShown) this.options.say(message);
    this.lastErrorShown = message;
  }

  private writeReport(): void {
    const { rss, heapUsed } = process.memoryUsage();
    this.report.memory = { rssBytes: rss, heapUsedBytes: heapUsed };
    try {
      writeDaemonReport(this.guild, this.report);
    } catch (error) {
      this.options.say(`could not write daemon.json: ${(error as Error).message}`);
    }
  }

  private every(ms: number, work: () => void): void {
    const timer = setInterval(work, ms);
    this.timers.add(timer);
  }
}

export type { MachineSample };

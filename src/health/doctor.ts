// doctor: every way the board, the log and the locks can disagree or be stuck, each named, and
// whether this clone merges branches with guild-fs's drivers.
// It changes nothing (exit 6 when anything is wrong); each failing check says what repairs it,
// `heal` for lock problems, a person for the rest.
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Board } from '../board/types.js';
import { GuildError } from '../errors.js';
import { findEventIds, lastEventOf } from '../log/find-events.js';
import { LOG_FILE } from '../log/append-event.js';
import { logBehindMark } from '../log/log-mark.js';
import { readEvents } from '../log/read-events.js';
import { judgeProcess, systemProbe, type ProcessProbe } from '../lock/liveness.js';
import { UNFINISHED_GRACE_MS, type MutexOwner } from '../lock/board-mutex.js';
import { ageOf, deadBreakers } from '../lock/lock-removal.js';
import { readLockOwner } from '../lock/mkdir-lock.js';
import { heartbeatAhead } from '../lock/task-locks.js';
import { formatDuration } from '../duration.js';
import type { FinishIntent } from '../tasks/finish-task.js';
import { currentDaemonError, daemonState } from './daemon-status.js';
import { boardVersions, loadBoard, type Guild } from '../tasks/guild.js';
import { unplacedDir, unplacedSaves } from '../tasks/stale-save.js';
import { UNFINISHED_LOCK_GRACE_MS } from './heal.js';
import { checkMergeSetup } from './merge-health.js';
import { boardNotices } from '../tasks/queries.js';
import { classifyLock } from './classify-lock.js';
import { checkWorktrees } from './doctor-worktrees.js';
import { boardCommands, runBy, trustOf, type CommandTrust } from '../workspace/trust.js';

export interface Problem {
  task?: string;
  message: string;
}

export interface Check {
  name: 'board' | 'log' | 'locks' | 'mutex' | 'daemon' | 'worktrees' | 'merge' | 'access' | 'remote';
  ok: boolean;
  problems: Problem[];
  warnings: string[];
  /** What is neither wrong nor odd but worth a line (the daemon's state, the machine). */
  info?: string[];
  /** Set when what is checked does not exist yet (no log): why, and what makes it. Not a failure. */
  missing?: string;
  /** With problems: what repairs them (`guild-fs heal` only for lock problems). */
  fix?: string;
}

/** What repairs the problems of each check: heal is only for locks (and the mutex, the daemon's lock). */
export const HEAL_FIX = '`guild-fs heal` repairs lock problems';
const FIXES: Record<Check['name'], string> = {
  board: 'edit ACTIVE_TASKS.md at the line named and save (no tool writes a board it cannot read)',
  log: 'fix or remove the log line named by hand (`git log -p .guild/audit.jsonl` shows how it was)',
  locks: HEAL_FIX,
  mutex: HEAL_FIX,
  daemon: HEAL_FIX,
  worktrees: 'each worktree problem names the command that repairs it',
  merge: 'resolve what the merge problems name',
  access: 'make the paths named writable for the user running guild-fs (or run it as their owner)',
  remote: 'add the git remote the board names, or change remote: in its front matter',
};

export interface DoctorResult {
  ok: boolean;
  checks: Check[];
}

export async function doctor(guild: Guild, options: { probe?: ProcessProbe } = {}): Promise<DoctorResult> {
  const probe = options.probe ?? systemProbe;
  const checks: Check[] = [];
  let board: Board | null = null;
  const boardCheck: Check = { name: 'board', ok: true, problems: [], warnings: [] };
  try {
    board = await loadBoard(guild);
    for (const notice of boardNotices(board)) {
      if (notice.message.startsWith('task without an ID')) boardCheck.warnings.push(`ACTIVE_TASKS.md:${notice.line}: ${notice.message}`);
      else boardCheck.problems.push({ message: `ACTIVE_TASKS.md:${notice.line}: ${notice.message}` });
    }
  } catch (error) {
    if (!(error instanceof GuildError)) throw error;
    boardCheck.problems.push({ message: error.message });
    if (error.code === 'ENOBOARD') boardCheck.fix = 'run `guild-fs init` to make the board';
  }
  for (const command of untrustedCommands(guild, board)) {
    boardCheck.warnings.push(`${command.key} ${JSON.stringify(command.argv)} is ${command.previous ? 'changed since this clone trusted it' : 'not trusted in this clone'}: ${runBy(command.key)} refuses to run it until \`guild-fs trust\``);
  }
  for (const name of unplacedSaves(boardVersions(guild))) {
    boardCheck.warnings.push(`a save of ACTIVE_TASKS.md could not be placed on the board (its buffer was older than every version kept, or it did not merge): it is kept whole in ${join(unplacedDir(boardVersions(guild)), name)}; copy what was meant from it, then delete the file`);
  }
  checks.push(boardCheck);
  checks.push(await checkLog(guild));
  if (board) checks.push(checkLocks(guild, board, probe));
  checks.push(checkMutex(guild, probe));
  const daemon = checkDaemon(guild, probe);
  if (daemon) checks.push(daemon);
  if (board) checks.push(await checkWorktrees(guild, board));
  const merge = await checkMergeSetup(guild, board?.text ?? null);
  checks.push({ name: 'merge', ok: true, problems: merge.problems.map((message) => ({ message })), warnings: merge.warnings, ...(merge.fixes.length > 0 ? { fix: merge.fixes.join('; ') } : {}) });
  checks.push(checkAccess(guild));
  if (board?.settings.remote) {
    const { checkRemote } = await import('../remote/check-remote.js');
    const found = await checkRemote(guild, board.settings.remote);
    checks.push({ name: 'remote', ok: true, problems: found.problems.map((message) => ({ message })), warnings: found.warnings, info: found.info });
  }
  for (const check of checks) {
    check.ok = check.problems.length === 0;
    if (!check.ok) check.fix ??= FIXES[check.name];
  }
  return { ok: checks.every((check) => check.ok), checks };
}

async function checkLog(guild: Guild): Promise<Check> {
  const check: Check = { name: 'log', ok: true, problems: [], warnings: [] };
  // Not "ok": there is nothing to be ok yet. init makes the file, and so does the first write.
  if (!existsSync(guild.logPath)) return { ...check, missing: `no log yet: ${LOG_FILE} does not exist (\`guild-fs init\` makes it, and so does the first command that writes)` };
  try {
    for await (const _ of readEvents(guild.logPath, { onWarning: (warning) => check.warnings.push(`${warning.file}:${warning.line}: ${warning.message}`) })) {
      // Reading every line is the check.
    }
  } catch (error) {
    if (!(error instanceof GuildError)) throw error;
    check.problems.push({ message: error.message });
  }
  // Not wrong in itself: git may bring it back (a stash popped, a checkout undone).
  const mark = logBehindMark(guild.logPath, guild.logMarkPath);
  if (mark.behind) check.warnings.push(`the log is behind what guild-fs wrote (a git stash or checkout?): ${mark.reason}; the daemon waits for it (run \`guild-fs sync\` if that was deliberate)`);
  return check;
}

/** A heartbeat this little ahead of now is a write racing the read, not a clock that went back. */
const FUTURE_HEARTBEAT_SLACK_MS = 5_000;

function checkLocks(guild: Guild, board: Board, probe: ProcessProbe): Check {
  const check: Check = { name: 'locks', ok: true, problems: [], warnings: [] };
  const now = guild.now();
  const locked = new Set<string>();
  const intents = guild.locks.intents<FinishIntent>();
  for (const { task, read } of guild.locks.list()) {
    locked.add(task);
    const path = guild.locks.where(task);
    // Not a problem: the next release, heartbeat or heal of this lock takes a dead breaker over.
    for (const dead of deadBreakers(path, probe, now)) check.warnings.push(`${task}: ${dead.name} left by pid ${dead.pid}, which is gone (the next remover takes it over)`);
    const verdict = classifyLock(task, read, { board, intents, probe, now, claimLogged: (id) => findEventIds(guild.logPath, [id]).size > 0 });
    const ahead = read.state === 'held' ? heartbeatAhead(read.owner, now) : 0;
    if (read.state === 'held' && ahead > FUTURE_HEARTBEAT_SLACK_MS) {
      check.warnings.push(`${task}: heartbeat of ${read.owner.agent} is ${formatDuration(ahead)} in the future (clock skew?); it counts as now, so the lock stays fresh until lock_ttl after that time`);
    }
    switch (verdict.kind) {
      case 'unfinished': {
        const age = ageOf(path, now);
        // Damaged is a problem at once (no claim in the making leaves a wrong owner.json); heal
        // still waits for the grace, as it does for every lock without a readable owner.
        if (verdict.damaged) check.problems.push({ task, message: `${task}: damaged lock (${verdict.reason}); heal removes it once ${Math.round(UNFINISHED_LOCK_GRACE_MS / 1000)}s old (now ${Math.round(age / 1000)}s)` });
        else if (age >= UNFINISHED_LOCK_GRACE_MS) check.problems.push({ task, message: `${task}: lock without an owner for ${Math.round(age / 1000)}s (${verdict.reason})` });
        break;
      }
      case 'dead-finish':
        check.problems.push({ task, message: `${task}: a ${verdict.intent.payload.op} by ${verdict.intent.payload.agent} died half way (intent left in the lock)` });
        break;
      case 'orphan': {
        const { onBoard } = verdict;
        const shown = onBoard ? `${onBoard.status}${onBoard.owner ? ` (owner ${onBoard.owner})` : ''}` : 'not on the board';
        check.problems.push({ task, message: `${task}: locked by ${verdict.owner.agent}, but the board has no such owner (task is ${shown})` });
        break;
      }
      case 'rewound': {
        const behind = `${task}: the board and log are behind this claim of ${verdict.owner.agent} (a git stash or checkout?)`;
        // Kept while the claim lives: git brings board and log back. Stale as well, heal removes it.
        if (verdict.stale === null) check.warnings.push(`${behind}; it is kept`);
        else check.problems.push({ task, message: `${behind}, and stale: ${verdict.stale} (heal removes the lock)` });
        break;
      }
      case 'stale':
        check.problems.push({ task, message: `${task}: stale lock of ${verdict.owner.agent}: ${verdict.reason}` });
        break;
      // 'finishing' and 'claiming' are work under way; 'healthy' and 'free' are fine.
    }
  }
  for (const task of board.tasks) {
    if (task.status !== 'in-progress' || !task.id || locked.has(task.id)) continue;
    // Locks live in each clone's .git: a task claimed on another machine has no lock here.
    const claimed = lastEventOf(guild.logPath, task.id, 'task.claimed');
    const message = `${task.id}: In Progress (owner ${task.owner ?? 'none'}) but no lock`;
    if (claimed && claimed.host !== probe.host) check.warnings.push(`${message} in this clone (claimed on ${String(claimed.host)})`);
    else check.problems.push({ task: task.id, message });
  }
  return check;
}

function checkMutex(guild: Guild, probe: ProcessProbe): Check {
  const check: Check = { name: 'mutex', ok: true, problems: [], warnings: [] };
  const holder = readLockOwner<MutexOwner>(guild.mutexPath);
  if (holder.state === 'held' && !judgeProcess(holder.owner, probe).alive) {
    check.problems.push({ message: `the board mutex is held by pid ${holder.owner.pid}, which is gone (heal or the next write breaks it)` });
  }
  if (holder.state === 'unreadable') {
    const age = ageOf(guild.mutexPath, guild.now());
    if (age >= UNFINISHED_GRACE_MS) check.problems.push({ message: `the board mutex has had no owner for ${Math.round(age / 1000)}s (${holder.reason}); heal or the next write breaks it` });
  }
  return check;
}

/** Trust is the clone's own: a command it does not run is worth a line, not a failure. */
function untrustedCommands(guild: Guild, board: Board | null): CommandTrust[] {
  if (!board) return [];
  try {
    return trustOf(guild, boardCommands(board.settings)).filter((command) => !command.trusted);
  } catch (error) {
    if (error instanceof GuildError) return []; // a bad command line: the board's own problem, said by claim
    throw error;
  }
}

/**
 * What guild-fs must be able to write: <git-common-dir>/guild (locks, the board mutex, the
 * cache), the main worktree (the board is replaced by a rename there) and the log. A read-only
 * .git passes every other check and fails every claim, so it is a problem of its own.
 */
function checkAccess(guild: Guild): Check {
  const check: Check = { name: 'access', ok: true, problems: [], warnings: [] };
  const guildDir = dirname(guild.locksDir);
  const places: [string, string][] = [
    [existsSync(guildDir) ? guildDir : guild.repo.commonDir, 'locks and the board mutex'],
    [guild.repo.mainWorktree, 'the board (replaced by a rename in its folder)'],
  ];
  if (existsSync(guild.logPath)) places.push([guild.logPath, 'the log']);
  else if (existsSync(dirname(guild.logPath))) places.push([dirname(guild.logPath), 'the log']);
  for (const [path, what] of places) {
    try {
      accessSync(path, constants.W_OK);
    } catch (error) {
      check.problems.push({ message: `guild-fs cannot write ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}), where it keeps ${what}` });
    }
  }
  return check;
}

/** Low disk under the repository: a board or log write that fails for space fails half way. */
const LOW_DISK_BYTES = 1 << 30;

/**
 * The daemon, when this clone has ever had one (no daemon.lock and no daemon.json: no check, so
 * clones that never ran `watch` see the four checks they always did). A lock left by a daemon
 * that is gone is a problem heal fixes; a report left by one is a warning; the daemon's last
 * error (a board it could not read) and its machine sample are shown.
 */
function checkDaemon(guild: Guild, probe: ProcessProbe): Check | null {
  const state = daemonState(guild, probe);
  if (!state.running && state.pid === null && state.report === null && state.stale === null) return null;
  const check: Check = { name: 'daemon', ok: true, problems: [], warnings: [], info: [] };
  if (state.running) check.info!.push(`running: pid ${state.pid} on ${state.host}, since ${state.since}`);
  else if (state.stale?.startsWith('daemon lock')) check.problems.push({ message: state.stale });
  else if (state.stale) check.warnings.push(state.stale);
  else check.info!.push(`not running (pid ${state.pid} stopped cleanly)`);
  const report = state.report;
  const errorNow = currentDaemonError(report);
  if (state.running && errorNow) check.warnings.push(`the daemon's last error, at ${errorNow.at}: ${errorNow.message}`);
  const machine = state.running ? report?.machine : null;
  if (machine) {
    const gib = (bytes: number | null): string => (bytes === null ? '?' : `${(bytes / 2 ** 30).toFixed(1)} GiB`);
    check.info!.push(`machine at ${machine.at}: CPU ${machine.cpuLoadPercent ?? '?'}%, load ${machine.loadAverage} on ${machine.cores} cores, memory ${gib(machine.memFreeBytes)} free, disk ${gib(machine.diskFreeBytes)} free`);
    if (machine.diskFreeBytes !== null && machine.diskFreeBytes < LOW_DISK_BYTES) check.warnings.push(`only ${gib(machine.diskFreeBytes)} free on the repository's disk`);
  }
  return check;
}

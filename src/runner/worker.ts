// One worker's loop: claim the next task its caps allow (bound to the runner's process) -> its
// worktree -> the agent in it -> complete on exit 0 (what it left uncommitted committed first,
// then `verify`), or fail with the reason and the last lines of output (the try's work committed
// on the branch) -> the next task. A try stopped by the runner (a second Ctrl-C) is released.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DirtyWorktreeError, GitError, GuildError, HeldError, NothingToDoError, VerifyFailedError } from '../errors.js';
import { cleanEnv } from '../git/git.js';
import { heartbeatTask } from '../tasks/claim-task.js';
import { completeTask, failTask, releaseTask, releaseUnstarted, type HeldClaim } from '../tasks/finish-task.js';
import { loadBoard, type Guild } from '../tasks/guild.js';
import { autoCommitIfEnabled } from '../workspace/auto-commit.js';
import { claimWorkspace, notTheTasksWorktree, type ClaimedWorkspace } from '../workspace/claim-workspace.js';
import { describeEnd, placeholders, startAgent, type AgentOutcome, type RunningAgent } from './agent-process.js';
import type { RunEventBody, TaskOutcome, TaskRecord } from './events.js';
import { emptyAllowed, lookAfterTry, noChangeReason, ownFiles, startOfTry } from './empty-try.js';
import { describeEarlierTries, describeNeeds, renderPrompt, taskBody } from './prompt.js';
import type { RunOptions, WorkerSpec } from './run-tasks.js';
import { listRuns, runLogPath, runsDir } from './run-log.js';
import type { Watchdog } from './watchdog.js';
import type { PendingTry, RunBreakers, Settlement } from './run-breakers.js';
import { stripTerminalControls } from '../control-characters.js';

/** What the workers of one run share. */
export interface Pool {
  guild: Guild;
  options: RunOptions;
  watchdog: Watchdog;
  emit: (event: RunEventBody) => void;
  now: () => number;
  /** No new claims (a first Ctrl-C, or the end of the work). */
  stopping: boolean;
  /** Running agents are being stopped (a second Ctrl-C). */
  halted: boolean;
  /** Aborted with `halted`: stops a verify under way too. */
  halt: AbortController;
  /** Workers claiming or running a task: while any is, an idle one waits rather than leaves. */
  busy: number;
  /** Claims started, for --max-tasks. */
  taken: number;
  errors: number;
  records: TaskRecord[];
  running: Map<string, RunningAgent>;
  /** Claims given back because no agent could start on them (no worktree, claim lost), by task. */
  refused: Map<string, number>;
  /** One breaker per agent command: tries a broken CLI failed are given back, not failed (run-breakers.ts). */
  breakers: RunBreakers;
  /** Said once: idle because other clones still hold claims (remote-rounds.ts). */
  waitingOnOthers?: boolean;
  /** Wakes every waiting worker. */
  wake(): void;
  /** Until wake() or `ms` (null: only wake()). */
  sleep(ms: number | null): Promise<void>;
}

/** How often a runner with nothing to claim looks again while other clones hold claims. */
const REMOTE_RECHECK_MS = 1_000;

/** A task refused this often in one run (its worktree cannot be had) stops the worker that meets it again, rather than loop on it. */
const MAX_REFUSALS = 3;

/** How many lines of the agent's last output go into a failure reason. */
const REASON_LINES = 10;

export async function workerLoop(pool: Pool, spec: WorkerSpec): Promise<void> {
  const name = spec.name;
  const { options } = pool;
  while (!pool.stopping) {
    if (options.maxTasks !== undefined && pool.taken >= options.maxTasks) return;
    if (options.beforeClaim) await options.beforeClaim(name);
    // Through a remote: the board as the other clones left it (their Done may unblock work here),
    // and what they hold now, before choosing.
    if (options.remote) await options.remote.refresh();
    if (pool.stopping) return;
    // The agent command's breaker: open (not logged in, out of quota), no try starts until its reset time.
    const admitted = pool.breakers.admit(spec);
    if (admitted.kind === 'leave') return;
    if (admitted.kind === 'wait') {
      await pool.sleep(admitted.ms);
      continue;
    }
    pool.taken++;
    pool.busy++;
    const notes: string[] = [];
    let claimed: ClaimedWorkspace;
    try {
      claimed = await claimWorkspace(pool.guild, { agent: name, caps: spec.caps, pid: options.pid, worktree: options.worktrees }, notes);
    } catch (error) {
      pool.taken--;
      pool.busy--;
      pool.breakers.finished(spec);
      if (error instanceof NothingToDoError) {
        // Only held tries keep the run busy: nothing will come to judge them by, so they are failures.
        if (pool.busy > 0 && pool.busy === pool.breakers.holding()) {
          await settleHeld(pool, pool.breakers.settle());
          continue;
        }
        // A task this worker could take that waits for its retry time (a failed try) is work
        // still to do: the run drives the board to the end, so it waits for it, said once.
        const retrying = error.data.waiting as { task: string; retry: string }[] | undefined;
        // Runners in other clones still hold claims: their outcomes may unblock work here.
        if (!options.watch && pool.busy === 0 && options.remote?.othersWorking()) {
          if (!pool.waitingOnOthers) pool.emit({ event: 'run.waiting', worker: name, why: 'other clones still hold claims; their work may unblock more here' });
          pool.waitingOnOthers = true;
          await pool.sleep(REMOTE_RECHECK_MS);
          continue;
        }
        pool.waitingOnOthers = false;
        if (!options.watch && pool.busy === 0 && !retrying?.length) {
          // Nothing left for anyone: the others, waiting, look once more and leave too.
          pool.wake();
          return;
        }
        if (!options.watch && retrying?.length && pool.busy === 0) {
          pool.emit({ event: 'run.waiting', worker: name, why: `${retrying[0]!.task} is retried at ${retrying[0]!.retry}` });
        }
        await pool.sleep(options.watch || retrying?.length ? idleWait(options, error) : null);
        continue;
      }
      pool.wake();
      const task = error instanceof GuildError && typeof error.data.task === 'string' ? error.data.task : null;
      if (task !== null && error instanceof GuildError && typeof error.data.reason === 'string') {
        // Claimed, but no agent may start on it (no worktree to be had, the claim lost): the claim
        // was given back with the reason (claim-workspace.ts), and no try is counted.
        if (error.data.released === true) await commitBoard(pool, name, `guild: ${task} released by ${name}`);
        if (refusedAgain(pool, name, task, error)) continue;
        return;
      }
      pool.errors++;
      pool.emit({ event: 'worker.error', worker: name, task, code: error instanceof GuildError ? error.code : 'EUNEXPECTED', message: (error as Error)?.message ?? String(error) });
      return;
    }
    try {
      for (const note of notes) pool.emit({ event: 'run.note', worker: name, task: claimed.task.id, message: note });
      await commitBoard(pool, name, `guild: ${claimed.task.id} claimed by ${name}`);
      await runTry(pool, spec, claimed).finally(() => pool.breakers.finished(spec));
    } catch (error) {
      if (error instanceof HeldError) {
        // The claim was taken from this worker meanwhile (healed, released by hand): its outcome is
        // someone else's to record now. Said, and the worker goes on.
        pool.emit({ event: 'run.note', worker: name, task: claimed.task.id, message: `the claim was lost before the outcome could be recorded: ${error.message}` });
        pool.busy--;
        pool.wake();
        continue;
      }
      pool.errors++;
      pool.emit({ event: 'worker.error', worker: name, task: claimed.task.id, code: error instanceof GuildError ? error.code : 'EUNEXPECTED', message: (error as Error)?.message ?? String(error) });
      pool.busy--;
      pool.wake();
      return;
    }
    pool.busy--;
    pool.wake();
  }
}

/**
 * A claim given back before its try: said, with the reason. True when the worker goes on; false
 * (a worker.error, so the run exits 1) once the same task was refused MAX_REFUSALS times in this
 * run: a worktree that cannot be made now will not be made by claiming it again at once.
 */
function refusedAgain(pool: Pool, name: string, task: string, error: GuildError): boolean {
  const times = (pool.refused.get(task) ?? 0) + 1;
  pool.refused.set(task, times);
  const reason = error.data.reason as string;
  if (error.data.released === true) pool.emit({ event: 'task.released', worker: name, task, try: 0, ms: 0, reason });
  else pool.emit({ event: 'run.note', worker: name, task, message: `no agent started: ${error.message}` });
  if (times < MAX_REFUSALS) return true;
  pool.errors++;
  pool.emit({ event: 'worker.error', worker: name, task, code: error.code, message: `${task} was refused ${times} times in this run; stopping: ${error.message}` });
  return false;
}

/** How long an idle --watch worker sleeps without a board change: until the soonest retry time, at most the recheck period. */
function idleWait(options: RunOptions, nothing: NothingToDoError): number {
  const recheck = options.idleRecheckMs ?? 30_000;
  const waiting = nothing.data.waiting as { retry: string }[] | undefined;
  const soonest = waiting?.length ? Date.parse(waiting[0]!.retry) - Date.now() + 50 : Infinity;
  return Math.max(100, Math.min(recheck, soonest));
}

async function runTry(pool: Pool, spec: WorkerSpec, claimed: ClaimedWorkspace): Promise<void> {
  const name = spec.name;
  const { guild, options } = pool;
  const id = claimed.task.id!;
  const started = pool.now();
  const board = await loadBoard(guild);
  const task = board.byId.get(id);
  const tryNumber = nextTry(guild.repo.commonDir, id, claimed.task.tries + 1);
  const logPath = runLogPath(guild.repo.commonDir, id, tryNumber);
  const worktree = claimed.worktree?.path ?? null;
  const branch = claimed.worktree?.branch ?? null;
  const cwd = agentDirectory(pool, claimed);
  const claim = { token: claimed.lock.token };
  const prompt = renderPrompt(options.promptTemplate, {
    id,
    title: claimed.task.title,
    body: task ? taskBody(board, task) : '',
    worktree: cwd,
    branch: branch ?? '(none: the main worktree)',
    try: tryNumber,
    needs: task ? describeNeeds(board, task) : '',
    earlier_tries: describeEarlierTries(guild.logPath, id),
  });
  mkdirSync(runsDir(guild.repo.commonDir, id), { recursive: true });
  const promptFile = join(runsDir(guild.repo.commonDir, id), `${tryNumber}.prompt.md`);
  writeFileSync(promptFile, prompt);
  pool.emit({ event: 'task.claimed', worker: name, task: id, title: claimed.task.title, try: tryNumber, worktree, branch, log: logPath });

  // Without a git hook's variables (a runner started from one must not point agents at its repository).
  const env = cleanEnv({
    GUILD_TASK: id,
    GUILD_TASK_TITLE: claimed.task.title,
    GUILD_PROMPT_FILE: promptFile,
    GUILD_WORKTREE: cwd,
    GUILD_BRANCH: branch ?? '',
    GUILD_AGENT: name,
    GUILD_TRY: String(tryNumber),
  });
  const argv = placeholders(spec.argv, { id, title: claimed.task.title, prompt, prompt_file: promptFile, worktree: cwd, branch: branch ?? '' });
  // The last look before the spawn: the worktree still the task's, the lock still this claim's
  // (a heal or a hand release since the claim gives the task to someone else).
  if (!(await stillStartable(pool, name, claimed))) return;
  // A claim let through just before the breaker opened: given back before its agent starts.
  const blocked = pool.breakers.blocked(spec);
  if (blocked !== null) return giveBackUnstarted(pool, name, claimed, blocked);
  // An exit 0 is judged against the directory as the agent found it (empty-try.ts).
  const allowEmpty = emptyAllowed({ task: task ?? claimed.task, worker: spec.allowEmpty, run: options.tryRules?.allowEmpty });
  const start = allowEmpty ? null : await startOfTry(cwd, { ignore: worktree ? [] : ownFiles(guild) });
  const agent = startAgent({
    argv,
    cwd,
    env,
    prompt,
    logPath,
    timeoutMs: options.timeoutMs,
    idleTimeoutMs: options.tryRules?.idleTimeoutMs,
    graceMs: options.graceMs,
    watchdog: pool.watchdog,
    onLine: options.onOutput ? (stream, text) => options.onOutput!(name, id, stream, text) : undefined,
  });
  pool.running.set(name, agent);
  // Still running past the breaker's fast limit: the command works, so the tries it holds are their tasks' own failures.
  const works = setTimeout(() => void settleHeld(pool, pool.breakers.worked(spec)), pool.breakers.fastMs);
  // A second Ctrl-C between the claim and the spawn: this agent is stopped too.
  if (pool.halted) agent.stop();
  const beat = setInterval(() => {
    heartbeatTask(guild, name, id).catch((error: Error) => pool.emit({ event: 'run.note', worker: name, task: id, message: `heartbeat failed: ${error.message}` }));
  }, heartbeatEvery(board.settings.lockTtlMs));
  let outcome: AgentOutcome;
  try {
    outcome = await agent.done;
  } finally {
    clearInterval(beat);
    clearTimeout(works);
    pool.running.delete(name);
  }
  const record = (what: TaskOutcome): void => void pool.records.push({ task: id, worker: name, try: tryNumber, outcome: what, ms: pool.now() - started });

  if (outcome.spawnError !== null) {
    // Not the task's fault: the try is given back untouched, and this worker stops.
    await releaseTask(guild, name, id, { claim });
    record('released');
    pool.emit({ event: 'task.released', worker: name, task: id, try: tryNumber, ms: pool.now() - started });
    await commitBoard(pool, name, `guild: ${id} released by ${name}`);
    throw new GuildError('ENOCOMMAND', 2, `the agent could not be started in ${cwd}: ${outcome.spawnError}`, { task: id });
  }
  if (outcome.stopped && !outcome.timedOut) {
    await releaseTask(guild, name, id, { claim });
    record('released');
    pool.emit({ event: 'task.released', worker: name, task: id, try: tryNumber, ms: pool.now() - started });
    await commitBoard(pool, name, `guild: ${id} released by ${name}`);
    return;
  }
  let reason: string;
  // A timed-out agent that exits 0 on SIGTERM was still stopped: its try fails as a timeout.
  const exitedOk = outcome.exitCode === 0 && !outcome.timedOut;
  const after = exitedOk && start ? await lookAfterTry(cwd, start) : null;
  if (after?.madeNoChange) reason = noChangeReason({ branch }, outcome.tail.slice(-REASON_LINES));
  else if (exitedOk) {
    await settleHeld(pool, pool.breakers.worked(spec));
    try {
      const { checkWork } = await import('../workspace/check-work.js');
      // In the worktree the claim made, whatever the board shows now: what the agent left is
      // committed there before anything is recorded.
      // The status the empty-try look just read there is the one the check needs: not read twice.
      const claimedAt = claimed.worktree ? { path: claimed.worktree.path, branch: claimed.worktree.branch, state: cwd === claimed.worktree.path ? (after?.state ?? undefined) : undefined } : undefined;
      const work = await checkWork(guild, name, id, { commitAll: options.commit ? `${id}: ${claimed.task.title}` : undefined, signal: pool.halt.signal, claimed: claimedAt });
      const result = await completeTask(guild, name, id, { work, claim });
      record('done');
      pool.emit({ event: 'task.done', worker: name, task: id, try: tryNumber, status: result.status === 'review' ? 'review' : 'done', ms: pool.now() - started, head: work?.head ?? null });
      await commitBoard(pool, name, `guild: ${id} ${result.status === 'review' ? 'in review' : 'done'} by ${name}`);
      return;
    } catch (error) {
      // The agent said done, but the work is not: verify failed, or --no-commit left work uncommitted.
      if (!(error instanceof VerifyFailedError || error instanceof DirtyWorktreeError || (error instanceof GitError && error.data.task === id))) throw error;
      if (pool.halted) {
        // Its verify was stopped by a second Ctrl-C: not the try's failure, so the task goes back
        // as any stopped agent's does.
        await releaseTask(guild, name, id, { claim });
        record('released');
        pool.emit({ event: 'task.released', worker: name, task: id, try: tryNumber, ms: pool.now() - started });
        await commitBoard(pool, name, `guild: ${id} released by ${name}`);
        return;
      }
      reason = error.message;
    }
  } else {
    const lines = outcome.tail.slice(-REASON_LINES);
    // The first line says what happened (it becomes the try's commit subject); the output follows.
    reason = `${failureOf(outcome, options.timeoutMs)}${lines.length > 0 ? `\n\nits last lines:\n${lines.join('\n')}` : ''}`;
    if (!outcome.timedOut) {
      // The breaker judges it: the task's failure, held a moment, or the command's (given back).
      await settleHeld(pool, pool.breakers.failed(spec, { id, worker: name, tryNumber, started, reason, claim }, { ms: outcome.ms, tail: outcome.tail }));
      return;
    }
  }
  await failTry(pool, name, { id, tryNumber, started, reason, claim });
}

/**
 * Carries out a breaker's verdict: tries failed as their tasks' own, tries given back (the tasks
 * keep their tries, `task.released` with the reason). A held try keeps its claim and counts as
 * busy, so the run does not end before it is settled.
 */
export async function settleHeld(pool: Pool, settlement: Settlement): Promise<void> {
  if (settlement.hold) pool.busy++;
  const judged = settlement.judged;
  // The try just judged fails its worker as before (its error thrown to the worker's loop), once the held ones are settled too.
  let failure: { error: unknown } | null = null;
  const settle = async (one: PendingTry, how: () => Promise<void>): Promise<void> => {
    try {
      await how();
    } catch (error) {
      if (one === judged) failure = { error };
      else heldTryError(pool, one, error);
    } finally {
      if (one !== judged) pool.busy--;
    }
  };
  for (const one of settlement.fail) await settle(one, () => failTry(pool, one.worker, one));
  for (const one of settlement.giveBack) await settle(one, () => giveBack(pool, one, settlement.why));
  if (settlement.fail.length + settlement.giveBack.length > 0) pool.wake();
  if (failure !== null) throw (failure as { error: unknown }).error;
}

/** A held try that could not be recorded: its claim lost while it waited (a heal, a hand release; not this runner's to record), or worse. */
function heldTryError(pool: Pool, one: PendingTry, error: unknown): void {
  if (error instanceof HeldError) {
    pool.emit({ event: 'run.note', worker: one.worker, task: one.id, message: `the claim was lost before the outcome could be recorded: ${error.message}` });
    return;
  }
  pool.errors++;
  pool.emit({ event: 'worker.error', worker: one.worker, task: one.id, code: error instanceof GuildError ? error.code : 'EUNEXPECTED', message: (error as Error)?.message ?? String(error) });
}

/** A try the agent command failed (not logged in, out of quota): released as if it never ran. */
async function giveBack(pool: Pool, one: PendingTry, why: string): Promise<void> {
  await releaseTask(pool.guild, one.worker, one.id, { claim: one.claim, reason: why });
  pool.records.push({ task: one.id, worker: one.worker, try: one.tryNumber, outcome: 'released', ms: pool.now() - one.started });
  pool.emit({ event: 'task.released', worker: one.worker, task: one.id, try: one.tryNumber, ms: pool.now() - one.started, reason: why, unavailable: true });
  await commitBoard(pool, one.worker, `guild: ${one.id} given back by ${one.worker}: the agent is unavailable`);
}

async function failTry(pool: Pool, name: string, one: { id: string; tryNumber: number; started: number; reason: string; claim: HeldClaim }): Promise<void> {
  const { id, tryNumber, started } = one;
  // The agent's (or verify's) output, colours and all, stays in the run log; the reason goes to
  // the log, the try's commit and other people's terminals, so it is plain text.
  const reason = stripTerminalControls(one.reason);
  const { commitFailedTry } = await import('../workspace/earlier-tries.js');
  const saved = await commitFailedTry(pool.guild, name, id, reason);
  // With the claim's token: a try whose claim was lost (its task completed or taken since) is
  // never failed by this runner.
  const result = await failTask(pool.guild, name, id, reason, saved, one.claim);
  pool.records.push({ task: id, worker: name, try: tryNumber, outcome: 'failed', ms: pool.now() - started });
  pool.emit({ event: 'task.failed', worker: name, task: id, try: tryNumber, ms: pool.now() - started, reason, poisoned: result.poisoned === true, retry: result.retry ?? null, committed: saved?.committed ?? null });
  await commitBoard(pool, name, `guild: ${id} failed${result.poisoned ? ' for good' : ''}`);
}

/**
 * Where the agent runs: its task's worktree when the run has worktrees on (claimWorkspace gave
 * one, or refused the claim), the main checkout only when the run started with `worktrees: false`.
 * No fallback from one to the other.
 */
function agentDirectory(pool: Pool, claimed: ClaimedWorkspace): string {
  if (!pool.options.worktrees) return pool.guild.repo.mainWorktree;
  if (claimed.worktree === null) throw new GuildError('EWORKTREE', 1, `${claimed.task.id}: claimed without a worktree in a run with worktrees on; no agent started`, { task: claimed.task.id });
  return claimed.worktree.path;
}

/** Just before the spawn: false (and the claim given back with the reason, when it is still this one's) when no agent may start. */
async function stillStartable(pool: Pool, name: string, claimed: ClaimedWorkspace): Promise<boolean> {
  const id = claimed.task.id!;
  const token = claimed.lock.token;
  const lock = pool.guild.locks.read(id);
  let problem: string | null = lock.state === 'held' && lock.owner.token === token ? null : `the claim of ${id} was lost before its agent started`;
  if (problem === null && claimed.worktree) problem = notTheTasksWorktree(pool.guild, claimed.worktree, token);
  if (problem === null) return true;
  const { released } = await releaseUnstarted(pool.guild, name, id, { reason: problem, claim: { token } });
  if (released) pool.emit({ event: 'task.released', worker: name, task: id, try: 0, ms: 0, reason: problem });
  else pool.emit({ event: 'run.note', worker: name, task: id, message: `no agent started: ${problem}` });
  await commitBoard(pool, name, `guild: ${id} released by ${name}`);
  return false;
}

/** A claim whose agent is not started because its command is unavailable: no try spent. */
async function giveBackUnstarted(pool: Pool, name: string, claimed: ClaimedWorkspace, why: string): Promise<void> {
  const id = claimed.task.id!;
  const { released } = await releaseUnstarted(pool.guild, name, id, { reason: why, claim: { token: claimed.lock.token } });
  if (released) pool.emit({ event: 'task.released', worker: name, task: id, try: 0, ms: 0, reason: why, unavailable: true });
  await commitBoard(pool, name, `guild: ${id} given back by ${name}: the agent is unavailable`);
}

/** `commit: true`: the board and log are committed after each change of state, as the CLI does after each command. */
async function commitBoard(pool: Pool, name: string, message: string): Promise<void> {
  try {
    const made = await autoCommitIfEnabled(pool.guild, message);
    if (made && made.commit === null && made.reason !== 'nothing changed') pool.emit({ event: 'run.note', worker: name, task: null, message: `commit: true, but nothing was committed: ${made.reason}` });
  } catch (error) {
    pool.emit({ event: 'run.note', worker: name, task: null, message: `commit: true, but the commit failed: ${(error as Error).message}` });
  }
}

/**
 * The try's number: the task's failed tries + 1, or past the last log when a try that did not
 * count (released, healed) already wrote that number's log, so that no try's log is overwritten.
 */
function nextTry(commonDir: string, id: string, fromBoard: number): number {
  const runs = listRuns(commonDir, id);
  const last = runs.length > 0 ? runs[runs.length - 1]!.try : 0;
  const n = Math.max(fromBoard, last + 1);
  return existsSync(runLogPath(commonDir, id, n)) ? n + 1 : n;
}

/** Why a try failed, in words, for the reason recorded with task.failed. */
function failureOf(outcome: AgentOutcome, timeoutMs: number): string {
  if (outcome.spawnError !== null || outcome.timedOut) return `the agent ${describeEnd(outcome, timeoutMs)}`;
  if (outcome.signal !== null) return `the agent was killed by signal ${outcome.signal}`;
  return `the agent exited with status ${outcome.exitCode}`;
}

/** A heartbeat well inside lock_ttl: four per ttl, between 1 s and 5 min. */
export function heartbeatEvery(lockTtlMs: number): number {
  return Math.min(300_000, Math.max(1_000, Math.floor(lockTtlMs / 4)));
}

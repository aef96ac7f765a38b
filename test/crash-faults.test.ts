// Fault injection: real `guild-fs claim`, `complete` and `fail` processes SIGKILLed at a random
// moment, four at a time on one board of 20 tasks: some before they have loaded, some inside
// the claim (lock -> log -> board) or the finish (intent -> log -> board -> lock), some after.
// Some claims are bound with --pid to a sleeping child that is killed too (heal then has proof),
// some to one that stays alive (the claim must then stand); a complete or fail finishes a task
// claimed normally first. In some batches a `heal` is killed as well. After each batch: `heal`
// until it has nothing left to do (at most three passes), then the invariants every crash must
// leave true:
//   (a) the board parses (`guild-fs list --json` exits 0);
//   (b) the log reads: every line is an event, or a torn prefix of one; no id twice;
//   (c) board and locks agree: every In Progress task has a lock held by its owner, every lock
//       is of a task the board shows In Progress by that lock's agent, and bound to a live pid;
//   (d) `guild-fs doctor` reports nothing (a dead board mutex aside: heal leaves it to the next
//       write, see heal-doctor-crashes.test.ts);
//   (e) folding the log per task (in file order, and in (ts, id) order as replay does) gives the
//       board's status, owner and tries.
// No timing is asserted. Where the kills landed is counted and printed. GUILD_FAULT_SEED=<n>
// repeats a run's choices (not its timing); GUILD_FAULT_TRIALS=<n> sets its length.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, existsSync, readdirSync, readFileSync, utimesSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LockOwner } from '../src/lock/lock-owner.js';
import { newUlid } from '../src/log/event.js';
import { mulberry32 } from '../bench/generate-board.js';
import { BIN, cli, cliAsync } from './helpers/cli.js';
import type { ListedTask as TaskView } from './helpers/cli.js';
import { readLogLines, tempRepo, type LogLine, type TempRepo } from './helpers/repo.js';

const TRIALS = Number(process.env.GUILD_FAULT_TRIALS ?? 100);
const SEED = Number(process.env.GUILD_FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
const PER_BATCH = 4;
const TASKS = 20;
const AGENTS = Array.from({ length: 8 }, (_, i) => `agent-${i}`);
/**
 * The kills are aimed at least this long after the spawn. Not at most: on a busy machine a
 * `claim` needs several times this just to load, and a fixed 0-120 ms window killed every victim
 * before it touched anything, so the aim follows what the commands are seen to take (killDelay).
 */
const MIN_KILL_WINDOW_MS = 120;

// --- randomness, reproducible --------------------------------------------------------------

const random = mulberry32(SEED);
const chance = (p: number): boolean => random() < p;
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

// --- processes -------------------------------------------------------------------------------

interface Sleeper {
  pid: number;
  alive: boolean;
  kill(): Promise<void>;
}

const sleepers = new Map<number, Sleeper>();
const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) child.kill('SIGKILL');
});

function startSleeper(): Sleeper {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  children.add(child);
  const exited = once(child, 'exit');
  const sleeper: Sleeper = {
    pid: child.pid!,
    alive: true,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited; // reaped: a zombie would still answer kill(pid, 0)
      sleeper.alive = false;
      children.delete(child);
    },
  };
  sleepers.set(sleeper.pid, sleeper);
  return sleeper;
}

interface VictimRun {
  pid: number;
  killed: boolean;
  code: number | null;
  stderr: string;
  ms: number;
}

/** How long each command takes when nobody kills it, recently. */
const durations: Record<string, number[]> = { claim: [], complete: [], fail: [], heal: [] };
function typicalMs(kind: string): number {
  const recent = durations[kind]!.slice(-12).sort((a, b) => a - b);
  return recent.length === 0 ? 300 : recent[Math.floor(recent.length / 2)]!;
}

/**
 * Where, after its spawn, each command is seen doing its writes: the few milliseconds at the end
 * of a run that is mostly start-up. Moved later after a kill that left no trace, earlier after
 * one that came too late, so that most kills land around the writes whatever the machine's load.
 */
const writesAt: Record<string, number> = {};
function learn(kind: string, stage: 'none' | 'partial' | 'done'): void {
  writesAt[kind] = Math.max(MIN_KILL_WINDOW_MS / 2, (writesAt[kind] ?? typicalMs(kind)) + (stage === 'none' ? 15 : stage === 'done' ? -15 : 0));
}

/** A quarter of the kills anywhere up to the writes (mostly start-up), the rest spread around them. */
function killDelay(kind: string): number {
  const at = Math.max(MIN_KILL_WINDOW_MS, writesAt[kind] ?? typicalMs(kind) - 10);
  return Math.max(0, Math.round(chance(0.25) ? random() * at : at + (random() + random() + random() - 1.5) * 60));
}

/** Spawns the built CLI and SIGKILLs it `delayMs` later, unless it has finished by then. */
function runVictim(repo: TempRepo, args: string[], agent: string, delayMs: number): Promise<VictimRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, GUILD_VERIFY_CACHE: '1', GUILD_AGENT: agent };
  delete env.GUILD_CAPS;
  const child = spawn(process.execPath, [BIN, ...args], { cwd: repo.dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const started = Date.now();
  const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    // 'close' comes after 'exit': the process is reaped and its stderr read.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ pid: child.pid!, killed: signal === 'SIGKILL', code, stderr, ms: Date.now() - started });
    });
  });
}

// --- reading the repo directly ---------------------------------------------------------------

function board(count: number): string {
  return [
    '---',
    'guild: 1',
    'prefix: GLD',
    'lock_ttl: 1h',
    'max_tries: 4',
    // Requeued tasks come back at once, so the board does not run dry of claimable work.
    'retry_base: 1ms',
    '---',
    '# Active Tasks',
    '',
    '## Ready',
    ...Array.from({ length: count }, (_, i) => `- [ ] GLD-${i + 1} Task number ${i + 1}`),
    '',
    '## In Progress',
    '',
    '## Done',
    '',
    '## Failed',
    '',
  ].join('\n');
}


type LockState = { kind: 'held'; owner: LockOwner; intent: boolean } | { kind: 'ownerless' };

const locksDir = (repo: TempRepo): string => join(repo.dir, '.git', 'guild', 'locks');
const mutexDir = (repo: TempRepo): string => join(repo.dir, '.git', 'guild', 'board.lock');

function readLocks(repo: TempRepo): Map<string, LockState> {
  const locks = new Map<string, LockState>();
  if (!existsSync(locksDir(repo))) return locks;
  for (const name of readdirSync(locksDir(repo))) {
    if (!name.endsWith('.lock') || name.startsWith('.')) continue;
    const dir = join(locksDir(repo), name);
    let text: string;
    try {
      text = readFileSync(join(dir, 'owner.json'), 'utf8');
    } catch {
      if (existsSync(dir)) locks.set(name.slice(0, -5), { kind: 'ownerless' });
      continue;
    }
    try {
      locks.set(name.slice(0, -5), { kind: 'held', owner: JSON.parse(text) as LockOwner, intent: existsSync(join(locksDir(repo), '.intents', `${name.slice(0, -5)}.json`)) });
    } catch {
      locks.set(name.slice(0, -5), { kind: 'ownerless' }); // owner.json created, not yet written
    }
  }
  return locks;
}

/**
 * The board's text; for a writer killed between the two steps of its commit (board moved
 * aside, the new one not linked in yet), the board it moved aside, which the next read puts back.
 */
function boardText(repo: TempRepo): string {
  try {
    return repo.read();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const aside = readdirSync(repo.dir).find((name) => name.startsWith('.guild-aside.ACTIVE_TASKS.md.'));
    if (!aside) throw error;
    return readFileSync(join(repo.dir, aside), 'utf8');
  }
}

/** The board as a regex reads it: enough to see what a killed process changed. */
function boardNow(repo: TempRepo): Map<string, TaskView> {
  const tasks = new Map<string, TaskView>();
  const sections: Record<string, string> = { Ready: 'ready', 'In Progress': 'in-progress', Done: 'done', Failed: 'failed' };
  let status = '';
  for (const line of boardText(repo).split('\n')) {
    if (line.startsWith('## ')) status = sections[line.slice(3)] ?? line.slice(3);
    const match = /^- \[[ x]\] (GLD-\d+) /.exec(line);
    if (!match) continue;
    const field = (key: string): string | null => new RegExp(` ${key}:(\\S+)`).exec(line)?.[1] ?? null;
    tasks.set(match[1]!, { id: match[1]!, status, owner: field('owner'), tries: Number(field('tries') ?? 0), retry: field('retry') });
  }
  return tasks;
}

/** The pid in board.lock/owner.json; -1 for a mutex dir without one; null when there is none. */
function readMutexHolder(repo: TempRepo): number | null {
  if (!existsSync(mutexDir(repo))) return null;
  try {
    return (JSON.parse(readFileSync(join(mutexDir(repo), 'owner.json'), 'utf8')) as { pid: number }).pid;
  } catch {
    return -1;
  }
}

/** Sets a path's mtime `seconds` into the past: what waiting out a grace period looks like. */
function age(path: string, seconds: number): void {
  const then = new Date(Date.now() - seconds * 1000);
  utimesSync(path, then, then);
}

function listTasks(repo: TempRepo): Map<string, TaskView> {
  const list = cli(['list', '--json'], { cwd: repo.dir });
  assert.equal(list.code, 0, `(a) the board must parse: list exited ${list.code}: ${list.stderr}`);
  return new Map((list.json!.result.tasks as TaskView[]).map((task) => [task.id, task]));
}

// --- the fault run ---------------------------------------------------------------------------

type Kind = 'claim' | 'complete' | 'fail';
type PidMode = 'none' | 'sleeper-killed' | 'sleeper-alive';

interface Victim {
  kind: Kind;
  agent: string;
  task: string | null; // null: `claim` of the next ready task
  pidMode: PidMode;
  sleeper: Sleeper | null; // for a claim, its --pid; for a finish, the --pid of the claim it finishes
  killSleeper: boolean;
  args: string[];
  delayMs: number;
  run?: VictimRun;
}

interface Stats {
  victims: number;
  batches: number;
  boards: number;
  killedByKind: Record<string, number>;
  finishedByKind: Record<string, number>;
  phases: Record<string, number>;
  exitCodes: Record<string, number>;
  healActions: Record<string, number>;
  secondPassHeals: string[];
  deadMutexLeft: number;
  ownerlessLocks: string[];
  ownerlessMutex: number;
  tombstonesLeft: Set<string>;
  tempFilesLeft: Set<string>;
  tornLines: number;
  liveHolderChecks: number;
  healKills: Record<string, number>;
}

const bump = (counts: Record<string, number>, key: string): void => void (counts[key] = (counts[key] ?? 0) + 1);

test(`SIGKILL claim/complete/fail at random moments, heal, check the invariants (${TRIALS} kills)`, { timeout: 600_000 }, async (t) => {
  t.diagnostic(`seed ${SEED} (GUILD_FAULT_SEED=${SEED} repeats this run's choices)`);
  const stats: Stats = {
    victims: 0,
    batches: 0,
    boards: 0,
    killedByKind: {},
    finishedByKind: {},
    phases: {},
    exitCodes: {},
    healActions: {},
    secondPassHeals: [],
    deadMutexLeft: 0,
    ownerlessLocks: [],
    ownerlessMutex: 0,
    tombstonesLeft: new Set(),
    tempFilesLeft: new Set(),
    tornLines: 0,
    liveHolderChecks: 0,
    healKills: {},
  };
  const problems: string[] = [];
  const started = Date.now();
  let repo: TempRepo | null = null;
  t.after(() => repo?.remove());

  const newBoard = (): TempRepo => {
    repo?.remove();
    for (const sleeper of sleepers.values()) if (sleeper.alive) void sleeper.kill();
    const fresh = tempRepo(board(TASKS));
    const init = cli(['init'], { cwd: fresh.dir });
    assert.equal(init.code, 0, init.stderr);
    // What `init` logs for a board it creates: the log must explain every task on the board.
    const ts = new Date().toISOString();
    const created = Array.from({ length: TASKS }, (_, i) =>
      JSON.stringify({ v: 1, id: newUlid(), ts, type: 'task.created', task: `GLD-${i + 1}`, agent: 'human', host: hostname(), data: { title: `Task number ${i + 1}`, status: 'ready' } }),
    );
    appendFileSync(fresh.log, `${created.join('\n')}\n`);
    stats.boards++;
    return fresh;
  };
  repo = newBoard();
  await calibrate(repo);

  while (stats.victims < TRIALS) {
    stats.batches++;
    const batch = stats.batches;
    const where = `batch ${batch} (seed ${SEED})`;

    // Old --pid holders that outlived a check: some die now, to be found by this batch's heal.
    for (const sleeper of sleepers.values()) if (sleeper.alive && chance(0.5)) await sleeper.kill();

    let tasks = listTasks(repo);
    let locks = readLocks(repo);
    const claimable = (): string[] =>
      [...tasks.values()].filter((task) => task.status === 'ready' && (task.retry === null || Date.parse(task.retry) <= Date.now()) && !locks.has(task.id)).map((task) => task.id);
    if (claimable().length < PER_BATCH + 2) {
      repo = newBoard();
      tasks = listTasks(repo);
      locks = readLocks(repo);
    }

    // Choose this batch's victims, each with its own agent; a finish needs a task its agent holds.
    const free = [...AGENTS];
    const takeAgent = (agent?: string): string => free.splice(agent ? free.indexOf(agent) : Math.floor(random() * free.length), 1)[0]!;
    const reserved = new Set<string>();
    const victims: Victim[] = [];
    const setups: { victim: Victim; task: string }[] = [];
    const count = Math.min(PER_BATCH, TRIALS - stats.victims);
    for (let i = 0; i < count; i++) {
      const kind: Kind = chance(0.4) ? 'claim' : chance(0.5) ? 'complete' : 'fail';
      const delayMs = killDelay(kind);
      if (kind === 'claim') {
        const agent = takeAgent();
        const pidMode: PidMode = pick(['none', 'sleeper-killed', 'sleeper-alive'] as const);
        const options = claimable().filter((id) => !reserved.has(id));
        const task = chance(0.5) && options.length > 0 ? pick(options) : null;
        if (task) reserved.add(task);
        const sleeper = pidMode === 'none' ? null : startSleeper();
        const args = ['claim', ...(task ? [task] : []), ...(sleeper ? ['--pid', String(sleeper.pid)] : [])];
        victims.push({ kind, agent, task, pidMode, sleeper, killSleeper: pidMode === 'sleeper-killed', args, delayMs });
        continue;
      }
      // Prefer a task some free agent already holds (and whose lock is sound); else claim one first, normally.
      const held = [...tasks.values()].filter((task) => {
        const lock = locks.get(task.id);
        return task.status === 'in-progress' && free.includes(task.owner!) && !reserved.has(task.id) && lock?.kind === 'held' && lock.owner.agent === task.owner && !lock.intent;
      });
      let victim: Victim;
      if (held.length > 0 && chance(0.7)) {
        const task = pick(held);
        const lock = locks.get(task.id) as Extract<LockState, { kind: 'held' }>;
        const sleeper = lock.owner.pid !== null ? (sleepers.get(lock.owner.pid) ?? null) : null;
        victim = { kind, agent: takeAgent(task.owner!), task: task.id, pidMode: sleeper ? 'sleeper-alive' : 'none', sleeper, killSleeper: false, args: [], delayMs };
      } else {
        const options = claimable().filter((id) => !reserved.has(id));
        if (options.length === 0) continue;
        const sleeper = chance(0.5) ? startSleeper() : null;
        victim = { kind, agent: takeAgent(), task: pick(options), pidMode: sleeper ? 'sleeper-alive' : 'none', sleeper, killSleeper: false, args: [], delayMs };
        setups.push({ victim, task: victim.task! });
      }
      reserved.add(victim.task!);
      victim.killSleeper = victim.sleeper !== null && chance(0.3);
      victim.args = kind === 'complete' ? ['complete', victim.task!] : ['fail', victim.task!, '--reason', 'x'];
      victims.push(victim);
    }

    // The claims that complete and fail need, made normally and all at once.
    const setupRuns = await Promise.all(
      setups.map(async ({ victim, task }) => {
        const began = Date.now();
        const run = await cliAsync(['claim', task, ...(victim.sleeper ? ['--pid', String(victim.sleeper.pid)] : [])], { cwd: repo!.dir, agent: victim.agent });
        durations.claim!.push(Date.now() - began);
        return run;
      }),
    );
    setupRuns.forEach((run, i) => assert.equal(run.code, 0, `${where}: setup claim ${setups[i]!.task} by ${setups[i]!.victim.agent}: ${run.stderr}`));

    // Snapshot, then the victims, all at once, each killed at its own moment.
    const before = { board: boardNow(repo), logLength: readLogLines(repo).length, locks: readLocks(repo) };
    await Promise.all(
      victims.map(async (victim) => {
        victim.run = await runVictim(repo!, victim.args, victim.agent, victim.delayMs);
        if (victim.killSleeper && victim.sleeper) await victim.sleeper.kill();
      }),
    );
    stats.victims += victims.length;

    // What each kill left behind, before heal changes anything.
    const afterKill = { board: boardNow(repo), log: readLogLines(repo).slice(before.logLength), locks: readLocks(repo) };
    const mutexHolder = readMutexHolder(repo);
    for (const victim of victims) {
      const run = victim.run!;
      bump(run.killed ? stats.killedByKind : stats.finishedByKind, victim.kind);
      if (!run.killed) {
        durations[victim.kind]!.push(run.ms);
        bump(stats.exitCodes, `${victim.kind} exit ${run.code}`);
        const expected = victim.kind === 'claim' ? [0, 3, 5] : [0];
        if (!expected.includes(run.code!)) problems.push(`${where}: ${victim.args.join(' ')} by ${victim.agent} exited ${run.code} on its own: ${run.stderr.trim()}`);
      }
      let phase = phaseOf(victim, before, afterKill);
      if (mutexHolder === run.pid) phase = phase.startsWith('no trace') ? 'inside the board mutex, nothing written' : `${phase}, board mutex left held`;
      bump(stats.phases, `${victim.kind}: ${phase}${run.killed ? '' : ' (finished before the kill)'}`);
      learn(victim.kind, !run.killed ? 'done' : phase.startsWith('no trace') ? 'none' : 'partial');
    }
    if (mutexHolder !== null && mutexHolder !== -1 && !victims.some((victim) => victim.run!.pid === mutexHolder)) bump(stats.phases, `board mutex left by pid ${mutexHolder}, not a victim (!)`);
    // A lock dir without owner.json made by a `claim` of the next task: which claim made it cannot be told.
    const byId = new Set(victims.flatMap((victim) => (victim.kind === 'claim' && victim.task ? [victim.task] : [])));
    for (const [id, state] of afterKill.locks) {
      if (state.kind === 'ownerless' && !before.locks.has(id) && !byId.has(id)) bump(stats.phases, 'claim (of the next task): lock dir made, no owner.json');
    }
    // Killed between the mutex's mkdir and its owner.json: a writer breaks it once it is 10s old.
    // Aged now, rather than making the heals below wait that out.
    if (mutexHolder === -1) age(mutexDir(repo), 60);
    if (chance(0.4)) {
      await killAHeal(repo, stats);
      if (readMutexHolder(repo) === -1) age(mutexDir(repo), 60);
    }

    // Heal, until it has nothing more to do.
    const passes: string[][] = [];
    for (let pass = 1; pass <= 3; pass++) {
      const began = Date.now();
      const healed = cli(['heal', '--json'], { cwd: repo.dir });
      durations.heal!.push(Date.now() - began);
      assert.equal(healed.code, 0, `${where}: heal pass ${pass} exited ${healed.code}: ${healed.stdout} ${healed.stderr}`);
      const result = healed.json!.result as { actions: { task: string; action: string; reason: string; agent: string | null }[]; busy: string[] };
      for (const action of result.actions) bump(stats.healActions, action.action);
      if (result.busy.length > 0) problems.push(`${where}: heal pass ${pass} found busy locks: ${result.busy.join(', ')}`);
      passes.push(result.actions.map((action) => `${action.task} ${action.action} (${action.reason})`));
      if (result.actions.length === 0) break;
      if (pass === 2) stats.secondPassHeals.push(`${where}: ${passes[1]!.join('; ')} after ${passes[0]!.join('; ')}`);
    }
    if (passes.at(-1)!.length > 0) problems.push(`${where}: heal still had work after 3 passes: ${JSON.stringify(passes)}`);

    checkInvariants(repo, where, stats, problems);
  }

  const elapsed = ((Date.now() - started) / 1000).toFixed(1);
  const report = [
    `seed ${SEED}: ${stats.victims} victims in ${stats.batches} batches on ${stats.boards} boards, ${elapsed}s`,
    `typical uncontested run (ms): claim ${typicalMs('claim')}, complete ${typicalMs('complete')}, fail ${typicalMs('fail')}; kills aimed at (ms): ${JSON.stringify(writesAt)}`,
    `killed: ${JSON.stringify(stats.killedByKind)}; finished before the kill: ${JSON.stringify(stats.finishedByKind)}`,
    `exit codes of those that finished: ${JSON.stringify(stats.exitCodes)}`,
    'where the kills landed:',
    ...Object.entries(stats.phases)
      .sort()
      .map(([phase, n]) => `  ${String(n).padStart(3)}  ${phase}`),
    `heal actions: ${JSON.stringify(stats.healActions)}`,
    `heals that needed a second pass: ${stats.secondPassHeals.length}${stats.secondPassHeals.map((line) => `\n  ${line}`).join('')}`,
    `dead board mutex left after heal (broken by the next write): ${stats.deadMutexLeft}`,
    `lock dirs without owner.json, aged past 30s and removed by heal: ${stats.ownerlessLocks.length} ${stats.ownerlessLocks.join(', ')}`,
    `board mutex without owner.json left after heal, aged and broken by the next write: ${stats.ownerlessMutex}`,
    `young tombstones left (swept after a minute): ${stats.tombstonesLeft.size}`,
    `heals killed too: ${JSON.stringify(stats.healKills)}`,
    `board temp files left in the work tree (nothing removes them): ${stats.tempFilesLeft.size} ${[...stats.tempFilesLeft].slice(0, 5).join(', ')}`,
    `torn log lines: ${stats.tornLines}; checks with a live --pid holder: ${stats.liveHolderChecks}`,
  ].join('\n');
  for (const line of report.split('\n')) t.diagnostic(line);
  assert.deepEqual(problems, [], `seed ${SEED}: the invariants broke:\n${problems.join('\n')}`);
});

/** A heal, killed at a random moment too, before the heals that clean up after the batch. */
async function killAHeal(repo: TempRepo, stats: Stats): Promise<void> {
  const logBefore = readLogLines(repo).length;
  const boardBefore = repo.read();
  const locksBefore = JSON.stringify([...readLocks(repo)]);
  const run = await runVictim(repo, ['heal'], 'heal', killDelay('heal'));
  const changed = readLogLines(repo).length !== logBefore || repo.read() !== boardBefore || JSON.stringify([...readLocks(repo)]) !== locksBefore;
  if (!run.killed) {
    durations.heal!.push(run.ms);
    if (run.code !== 0) throw new Error(`heal exited ${run.code}: ${run.stderr}`);
  }
  const stage = !run.killed ? 'done' : changed ? 'partial' : 'none';
  learn('heal', stage);
  bump(stats.healKills, { done: 'finished before the kill', partial: 'killed after changing something', none: 'killed before changing anything' }[stage]);
}

/** Times a few uncontested claims, completes and fails, four at a time as the victims run. */
async function calibrate(repo: TempRepo): Promise<void> {
  const timed = async (args: string[], agent: string, kind: string): Promise<void> => {
    const began = Date.now();
    const run = await cliAsync(args, { cwd: repo.dir, agent });
    assert.equal(run.code, 0, `calibration: ${args.join(' ')}: ${run.stderr}`);
    durations[kind]!.push(Date.now() - began);
  };
  await Promise.all([1, 2, 3, 4].map((n) => timed(['claim', `GLD-${n}`], `agent-${n}`, 'claim')));
  await Promise.all([1, 2, 3, 4].map((n) => (n % 2 ? timed(['complete', `GLD-${n}`], `agent-${n}`, 'complete') : timed(['fail', `GLD-${n}`, '--reason', 'x'], `agent-${n}`, 'fail'))));
}

/** How far a killed process got, judged from what changed on disk. */
function phaseOf(
  victim: Victim,
  before: { board: Map<string, TaskView>; locks: Map<string, LockState> },
  after: { board: Map<string, TaskView>; log: LogLine[]; locks: Map<string, LockState> },
): string {
  const newLock = (id: string, state: LockState): boolean => {
    const old = before.locks.get(id);
    if (state.kind === 'ownerless') return old === undefined;
    return old?.kind !== 'held' || old.owner.token !== state.owner.token;
  };
  if (victim.kind === 'claim') {
    const mine = [...after.locks].filter(([id, state]) => state.kind === 'held' && state.owner.agent === victim.agent && newLock(id, state));
    const ownerless = victim.task !== null && after.locks.get(victim.task)?.kind === 'ownerless' && !before.locks.has(victim.task);
    const logged = after.log.some((line) => line.event?.type === 'task.claimed' && line.event.agent === victim.agent);
    const onBoard = [...after.board.values()].some((task) => task.status === 'in-progress' && task.owner === victim.agent && before.board.get(task.id)?.owner !== victim.agent);
    if (onBoard) return 'claim on the board';
    if (logged) return 'task.claimed logged, board not written';
    if (mine.length > 0) return 'lock taken, nothing logged';
    if (ownerless) return 'lock dir made, no owner.json';
    return 'no trace (before the lock)';
  }
  const id = victim.task!;
  const lock = after.locks.get(id);
  const type = victim.kind === 'complete' ? 'task.completed' : 'task.failed';
  const logged = after.log.some((line) => line.event?.type === type && line.event.task === id);
  const moved = after.board.get(id)?.status !== 'in-progress';
  if (lock === undefined) return moved ? 'finished, lock removed' : 'lock gone, board not moved (!)';
  if (moved) return 'board written, lock not yet removed';
  if (logged) return 'logged, board not written';
  if (lock.kind === 'held' && lock.intent) return 'intent written, nothing logged';
  return 'no trace (before the intent)';
}

function checkInvariants(repo: TempRepo, where: string, stats: Stats, problems: string[]): void {
  // (a) The board parses.
  const tasks = listTasks(repo);

  // (b) The log reads; a line that does not parse may only be a torn prefix of an event.
  const lines = readLogLines(repo);
  const ids = new Set<string>();
  for (const [i, line] of lines.entries()) {
    if (line.event === null) {
      const torn = '{"v":1,"id":"'.startsWith(line.raw) || (line.raw.startsWith('{"v":1,"id":"') && !line.raw.endsWith('}'));
      if (!torn) problems.push(`${where}: (b) log line ${i + 1} is neither an event nor a torn one: ${line.raw.slice(0, 120)}`);
      else stats.tornLines++;
      continue;
    }
    if (typeof line.event.id !== 'string' || typeof line.event.type !== 'string' || Number.isNaN(Date.parse(line.event.ts))) {
      problems.push(`${where}: (b) log line ${i + 1} is not a whole event: ${line.raw.slice(0, 120)}`);
    }
    if (ids.has(line.event.id)) problems.push(`${where}: (b) event id ${line.event.id} appears twice (line ${i + 1}: ${line.event.type} ${line.event.task})`);
    ids.add(line.event.id);
  }

  // A lock dir without owner.json (a claim killed between its mkdir and its owner write) is left
  // alone for 30s, in case its taker is still at work. Aged past that, the next heal must remove it.
  let locks = readLocks(repo);
  const ownerless = [...locks].filter(([, state]) => state.kind === 'ownerless').map(([id]) => id);
  if (ownerless.length > 0) {
    for (const id of ownerless) age(join(locksDir(repo), `${id}.lock`), 40);
    const healed = cli(['heal', '--json'], { cwd: repo.dir });
    const removed = healed.code === 0 ? (healed.json!.result.actions as { task: string; action: string }[]).filter((a) => a.action === 'removed-unfinished').map((a) => a.task) : [];
    for (const id of ownerless) {
      stats.ownerlessLocks.push(`${where}: ${id}`);
      if (!removed.includes(id)) problems.push(`${where}: a lock dir of ${id} without owner.json, aged 40s, was not removed by heal: ${healed.stdout} ${healed.stderr}`);
    }
    locks = readLocks(repo);
  }
  // The same for the board mutex (10s grace), which heal does not look at: the next write must break it.
  if (existsSync(mutexDir(repo))) {
    if (readMutexHolder(repo) === -1) {
      stats.ownerlessMutex++;
      age(mutexDir(repo), 60);
      const added = cli(['add', 'Filler, written past an ownerless board mutex'], { cwd: repo.dir, agent: 'tester' });
      if (added.code !== 0 || existsSync(mutexDir(repo))) problems.push(`${where}: an ownerless board mutex, aged 60s, was not broken by the next write (add exited ${added.code}: ${added.stderr.trim()})`);
    } else {
      stats.deadMutexLeft++;
    }
  }
  // (c) Board and locks agree, both ways.
  for (const task of tasks.values()) {
    const lock = locks.get(task.id);
    if (task.status === 'in-progress') {
      if (!task.owner) problems.push(`${where}: (c) ${task.id} is In Progress with no owner`);
      else if (lock?.kind !== 'held') problems.push(`${where}: (c) ${task.id} is In Progress by ${task.owner} but has no lock`);
      else if (lock.owner.agent !== task.owner) problems.push(`${where}: (c) ${task.id} is In Progress by ${task.owner} but locked by ${lock.owner.agent}`);
      else if (lock.intent) problems.push(`${where}: (c) ${task.id}'s lock still has an intent after heal`);
    } else if ((task.status === 'ready' || task.status === 'failed') && task.owner !== null) {
      problems.push(`${where}: (c) ${task.id} is ${task.status} with owner ${task.owner}`);
    }
  }
  for (const [id, lock] of locks) {
    if (lock.kind !== 'held') continue;
    const task = tasks.get(id);
    if (task?.status !== 'in-progress' || task.owner !== lock.owner.agent) {
      problems.push(`${where}: (c) lock ${id} of ${lock.owner.agent} (pid ${lock.owner.pid}, maker ${lock.owner.claimPid}) but the board has ${id} ${task?.status ?? 'missing'} by ${task?.owner ?? 'nobody'}`);
    }
    if (lock.owner.pid !== null) {
      if (sleepers.get(lock.owner.pid)?.alive) stats.liveHolderChecks++;
      else problems.push(`${where}: (c) lock ${id} survived heal, bound to pid ${lock.owner.pid}, which is gone`);
    }
  }

  // (d) doctor is content; a dead board mutex is the one thing heal leaves to the next write.
  const doctor = cli(['doctor', '--json'], { cwd: repo.dir });
  const checks = (doctor.json!.ok ? doctor.json!.result.checks : doctor.json!.error!.data.checks) as { name: string; problems: { message: string }[] }[];
  for (const check of checks) {
    for (const problem of check.problems) {
      if (check.name === 'mutex' && /^the board mutex is held by pid \d+, which is gone/.test(problem.message)) continue;
      problems.push(`${where}: (d) doctor: ${check.name}: ${problem.message}`);
    }
  }
  if (doctor.code !== 0 && doctor.code !== 6) problems.push(`${where}: (d) doctor exited ${doctor.code}: ${doctor.stderr}`);

  // (e) The log, folded per task, tells the board's story: in file order and in (ts, id) order.
  const events = lines.flatMap((line) => (line.event ? [line.event] : []));
  const sorted = [...events].sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const [order, list] of [['file order', events], ['(ts, id) order', sorted]] as const) {
    const folded = foldLog(list);
    for (const task of tasks.values()) {
      const state = folded.get(task.id);
      const story = () => list.filter((event) => event.task === task.id).map((event) => `${event.type}${event.agent ? ` by ${event.agent}` : ''}${event.data?.tries !== undefined ? ` tries:${event.data.tries}` : ''}`);
      if (!state) {
        problems.push(`${where}: (e) ${task.id} is on the board but not in the log`);
        continue;
      }
      const owner = task.status === 'in-progress' ? task.owner : null;
      const foldedOwner = state.status === 'in-progress' ? state.owner : null;
      if (state.status !== task.status || foldedOwner !== owner || state.tries !== task.tries) {
        problems.push(
          `${where}: (e) ${order}: ${task.id} is ${task.status}/${owner}/tries:${task.tries} on the board, the log says ${state.status}/${foldedOwner}/tries:${state.tries}: ${story().join(' -> ')}`,
        );
      }
    }
  }
}

/** Replay, cut down to what this test's boards use. */
function foldLog(events: readonly Record<string, any>[]): Map<string, { status: string; owner: string | null; tries: number }> {
  const state = new Map<string, { status: string; owner: string | null; tries: number }>();
  for (const event of events) {
    if (typeof event.task !== 'string') continue;
    const task = state.get(event.task) ?? { status: '?', owner: null, tries: 0 };
    state.set(event.task, task);
    switch (event.type) {
      case 'task.created':
        task.status = event.data.status;
        break;
      case 'task.claimed':
        task.status = 'in-progress';
        task.owner = event.agent;
        break;
      case 'task.completed':
        task.status = event.data.to ?? 'done';
        break;
      case 'task.failed':
      case 'task.released':
      case 'lock.healed':
        // A lock.healed without tries undid a half-made claim: the task never moved.
        if (event.type === 'lock.healed' && event.data.tries === undefined) break;
        task.status = 'ready';
        task.owner = null;
        if (typeof event.data.tries === 'number') task.tries = event.data.tries;
        break;
      case 'task.poisoned':
        task.status = 'failed';
        task.owner = null;
        break;
    }
  }
  return state;
}

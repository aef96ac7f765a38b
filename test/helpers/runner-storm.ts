// The storm of issue 20 with the real runner: `guild-fs run -j 4` with worktrees drains a board
// of fake agents (half commit their file, half leave it uncommitted) while a person saves the
// board from buffers up to 40 ms old, by rename and in place, every 10-100 ms; `guild-fs watch`
// runs; a committer does `git add ACTIVE_TASKS.md .guild && git commit` every 3 s; the runner is
// SIGKILLed half way, then `heal` and a second run finish the board. Every piece is a real
// process but the person, who runs on this process's timers (it takes no lock and knows nothing
// of guild-fs, as an editor). Reports, never asserts: test/storm-runner.test.ts and
// bench/storm-runner.ts decide. Reuses the issue 10 storm's board, person saves and checks.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FRONT_MATTER, SENTINELS } from './storm-board.js';
import { checkStorm, type StormCheck } from './storm-check.js';
import { insertNote, NOTE, saveBoard, type PersonResult, type SaveStyle } from './storm-person.js';
import { childEnv, guild, killStormProcesses, spawnTracked, STORM_BIN, type StormRepo } from './storm-processes.js';
import { settle, startStormDaemon } from './storm.js';
import { agentPlaces, alive, writeFakeAgent, type AgentPlace } from './fake-agent.js';
import { mulberry32 } from './board-mutator.js';
import { removeRepoDir, worktreePath } from './repo.js';
import { UNFINISHED_LOCK_GRACE_MS } from '../../src/health/heal.js';

const run = promisify(execFile);
/** A run that takes longer than this is stuck: killed, and its exit (128) says so. */
const RUN_TIMEOUT_MS = Number(process.env.GUILD_STORM_RUN_TIMEOUT_MS ?? 60_000);
/** How long each fake agent works: long enough that saves, commits and the daemon meet the tries. */
const AGENT_MS = 1_000;

export interface RunnerStormOptions {
  seed: number;
  tasks: number;
  /** false: no person (the bench's baseline, same run). */
  person: boolean;
  daemon: boolean;
  /** SIGKILL the first run once this many tasks are done (null: never). */
  killAfter: number | null;
  parent?: string;
  keep?: boolean;
}

export interface RunnerStormReport {
  seed: number;
  dir: string;
  check: StormCheck;
  person: PersonResult | null;
  places: AgentPlace[];
  /** Agent starts whose cwd, checkout or branch was not their task's own worktree. */
  outside: string[];
  /** Commits on main that touched anything but the board and .guild/. */
  mainCommits: string[];
  /** task.completed events per task. */
  completions: Record<string, number>;
  twice: string[];
  /** Tasks Done on the board whose branch lacks <ID>.txt. */
  doneWithoutWork: string[];
  doneTasks: number;
  /** Fake agents still alive at the end. */
  leftAlive: number[];
  runs: { code: number; stderrTail: string }[];
  killed: boolean;
  /** Waits (ms) for a lock left without its owner to be old enough for heal, one per round that waited. */
  ownerlessWaits: number[];
  /** The runs' wall time (every run and heal, ms, without ownerlessWaits) and tasks completed per second over it. */
  runMs: number;
  tasksPerSecond: number;
  commits: number;
}


function gitSync(dir: string, args: string[]): string {
  const out = spawnSync('git', args, { cwd: dir, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`git ${args.join(' ')}: ${out.stderr}`);
  return out.stdout.trim();
}

/**
 * The issue 10 storm's front matter with a short retry_base: a try healed after the SIGKILL is
 * retried within seconds, so that the second run finishes the board instead of waiting 5 minutes.
 */
export const RUNNER_FRONT_MATTER = FRONT_MATTER.replace(/\n---$/, '\nretry_base: 1s\n---');

/** The issue 10 board (front matter, sentinels, Notes) with `tasks` fake-agent tasks: even ones commit, odd ones leave their file. */
function runnerBoard(tasks: number): string {
  const lines = [RUNNER_FRONT_MATTER, SENTINELS[0]!, '', SENTINELS[1]!, SENTINELS[2]!, '', SENTINELS[3]!, '', SENTINELS[4]!, SENTINELS[5]!, '', '## Ready'];
  for (let i = 1; i <= tasks; i++) lines.push(`- [ ] GLD-${i} ${i % 2 === 0 ? 'commits' : 'ok'} task ${i}`);
  lines.push('', '## In Progress', '', '## Done', '', '## Failed', '', '## Notes', '', SENTINELS[6]!, '');
  return lines.join('\n');
}

function makeRepo(parent: string, tasks: number): StormRepo {
  const dir = mkdtempSync(join(parent, 'guild-fs-runner-storm-'));
  const repo: StormRepo = { dir, board: join(dir, 'ACTIVE_TASKS.md'), log: join(dir, '.guild', 'audit.jsonl'), remove: () => removeRepoDir(dir) };
  gitSync(dir, ['init', '-q', '-b', 'main']);
  gitSync(dir, ['config', 'user.email', 'storm@example.com']);
  gitSync(dir, ['config', 'user.name', 'storm']);
  for (const args of [['init'], ['sync']]) {
    if (args[0] === 'sync') writeFileSync(repo.board, runnerBoard(tasks));
    const out = guild(repo, args, { verifyCache: true }, 'storm-setup');
    if (out.code !== 0) throw new Error(`guild-fs ${args.join(' ')}: ${out.stderr}`);
  }
  writeFileSync(join(dir, '.gitignore'), '*.log\n');
  gitSync(dir, ['add', '-A']);
  gitSync(dir, ['commit', '-q', '-m', 'storm board']);
  return repo;
}

/** A person whose editor holds the board for 0-40 ms before saving it, by rename or in place at random, every 10-100 ms. */
function stalePerson(board: string, random: () => number, stop: { done: boolean }): Promise<PersonResult> {
  const result: PersonResult = { saves: 0, highest: 0, notesMissing: 0, emptyReads: 0, failedSaves: 0, errors: [], startedAt: Date.now(), endedAt: 0 };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  return (async () => {
    while (!stop.done) {
      try {
        const buffer = readFileSync(board, 'utf8');
        if (buffer === '') result.emptyReads++;
        await sleep(random() * 40);
        const next = insertNote(buffer, NOTE(result.highest + 1));
        if (!next.hadNotes) result.notesMissing++;
        const style: SaveStyle = random() < 0.5 ? 'rename' : 'inplace';
        await saveBoard(board, next.text, style, result.highest + 1);
        result.saves++;
        result.highest++;
      } catch (error) {
        result.failedSaves++;
        if (result.errors.length < 20) result.errors.push(String((error as Error).message ?? error));
      }
      await sleep(10 + random() * 90);
    }
    result.endedAt = Date.now();
    return result;
  })();
}

function committer(dir: string, stop: { done: boolean }): { made: () => number; done: Promise<void> } {
  let made = 0;
  const done = (async () => {
    while (!stop.done) {
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      if (stop.done) break;
      try {
        await run('git', ['add', 'ACTIVE_TASKS.md', '.guild'], { cwd: dir });
        await run('git', ['commit', '-q', '-m', 'committer: the board'], { cwd: dir });
        made++;
      } catch {
        // Nothing to commit, or index.lock held by a guild-fs commit a moment ago: next time.
      }
    }
  })();
  return { made: () => made, done };
}

/** One run of the runner; with `killAfter`, SIGKILLed once that many task.done events were printed. */
/** Every task of the storm is in Done on the board. */
function allDone(board: string, tasks: number): boolean {
  return [...readFileSync(board, 'utf8').matchAll(/^- \[x\] (GLD-\d+) /gm)].length >= tasks;
}

/**
 * How long until heal may remove every lock `guild-fs locks --json` shows without an owner
 * (its taker died between mkdir and owner.json): heal judges them by the directory's age.
 */
function unfinishedLocksWait(repo: StormRepo): number {
  const out = guild(repo, ['locks', '--json'], { verifyCache: true }, 'storm-look');
  if (out.code !== 0) return 0;
  const { locks } = (JSON.parse(out.stdout) as { result: { locks: { state: string; damaged: boolean; path: string }[] } }).result;
  let wait = 0;
  for (const lock of locks) {
    if (lock.state !== 'unreadable' || lock.damaged) continue;
    const since = statSync(lock.path, { throwIfNoEntry: false })?.mtimeMs;
    // 100 ms over the grace: heal compares with >=, on its own clock reading a moment later.
    if (since !== undefined) wait = Math.max(wait, since + UNFINISHED_LOCK_GRACE_MS + 100 - Date.now());
  }
  return wait;
}

/** `guild-fs heal`, as a person runs it between two runs; reported as a run. */
function healOnce(repo: StormRepo): { code: number; stderrTail: string; killed: boolean } {
  const healed = guild(repo, ['heal'], { verifyCache: true }, 'storm-heal');
  return { code: healed.code, stderrTail: healed.stderr.trim().split('\n').slice(-4).join('\n'), killed: false };
}

async function runOnce(repo: StormRepo, agent: string, state: string, killAfter: number | null): Promise<{ code: number; stderrTail: string; killed: boolean }> {
  const env = { ...childEnv({ verifyCache: true }), FAKE_STATE: state, FAKE_DELAY_MS: String(AGENT_MS) };
  const { child, done } = spawnTracked([STORM_BIN, 'run', '--json', '-j', '4', '--agent', 'w', '--', process.execPath, agent], repo.dir, env);
  let killed = false;
  let doneTasks = 0;
  let pending = '';
  child.stdout!.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (/"event":"task.done"/.test(line)) doneTasks++;
      if (killAfter !== null && !killed && doneTasks >= killAfter) {
        killed = true;
        child.kill('SIGKILL');
      }
    }
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS);
  const out = await done;
  clearTimeout(timer);
  return { code: out.code, stderrTail: out.stderr.trim().split('\n').slice(-8).join('\n'), killed };
}

export async function runnerStorm(options: RunnerStormOptions): Promise<RunnerStormReport> {
  // Seeded, so that a failure can be run again.
  const random = mulberry32(options.seed);
  const repo = makeRepo(options.parent ?? tmpdir(), options.tasks);
  const state = mkdtempSync(join(options.parent ?? tmpdir(), 'guild-fs-runner-storm-agents-'));
  const agent = writeFakeAgent(state);
  const start = gitSync(repo.dir, ['rev-parse', 'main']);
  try {
    const daemon = options.daemon ? await startStormDaemon(repo, { verifyCache: true }) : null;
    const stop = { done: false };
    const person = options.person ? stalePerson(repo.board, random, stop) : null;
    const commits = committer(repo.dir, stop);
    const began = Date.now();
    const first = await runOnce(repo, agent, state, options.killAfter);
    const runs = [first];
    const ownerlessWaits: number[] = [];
    if (first.killed) {
      // The runner died: its claims are stale on proof (its pid); heal gives them back.
      runs.push(healOnce(repo), await runOnce(repo, agent, state, null));
      // A run ends when nothing is claimable (no --watch). A task healed to wait out retry_base
      // is waited for by the run itself (it says run.waiting). What it does not wait for: a lock
      // directory the SIGKILL left between its mkdir and its owner.json. No pid proves its taker
      // gone, so heal removes it only once UNFINISHED_LOCK_GRACE_MS old, and until then the task
      // is neither claimable nor healed. A person runs heal again once that time has come; so does this.
      for (let again = 0; again < 3 && !allDone(repo.board, options.tasks); again++) {
        const wait = unfinishedLocksWait(repo);
        if (wait > 0) {
          ownerlessWaits.push(Math.round(wait));
          await new Promise((resolve) => setTimeout(resolve, wait));
        }
        runs.push(healOnce(repo), await runOnce(repo, agent, state, null));
      }
    }
    // The runs' time, not the waits for heal's grace in between (no run was going then).
    const runMs = Date.now() - began - ownerlessWaits.reduce((sum, ms) => sum + ms, 0);
    stop.done = true;
    const personResult = person ? await person : null;
    await commits.done;
    if (daemon) {
      await settle(repo);
      await daemon.stop();
    }
    const storm = checkStorm(repo, personResult, [], { verifyCache: true });
    // checkStorm compares with the issue 10 front matter; this board's has retry_base too.
    const check = { ...storm, frontMatterIntact: readFileSync(repo.board, 'utf8').startsWith(`${RUNNER_FRONT_MATTER}\n`) };
    const judged = judge(repo, state, start, options);
    return { ...judged, check, person: personResult, runs: runs.map(({ code, stderrTail }) => ({ code, stderrTail })), killed: first.killed, ownerlessWaits, runMs, tasksPerSecond: judged.doneTasks / (runMs / 1000), commits: commits.made() };
  } finally {
    killStormProcesses();
    if (!options.keep) {
      repo.remove();
      rmSync(state, { recursive: true, force: true });
    }
  }
}

/** What the storm left: where the agents ran, what main holds, the completions, the branches. */
function judge(repo: StormRepo, state: string, start: string, options: RunnerStormOptions): Omit<RunnerStormReport, 'check' | 'person' | 'runs' | 'killed' | 'ownerlessWaits' | 'runMs' | 'tasksPerSecond' | 'commits'> {
  const places = agentPlaces(state);
  const root = worktreePath(repo, '');
  const outside = places
    .filter((p) => p.cwd !== join(root, p.task) || p.toplevel !== join(root, p.task) || !(p.branch ?? '').startsWith(`guild/${p.task}-`))
    .map((p) => `${p.task} by ${p.agent}: cwd ${p.cwd}, checkout ${p.toplevel}, branch ${p.branch}`);
  const mainCommits: string[] = [];
  for (const commit of gitSync(repo.dir, ['rev-list', `${start}..main`]).split('\n').filter(Boolean)) {
    const files = gitSync(repo.dir, ['diff-tree', '--no-commit-id', '--name-only', '-r', commit]).split('\n').filter(Boolean);
    const foreign = files.filter((file) => file !== 'ACTIVE_TASKS.md' && !file.startsWith('.guild/'));
    if (foreign.length > 0) mainCommits.push(`${commit.slice(0, 10)}: ${foreign.join(', ')}`);
  }
  const completions: Record<string, number> = {};
  const history = new Map<string, string[]>();
  for (const line of readFileSync(repo.log, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const event = JSON.parse(line) as { type: string; task?: string; agent: string; data?: { by?: string; status?: string; from?: { status?: string } } };
    if (!event.task) continue;
    if (event.type === 'task.completed') completions[event.task] = (completions[event.task] ?? 0) + 1;
    const how = event.type === 'task.edited' ? `${event.data?.from?.status}->${event.data?.status}` : '';
    history.set(event.task, [...(history.get(event.task) ?? []), `${event.type}${how ? ` ${how}` : ''} (${event.data?.by ?? event.agent})`]);
  }
  const board = readFileSync(repo.board, 'utf8');
  const done = [...board.matchAll(/^- \[x\] (GLD-\d+) /gm)].map((m) => m[1]!);
  const doneWithoutWork = done.filter((id) => {
    const branch = gitSync(repo.dir, ['for-each-ref', '--format=%(refname:short)', `refs/heads/guild/${id}-*`]).split('\n')[0];
    return !branch || spawnSync('git', ['cat-file', '-e', `${branch}:${id}.txt`], { cwd: repo.dir }).status !== 0;
  });
  const pids = existsSync(state) ? readdirSync(state).filter((name) => name.endsWith('.pid')).map((name) => Number(readFileSync(join(state, name), 'utf8'))) : [];
  return {
    seed: options.seed,
    dir: repo.dir,
    places,
    outside,
    mainCommits,
    completions,
    // With the events of the task, so that a report says how the second completion came about.
    twice: Object.entries(completions).filter(([, n]) => n > 1).map(([id, n]) => `${id} x${n}: ${history.get(id)!.join(', ')}`),
    doneWithoutWork,
    doneTasks: done.length,
    leftAlive: pids.filter((pid) => alive(pid)),
  };
}

export function formatRunnerStorm(r: RunnerStormReport): string {
  const p = r.person;
  return [
    `runner storm seed ${r.seed}: ${r.places.length} agent starts, ${r.doneTasks} Done, runs ${JSON.stringify(r.runs.map((x) => x.code))}${r.killed ? ' (first SIGKILLed, then heal)' : ''}${r.ownerlessWaits.length ? `, waited ${r.ownerlessWaits.join(', ')} ms for ownerless locks to reach heal's grace` : ''}, ${(r.runMs / 1000).toFixed(1)} s, ${r.commits} committer commits (${r.dir})`,
    p ? `person: ${p.saves} saves, lost ${r.check.lostNotes.length}${r.check.lostNotes.length ? ` [${r.check.lostNotes.slice(0, 10).join(', ')}]` : ''}, failed saves ${p.failedSaves}` : 'person: none',
    `outside their worktree: ${r.outside.length}${r.outside.length ? ` [${r.outside.slice(0, 5).join('; ')}]` : ''}; agent commits on main: ${r.mainCommits.length}${r.mainCommits.length ? ` [${r.mainCommits.slice(0, 5).join('; ')}]` : ''}`,
    `completed twice: ${r.twice.length}${r.twice.length ? ` [${r.twice.join(', ')}]` : ''}; Done without the agent's file on its branch: ${r.doneWithoutWork.length}${r.doneWithoutWork.length ? ` [${r.doneWithoutWork.join(', ')}]` : ''}; agents left alive ${r.leftAlive.length}`,
    `replay --check exit ${r.check.replay.code}${r.check.replay.code ? ` (${r.check.replay.detail.slice(0, 400)})` : ''}, doctor exit ${r.check.doctor.code}${r.check.doctor.code ? ` (${r.check.doctor.detail.slice(0, 400)})` : ''}, front matter ${r.check.frontMatterIntact ? 'intact' : 'CHANGED'}, sentinels missing ${r.check.missingSentinels.length}`,
    ...r.runs.filter((x) => x.code !== 0).map((x) => `  a run exited ${x.code}: ${x.stderrTail.replace(/\n/g, ' / ').slice(0, 600)}`),
  ].join('\n');
}

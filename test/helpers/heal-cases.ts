// What heal-doctor-*.test.ts build by hand: what a process that died at one particular step
// leaves behind (a lock dir, an owner.json, an intent.json, a log line, a board line), real
// processes to bind claims to and to kill, and the CLI calls the cases check with.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { systemProbe } from '../../src/lock/liveness.js';
import type { LockOwner } from '../../src/lock/lock-owner.js';
import { newUlid } from '../../src/log/event.js';
import { cli, type CliResult } from './cli.js';
import type { ListedTask as TaskView } from './cli.js';
import { tempRepo, type TempRepo } from './repo.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

// --- processes -------------------------------------------------------------------------------

const live = new Set<ChildProcess>();

/** For after() hooks: no sleeper outlives its test file. */
export function killSleepers(): void {
  for (const child of live) child.kill('SIGKILL');
}

export interface Sleeper {
  pid: number;
  pidStart: string | null;
  /** SIGKILL, and wait until it is reaped: a zombie still answers kill(pid, 0). */
  kill(): Promise<void>;
}

/** A process that does nothing until killed: what `claim --pid` binds a claim to. */
export function startSleeper(): Sleeper {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  live.add(child);
  const exited = once(child, 'exit');
  const pid = child.pid!;
  return {
    pid,
    pidStart: systemProbe.startTime(pid),
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      live.delete(child);
    },
  };
}

/** The pid and start time of a process that has come and gone. */
export async function deadProcess(): Promise<{ pid: number; pidStart: string | null }> {
  const sleeper = startSleeper();
  await sleeper.kill();
  return { pid: sleeper.pid, pidStart: sleeper.pidStart };
}

// --- repos, boards, locks, log ---------------------------------------------------------------

export function board(options: { ttl?: string; maxTries?: number; ready?: string[]; inProgress?: string[]; done?: string[] }): string {
  return [
    '---',
    'guild: 1',
    'prefix: GLD',
    `lock_ttl: ${options.ttl ?? '1h'}`,
    `max_tries: ${options.maxTries ?? 3}`,
    'retry_base: 5m',
    '---',
    '# Active Tasks',
    '',
    '## Ready',
    ...(options.ready ?? []),
    '',
    '## In Progress',
    ...(options.inProgress ?? []),
    '',
    '## Done',
    ...(options.done ?? []),
    '',
    '## Failed',
    '',
  ].join('\n');
}

/** A temp repo removed after the test: `init --example`, or `init` around a board of our own. */
export function repoFor(t: TestContext, text?: string): TempRepo {
  const repo = tempRepo(text);
  t.after(() => repo.remove());
  const init = cli(text === undefined ? ['init', '--example'] : ['init'], { cwd: repo.dir });
  assert.equal(init.code, 0, init.stderr);
  return repo;
}

export const locksDir = (repo: TempRepo): string => join(repo.dir, '.git', 'guild', 'locks');
export const lockDir = (repo: TempRepo, id: string): string => join(locksDir(repo), `${id}.lock`);
export const mutexDir = (repo: TempRepo): string => join(repo.dir, '.git', 'guild', 'board.lock');
export const readOwner = (repo: TempRepo, id: string): LockOwner => JSON.parse(readFileSync(join(lockDir(repo, id), 'owner.json'), 'utf8')) as LockOwner;
export const writeOwner = (repo: TempRepo, id: string, owner: LockOwner): void => writeFileSync(join(lockDir(repo, id), 'owner.json'), JSON.stringify(owner));

/** An owner.json as a `guild-fs claim` writes it, with the claim's maker and event id given. */
export function ownerRecord(task: string, agent: string, maker: { pid: number; pidStart: string | null }, claimEvent: string): LockOwner {
  const now = new Date().toISOString();
  return {
    task,
    agent,
    host: systemProbe.host,
    bootId: systemProbe.bootId,
    pid: null,
    pidStart: null,
    claimPid: maker.pid,
    claimPidStart: maker.pidStart,
    claimEvent,
    acquired: now,
    heartbeat: now,
    token: 'feedfacefeedfacefeedface',
  };
}

/** A lock directory made by hand, as a claim that got no further than its lock leaves it. */
export function makeLock(repo: TempRepo, owner: LockOwner): void {
  mkdirSync(lockDir(repo, owner.task), { recursive: true });
  writeOwner(repo, owner.task, owner);
}

export type Event = { v: 1; id: string; ts: string; type: string; task: string; agent: string; host: string; data: Record<string, unknown> };

export function event(type: string, task: string, agent: string, data: Record<string, unknown> = {}, id = newUlid()): Event {
  return { v: 1, id, ts: new Date().toISOString(), type, task, agent, host: systemProbe.host, data };
}

export function appendLog(repo: TempRepo, ...events: Event[]): void {
  appendFileSync(repo.log, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
}

/** Where finish-task.ts records a finish's intent: beside the locks, tied to the lock by its token. */
export function intentPath(repo: TempRepo, task: string): string {
  return join(repo.dir, '.git', 'guild', 'locks', '.intents', `${task}.json`);
}

/** What finish-task.ts writes just before it appends its events. */
export function writeIntent(repo: TempRepo, task: string, writer: { pid: number; pidStart: string | null }, payload: { op: string; task: string; agent: string; change: unknown; events: Event[] }): void {
  const token = readOwner(repo, task).token;
  const intent = { task, token, writer: { host: systemProbe.host, bootId: systemProbe.bootId, pid: writer.pid, pidStart: writer.pidStart }, ts: new Date().toISOString(), payload };
  mkdirSync(dirname(intentPath(repo, task)), { recursive: true });
  writeFileSync(intentPath(repo, task), JSON.stringify(intent));
}

/** Sets a path's mtime `seconds` into the past. */
export function age(path: string, seconds: number): void {
  const then = new Date(Date.now() - seconds * 1000);
  utimesSync(path, then, then);
}

// --- the CLI ---------------------------------------------------------------------------------

export function tasks(repo: TempRepo): Map<string, TaskView> {
  const list = cli(['list', '--json'], { cwd: repo.dir });
  assert.equal(list.code, 0, `list: ${list.stderr}`);
  return new Map((list.json!.result.tasks as TaskView[]).map((task) => [task.id, task]));
}

export const task = (repo: TempRepo, id: string): TaskView => tasks(repo).get(id)!;

export interface DoctorCheck {
  name: string;
  ok: boolean;
  problems: { task?: string; message: string }[];
  warnings: string[];
}

/** `doctor --json`: the exit code and every check, whether it passed or not. */
export function doctor(repo: TempRepo): { code: number; checks: DoctorCheck[]; problems: string[]; result: CliResult } {
  const result = cli(['doctor', '--json'], { cwd: repo.dir });
  const json = result.json!;
  const checks = (json.ok ? json.result.checks : json.error!.data.checks) as DoctorCheck[];
  return { code: result.code, checks, problems: checks.flatMap((check) => check.problems.map((problem) => `${check.name}: ${problem.message}`)), result };
}

export interface HealResult {
  actions: { task: string; action: string; reason: string; agent: string | null }[];
  busy: string[];
  swept: string[];
  locks: number;
}

export function heal(repo: TempRepo): HealResult {
  const result = cli(['heal', '--json'], { cwd: repo.dir });
  assert.equal(result.code, 0, `heal: ${result.stdout} ${result.stderr}`);
  return result.json!.result as HealResult;
}

export function claim(repo: TempRepo, id: string, agent: string, pid?: number): LockOwner {
  const result = cli(['claim', id, '--json', ...(pid === undefined ? [] : ['--pid', String(pid)])], { cwd: repo.dir, agent });
  assert.equal(result.code, 0, `claim ${id}: ${result.stdout} ${result.stderr}`);
  return readOwner(repo, id);
}

export function assertDoctorOk(repo: TempRepo, why: string): void {
  const report = doctor(repo);
  assert.deepEqual(report.problems, [], `doctor after ${why}`);
  assert.equal(report.code, 0);
}

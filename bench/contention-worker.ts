// One of the contending processes of bench/crash-safety.ts (figure 6):
//   node --import tsx bench/contention-worker.ts '<json WorkerConfig>'
// Prints `ready` once loaded, then runs one timed round per line read on stdin (a RoundCommand)
// and answers each with one line of JSON (a RoundResult). Exits when stdin ends.
//
// A round: wait for the shared start time (the barrier), then until the end time, over and over:
// take the next of the shared task IDs (each worker starts at its own offset and goes round
// them), try to lock it; when that succeeds, create the task's witness file with O_EXCL
// (open 'wx'), close it, unlink it, and release the lock. The witness is the critical section:
// if it already exists, another worker holds the same task at the same time (a violation).
import { closeSync, mkdirSync, openSync, rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { MkdirTaskLocks } from '../src/lock/task-locks.js';

export type ContentionVariant = 'guild' | 'raw';

export interface WorkerConfig {
  /** Index of this worker, 0-based: where in `tasks` it starts. */
  index: number;
  agent: string;
  tasks: string[];
  /** One locks directory per variant. */
  locksDirs: Record<ContentionVariant, string>;
  /** One witness directory per variant. */
  witnessDirs: Record<ContentionVariant, string>;
}

export interface RoundCommand {
  variant: ContentionVariant;
  /** Date.now() values: every worker starts at startAt and stops at its first check after endAt. */
  startAt: number;
  endAt: number;
}

export interface RoundResult {
  index: number;
  variant: ContentionVariant;
  /** Lock attempts made, successful or not. */
  attempts: number;
  /** Successful acquisitions, each followed by one release. */
  acquired: number;
  /** Witness files found already there right after an acquisition: two holders at once. */
  violations: number;
  /** Releases that did not say 'released' (MkdirTaskLocks) or rmdir calls that threw (raw). */
  releaseFailures: number;
  /** When this worker really began and stopped (Date.now()), and how late it began. */
  began: number;
  stopped: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
const locks = new MkdirTaskLocks(config.locksDirs.guild);
const rawPaths = config.tasks.map((task) => join(config.locksDirs.raw, `${task}.lock`));
const witnesses: Record<ContentionVariant, string[]> = {
  guild: config.tasks.map((task) => join(config.witnessDirs.guild, `${task}.witness`)),
  raw: config.tasks.map((task) => join(config.witnessDirs.raw, `${task}.witness`)),
};
for (const dir of [...Object.values(config.locksDirs), ...Object.values(config.witnessDirs)]) mkdirSync(dir, { recursive: true });

/** The critical section: true when this worker was alone in it, false on a violation. */
function witness(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  closeSync(fd);
  unlinkSync(path);
  return true;
}

function runRound(command: RoundCommand): RoundResult {
  const result: RoundResult = { index: config.index, variant: command.variant, attempts: 0, acquired: 0, violations: 0, releaseFailures: 0, began: 0, stopped: 0 };
  // The barrier: sleep most of the way, then spin, so that all eight start within a tick.
  const wait = command.startAt - Date.now() - 5;
  if (wait > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
  while (Date.now() < command.startAt);
  result.began = Date.now();
  const n = config.tasks.length;
  let i = config.index % n;
  const marks = witnesses[command.variant];
  if (command.variant === 'guild') {
    const request = { agent: config.agent, pid: process.pid };
    while (Date.now() < command.endAt) {
      const k = i++ % n;
      const task = config.tasks[k]!;
      result.attempts++;
      const got = locks.acquire(task, request);
      if (!got.ok) continue;
      result.acquired++;
      if (!witness(marks[k]!)) result.violations++;
      if (locks.release(task, got.owner.token) !== 'released') result.releaseFailures++;
    }
  } else {
    while (Date.now() < command.endAt) {
      const k = i++ % n;
      const path = rawPaths[k]!;
      result.attempts++;
      try {
        mkdirSync(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw error;
      }
      result.acquired++;
      if (!witness(marks[k]!)) result.violations++;
      try {
        rmdirSync(path);
      } catch {
        result.releaseFailures++;
      }
    }
  }
  result.stopped = Date.now();
  return result;
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (!line.trim()) return;
  const result = runRound(JSON.parse(line) as RoundCommand);
  process.stdout.write(`${JSON.stringify(result)}\n`);
});
lines.on('close', () => process.exit(0));
process.stdout.write('ready\n');

// The processes of the storm: every guild-fs command and helper runs as a real child process,
// tracked so that none outlives its storm.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const STORM_BIN = join(ROOT, 'bin', 'guild-fs.js');

export interface StormRepo {
  dir: string;
  board: string;
  log: string;
  remove(): void;
}

export interface RunOptions {
  /** Set GUILD_VERIFY_CACHE=1 in every child, as the test suite does (the bench does not). */
  verifyCache?: boolean;
}

export function childEnv(options: RunOptions, agent?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    // The trace of board writes (board-file.ts) is kept: it is how a storm's loss is looked into.
    if (key === 'NODE_OPTIONS' || key === 'NODE_V8_COVERAGE' || (key.startsWith('GUILD_') && key !== 'GUILD_TRACE_BOARD_WRITES')) continue;
    env[key] = value;
  }
  if (options.verifyCache) env.GUILD_VERIFY_CACHE = '1';
  if (agent !== undefined) env.GUILD_AGENT = agent;
  return env;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function guild(repo: StormRepo, args: string[], options: RunOptions = {}, agent?: string): Run {
  const run = spawnSync(process.execPath, [STORM_BIN, ...args], { cwd: repo.dir, env: childEnv(options, agent), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.error) throw run.error;
  return { code: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

const live = new Set<ChildProcess>();

/** For after() hooks and error paths: no person, agent command or daemon outlives its storm. */
export function killStormProcesses(): void {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  live.clear();
}

export function spawnTracked(args: string[], cwd: string, env: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      live.delete(child);
      resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr });
    });
  });
  return { child, done };
}

export function guildAsync(repo: StormRepo, args: string[], options: RunOptions, agent: string): Promise<Run> {
  return spawnTracked([STORM_BIN, ...args], repo.dir, childEnv(options, agent)).done;
}


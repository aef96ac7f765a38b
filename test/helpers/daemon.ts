// Real `guild-fs watch` processes for the daemon tests, and polling of disk state with generous
// timeouts (never a timed assertion: a slow, shared machine only makes a test wait longer).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { BIN } from './cli.js';
import type { TempRepo } from './repo.js';

const live = new Set<ChildProcess>();

/** For after() hooks: no daemon outlives its test file, even when a test fails. */
export function killAllDaemons(): void {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  live.clear();
}

export interface RunningDaemon {
  pid: number;
  stderr(): string;
  stdout(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnDaemon(repo: TempRepo, args: string[] = []): RunningDaemon {
  const env: NodeJS.ProcessEnv = { ...process.env, GUILD_VERIFY_CACHE: '1' };
  delete env.GUILD_AGENT;
  // A short heal interval unless the test names one: tests wait for heals, never for 30 s.
  const heal = args.includes('--heal-every') ? [] : ['--heal-every', '1s'];
  const child = spawn(process.execPath, [BIN, 'watch', ...heal, ...args], { cwd: repo.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let stderr = '';
  let stdout = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const exited = once(child, 'close').then(([code, signal]) => {
    live.delete(child);
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });
  return {
    pid: child.pid!,
    stderr: () => stderr,
    stdout: () => stdout,
    exited,
    kill: (signal) => {
      child.kill(signal);
      return exited;
    },
  };
}

/** A daemon that has started watching (its stderr says so). */
export async function startDaemon(repo: TempRepo, args: string[] = []): Promise<RunningDaemon> {
  const daemon = spawnDaemon(repo, args);
  await waitFor('the daemon to start watching', () => daemon.stderr().includes(' watching ') || undefined, 15_000, () => daemon.stderr());
  return daemon;
}

/** Polls `check` until it returns something other than undefined/false; fails after timeoutMs. */
export async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 15_000, explain?: () => string, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}${explain ? `\n${explain()}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

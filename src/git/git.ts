// Every git command guild-fs runs goes through here. What this runner promises:
// - git runs as an argv array, never through a shell (node's execFile: measured here, execa
//   costs ~100 ms to load and ~3 ms more per spawn than execFile, which would double the time
//   of `conflicts` and more than double a claim's worktree on a small repository; execa stays
//   for the board's own commands, verify and worktree_setup, in workspace/board-command.ts);
// - the user's hooks run as they always do: guild-fs never sets core.hooksPath, never passes
//   --no-verify, never disables a hook;
// - read-only commands (status, rev-list) set GIT_OPTIONAL_LOCKS=0, so that looking at a
//   worktree never takes its index.lock away from the agent working in it;
// - a command that found another process's `.lock` (index.lock, HEAD.lock, a ref's lock), or a
//   worktree another process is still making, is retried with a growing, jittered backoff: git
//   itself fails at once in that case, and with many agents in one clone the contention is
//   normal, not an error.
import { execFile } from 'node:child_process';
import { GitError } from '../errors.js';

export interface GitOptions {
  cwd: string;
  /** A command that only looks: GIT_OPTIONAL_LOCKS=0. */
  readOnly?: boolean;
  /** Exit codes that are answers, not failures (merge-tree's 1: conflicts). Default [0]. */
  ok?: readonly number[];
  /** How many times to retry on lock contention (default 8, about 5 s in all). */
  retries?: number;
  /**
   * A command that talks to a remote: killed past this, and answered as git answers a remote it
   * cannot reach (exit 128, a `fatal: ... timed out` line), so that every caller's judgement of
   * an unreachable remote covers a silent one too.
   */
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * What git prints when another git process is half-way through something: it holds one of its
 * lock files, or it is making a worktree whose administrative files (.git/worktrees/<name>/
 * commondir, gitdir) are not all written yet, which `git worktree list` run at that moment
 * reads as an error (seen with 8 claims at once), or the `locked` file `worktree add` writes while
 * it works and removes after (seen by `worktree list` with 4 runner workers claiming at once).
 */
const LOCK_CONTENTION = /Unable to create '[^']*\.lock': File exists|cannot lock ref|unable to lock|could not lock config file|\.lock': File exists|failed to read [^\n]*worktrees\/[^\n]*\/(commondir|gitdir|HEAD|locked)/i;

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  spawnError: string | null;
}

/**
 * Variables that point git at a repository or index other than the one `cwd` is in. A hook (a
 * pre-commit running `guild-fs complete`, say) sets them for its own git; guild-fs names its
 * worktree by `cwd` and must not act on the hook's index instead.
 */
export const REPOSITORY_VARIABLES = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_COMMON_DIR', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_NAMESPACE', 'GIT_PREFIX'];

export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const key of REPOSITORY_VARIABLES) delete env[key];
  return env;
}

function runGit(args: readonly string[], cwd: string, env: Record<string, string>, timeoutMs?: number): Promise<Ran> {
  return new Promise((resolve) => {
    const options = { cwd, env: cleanEnv(env), encoding: 'utf8' as const, maxBuffer: 256 * 1024 * 1024, windowsHide: true, timeout: timeoutMs ?? 0, killSignal: 'SIGKILL' as const };
    const child = execFile('git', args, options, (error, stdout, stderr) => {
      if (error && (error as { killed?: boolean }).killed && timeoutMs !== undefined) {
        resolve({ code: 128, stdout, stderr: `${stderr}fatal: ${timedOutReason(timeoutMs)}\n`, spawnError: null });
        return;
      }
      const code = error ? (typeof (error as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? ((error as unknown as { code: number }).code) : -1) : 0;
      const spawnError = error && typeof (error as NodeJS.ErrnoException).code === 'string' ? error.message : null;
      resolve({ code, stdout, stderr, spawnError });
    });
    // git never reads stdin for what guild-fs asks; a closed stdin makes sure it never waits.
    child.stdin?.end();
  });
}

/** Every git guild-fs runs: messages in English (they are read), and never a prompt for a password or an editor (it runs unattended). */
export const UNATTENDED_GIT: Readonly<Record<string, string>> = { LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0', GIT_EDITOR: 'true' };

/** What a remote call that outlived its timeout answers: git's own words for a remote it cannot reach. */
export function timedOutReason(timeoutMs: number): string {
  return `timed out after ${timeoutMs / 1000} s with no answer`;
}

export async function git(args: readonly string[], options: GitOptions): Promise<GitResult> {
  const env: Record<string, string> = { ...UNATTENDED_GIT };
  if (options.readOnly) env.GIT_OPTIONAL_LOCKS = '0';
  const retries = options.retries ?? 8;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const ok = options.ok ?? [0];
  for (let attempt = 0; ; attempt++) {
    const result = await runGit(args, options.cwd, env, options.timeoutMs);
    if (result.spawnError !== null) throw new GitError(`could not run git: ${result.spawnError}`, { args: [...args] });
    const code = result.code;
    if (ok.includes(code)) return { code, stdout: result.stdout, stderr: result.stderr };
    if (attempt < retries && LOCK_CONTENTION.test(result.stderr)) {
      // 20 ms doubling to ~1.3 s, with jitter so that waiting processes do not retry in step.
      await sleep(Math.min(20 * 2 ** attempt, 1280) * (0.5 + random()));
      continue;
    }
    // git's own reason is its fatal:/error: line; hints follow it.
    const lines = result.stderr.trim().split('\n');
    const what = lines.find((line) => /^(fatal|error):/.test(line)) ?? (lines.at(-1) || `exit ${code}`);
    throw new GitError(`git ${args.join(' ')} failed: ${what}`, { args: [...args], exitCode: code, stderr: result.stderr.trim() });
  }
}

/** stdout without its final newline. */
export async function gitLine(args: readonly string[], options: GitOptions): Promise<string> {
  return (await git(args, options)).stdout.replace(/\n$/, '');
}

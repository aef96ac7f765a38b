// The one module that imports execa. It is built into a bundle of its own (scripts/build.mjs)
// and loaded only when guild-fs runs git or a board command, so `claim --no-worktree`, `ready`
// and `list` never pay for parsing it. It must not import guild-fs's error classes: a second
// bundle would have copies of them, and the CLI's `instanceof GuildError` would not know them.
import { execa } from 'execa';
import { signalGroup } from './process-group.js';

export interface ProcessResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as they came, for messages. */
  all: string;
  /** Set when the program could not be started at all (not found, not executable). */
  spawnError: string | null;
}

export interface ProcessOptions {
  cwd: string;
  /** The whole environment of the process (not added to this one's). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /**
   * Stops the process when aborted: it then runs in a process group of its own, and the whole
   * group gets SIGTERM, then SIGKILL after `graceMs` (a verify's `npm test` and everything it
   * started, not only npm).
   */
  signal?: AbortSignal;
  graceMs?: number;
}

/**
 * Runs `file` with `args` as an argv array: never through a shell, so nothing in the arguments
 * (which may come from the board) is ever interpreted as shell syntax.
 */
export async function runProcess(file: string, args: readonly string[], options: ProcessOptions): Promise<ProcessResult> {
  const subprocess = execa(file, args, {
    detached: options.signal !== undefined,
    cwd: options.cwd,
    env: options.env,
    extendEnv: options.env === undefined,
    shell: false,
    reject: false,
    stdin: 'ignore',
    stripFinalNewline: false,
    maxBuffer: 64 * 1024 * 1024,
    timeout: options.timeoutMs,
    all: true,
    encoding: 'utf8',
  });
  const stop = (): void => {
    signalGroup(subprocess.pid, 'SIGTERM');
    setTimeout(() => signalGroup(subprocess.pid, 'SIGKILL'), options.graceMs ?? 5_000).unref();
  };
  if (options.signal?.aborted) stop();
  options.signal?.addEventListener('abort', stop, { once: true });
  const result = await subprocess;
  options.signal?.removeEventListener('abort', stop);
  const spawnError = result.exitCode === undefined && result.signal === undefined && !result.timedOut ? (result.originalMessage ?? result.shortMessage ?? 'could not start') : null;
  return {
    exitCode: result.exitCode ?? null,
    signal: result.signal ?? null,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    all: String(result.all ?? ''),
    spawnError,
  };
}

// Running a command the board names (`verify`, `worktree_setup`). The board is untrusted: its
// command line was split into argv by src/command-line.ts and runs without a shell, in the
// task's worktree, so nothing in it is ever interpreted as shell syntax.
import { cleanEnv } from '../git/git.js';

export interface CommandRun {
  argv: string[];
  ok: boolean;
  exitCode: number | null;
  signal: string | null;
  /** The last lines of its output (stdout and stderr as they came), for the message. */
  tail: string;
  ms: number;
}

export async function runBoardCommand(argv: readonly string[], cwd: string, now: () => number = Date.now, signal?: AbortSignal): Promise<CommandRun> {
  const { runProcess } = await import('../git/run-process.js');
  const started = now();
  // Without the variables of a git hook that may have started guild-fs: `npm test` in the
  // worktree must see the worktree's repository, not the hook's.
  const result = await runProcess(argv[0]!, argv.slice(1), { cwd, env: cleanEnv(), signal });
  const output = result.spawnError ?? result.all;
  const tail = output.trimEnd().split('\n').slice(-20).join('\n');
  return { argv: [...argv], ok: result.exitCode === 0, exitCode: result.exitCode, signal: result.signal, tail, ms: now() - started };
}

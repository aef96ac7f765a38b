// What the benchmarks' child processes run with: this process's environment minus anything that
// would change what node does at start (NODE_OPTIONS, coverage) or what guild-fs does (GUILD_*),
// and a git identity, so that commits work on a machine without one.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function benchEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GUILD_') && key !== 'NODE_OPTIONS' && key !== 'NODE_V8_COVERAGE') out[key] = value;
  return { ...out, ...extra, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'b@b' };
}

/** Runs a command to its end; its stdout, or an error naming its exit and stderr when that is not in `ok`. */
export function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, ok: number[] = [0]): string {
  const run = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 256 << 20 });
  if (!ok.includes(run.status ?? -1)) throw new Error(`${cmd} ${args.join(' ')} exited ${run.status}: ${run.stderr}`);
  return run.stdout;
}

/** sh's wall time in ms. */
export function timed(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, ok: number[] = [0]): number {
  const start = process.hrtime.bigint();
  sh(cmd, args, cwd, env, ok);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * A fresh repository at `dir` (what was there removed, with its worktree folder): a board of
 * `tasks` Ready tasks GLD-1..N, `front` added to its front matter, `files` written beside it,
 * guild-fs's `init` run, everything committed. The repository the runner's figures drive.
 */
export function readyBoardRepo(dir: string, request: { bin: string; tasks: number; front?: string[]; files?: Record<string, string>; env?: NodeJS.ProcessEnv }): void {
  const env = request.env ?? benchEnv();
  rmSync(dir, { recursive: true, force: true });
  rmSync(`${dir}.worktrees`, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  sh('git', ['init', '-q', '-b', 'main', dir], dir, env);
  const tasks = Array.from({ length: request.tasks }, (_, i) => `- [ ] GLD-${i + 1} Task ${i + 1}`);
  const board = ['---', 'guild: 1', 'prefix: GLD', ...(request.front ?? []), '---', '# Active Tasks', '', '## Ready', ...tasks, '', '## In Progress', '', '## Done', '', '## Failed', ''];
  writeFileSync(join(dir, 'ACTIVE_TASKS.md'), board.join('\n'));
  for (const [path, text] of Object.entries(request.files ?? {})) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  sh(process.execPath, [request.bin, 'init'], dir, env);
  sh('git', ['add', '-A'], dir, env);
  sh('git', ['commit', '-q', '-m', 'start'], dir, env);
}

/** What every figure's bench takes from bench/run.ts (or its own standalone entry). */
export interface BenchOptions {
  quick: boolean;
  tmpRoot: string;
  log: (message: string) => void;
  /** bin/guild-fs.js, run with this node. */
  bin: string;
}

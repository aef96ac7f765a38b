// Temp repositories with a first commit, for the worktree tests: a worktree needs a commit to
// start its branch from.
import { execFileSync } from 'node:child_process';
import { cli } from './cli.js';
import { tempRepo, type TempRepo } from './repo.js';

/** An identity for commits, so that tests never depend on the machine's git config. */
export const GIT_ENV: NodeJS.ProcessEnv = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: GIT_ENV }).trimEnd();
}

/** A `git init -b main` repo holding `board` (and `files`), all committed on main. */
export function committedRepo(board: string, files: Record<string, string> = {}): TempRepo {
  const repo = tempRepo(board);
  for (const [name, text] of Object.entries(files)) repo.write(text, name);
  // The tasks typed into the board get their task.created events, so that replay --check agrees.
  const synced = cli(['sync'], { cwd: repo.dir });
  if (synced.code !== 0) throw new Error(`sync: ${synced.stderr}`);
  git(repo.dir, 'config', 'user.name', 't');
  git(repo.dir, 'config', 'user.email', 't@t');
  git(repo.dir, 'add', '-A');
  git(repo.dir, 'commit', '-q', '-m', 'start');
  return repo;
}

/** A board with the given front matter lines and Ready tasks. */
export function boardWith(front: string[], ready: string[]): string {
  return ['---', 'guild: 1', 'prefix: GLD', ...front, '---', '# Active Tasks', '', '## Ready', ...ready, '', '## In Progress', '', '## Done', '', '## Failed', ''].join('\n');
}

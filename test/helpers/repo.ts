// Temp git repositories for tests: made per test, removed after.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempRepo {
  dir: string;
  board: string;
  log: string;
  read(file?: string): string;
  write(text: string, file?: string): void;
  remove(): void;
}

/** A fresh `git init -b main` repository, optionally with a board written into it. */
export function tempRepo(board?: string): TempRepo {
  const dir = mkdtempSync(join(tmpdir(), 'guild-fs-test-'));
  execFileSync('git', ['init', '-q', '-b', 'main', dir], { stdio: 'ignore' });
  const repo = repoAt(dir);
  if (board !== undefined) repo.write(board);
  return repo;
}

/** A TempRepo for a repository that is already there (a clone, say). */
export function repoAt(dir: string): TempRepo {
  return {
    dir,
    board: join(dir, 'ACTIVE_TASKS.md'),
    log: join(dir, '.guild', 'audit.jsonl'),
    read: (file = 'ACTIVE_TASKS.md') => readFileSync(join(dir, file), 'utf8'),
    write: (text, file = 'ACTIVE_TASKS.md') => writeFileSync(join(dir, file), text),
    remove: () => removeRepoDir(dir),
  };
}

/** Where guild-fs makes task `id`'s worktree by default: `<clone>.worktrees/<id>`, beside the clone. */
export function worktreePath(repo: { dir: string }, id: string): string {
  return join(`${repo.dir}.worktrees`, id);
}

/** The repository and the worktree folder guild-fs makes beside it. */
export function removeRepoDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  rmSync(`${dir}.worktrees`, { recursive: true, force: true });
}

export interface LogLine {
  raw: string;
  /** null for a line that does not parse (a torn line). */
  event: Record<string, any> | null;
}

/** Every non-empty line of the repo's audit log, parsed where it parses. */
export function readLogLines(repo: TempRepo): LogLine[] {
  let text: string;
  try {
    text = repo.read('.guild/audit.jsonl');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((raw) => raw.trim() !== '')
    .map((raw) => {
      try {
        return { raw, event: JSON.parse(raw) as Record<string, any> };
      } catch {
        return { raw, event: null };
      }
    });
}

/** The events in the repo's audit log; a line that does not parse is an error. */
export function readLog(repo: TempRepo): Record<string, unknown>[] {
  return readLogLines(repo).map(({ raw, event }) => {
    if (event === null) throw new Error(`not an event: ${raw}`);
    return event;
  });
}

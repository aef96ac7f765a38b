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
  const repo: TempRepo = {
    dir,
    board: join(dir, 'ACTIVE_TASKS.md'),
    log: join(dir, '.guild', 'audit.jsonl'),
    read: (file = 'ACTIVE_TASKS.md') => readFileSync(join(dir, file), 'utf8'),
    write: (text, file = 'ACTIVE_TASKS.md') => writeFileSync(join(dir, file), text),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
  if (board !== undefined) repo.write(board);
  return repo;
}

/** The events in the repo's audit log. */
export function readLog(repo: TempRepo): Record<string, unknown>[] {
  let text: string;
  try {
    text = repo.read('.guild/audit.jsonl');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

// Which branch a linked worktree has checked out, read from the files git keeps for it
// (<worktree>/.git -> <common-dir>/worktrees/<name>/HEAD), without starting a git process: a
// claim asks it once per task, and the runner again just before it starts the agent.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** The short branch name (refs/heads/ stripped), or null: detached, not a linked worktree, unreadable. */
export function checkedOutBranch(worktree: string): string | null {
  try {
    const gitFile = readFileSync(resolve(worktree, '.git'), 'utf8');
    const admin = /^gitdir:\s*(.+?)\s*$/m.exec(gitFile)?.[1];
    if (!admin) return null;
    const head = readFileSync(resolve(worktree, admin, 'HEAD'), 'utf8').trim();
    const ref = /^ref: refs\/heads\/(.+)$/.exec(head)?.[1];
    return ref ?? null;
  } catch {
    return null;
  }
}

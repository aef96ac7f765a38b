// What holds the daemon's reactions back: git at work in the main worktree (a reaction then would
// judge files git is about to replace; an append would make git refuse to go on), or a log behind
// what guild-fs last appended (git rewound the working tree, and will most likely bring it back).
import { statSync } from 'node:fs';
import { gitOperationUnderWay } from '../git/git-busy.js';
import { logBehindMark } from '../log/log-mark.js';
import type { Guild } from '../tasks/guild.js';

export type Hold = { kind: 'git'; sign: string } | { kind: 'behind'; reason: string };

export class GitHold {
  /** The last "behind" verdict and the log and mark it was made on: proving it again reads the whole log. */
  private behind: { key: string; reason: string } | null = null;

  constructor(private readonly guild: Guild) {}

  /** What holds reactions now, or null. */
  now(): Hold | null {
    const sign = gitOperationUnderWay(this.guild.repo);
    if (sign !== null) return { kind: 'git', sign };
    const reason = this.logBehind();
    return reason === null ? null : { kind: 'behind', reason };
  }

  /** A "behind" verdict is reused until the log or the mark changes (a stat of each). */
  private logBehind(): string | null {
    const key = [this.guild.logPath, this.guild.logMarkPath]
      .map((path) => {
        const stat = statSync(path, { throwIfNoEntry: false });
        return stat ? `${stat.ino}:${stat.size}:${stat.mtimeMs}` : '-';
      })
      .join('|');
    if (this.behind?.key === key) return this.behind.reason;
    const verdict = logBehindMark(this.guild.logPath, this.guild.logMarkPath);
    this.behind = verdict.behind ? { key, reason: verdict.reason ?? 'the log is behind its mark' } : null;
    return this.behind?.reason ?? null;
  }
}

export function describeHold(hold: Hold): string {
  return hold.kind === 'git' ? `a git operation is under way (${hold.sign})` : `the log is behind what guild-fs wrote (${hold.reason})`;
}

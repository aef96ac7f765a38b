// Clones of one bare repository on a test git server (helpers/git-server.ts): the setting of
// every test of the remote (SPEC section 7). Each clone is a TempRepo with a git identity of its
// own, as a container's clone would be given; all are removed by `removeAll()`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, type CliResult } from './cli.js';
import { boardWith } from './git-repo.js';
import type { GitServer } from './git-server.js';
import { repoAt, type TempRepo } from './repo.js';

export const IDENTITY = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...IDENTITY } }).trimEnd();
}

export function must(result: CliResult, what: string): CliResult {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\n${result.stderr}${result.stdout}`);
  return result;
}


export interface SeedOptions {
  /** How many Ready tasks, GLD-1..n (default 4). */
  tasks?: number;
  /** Front matter lines besides `remote: origin`. */
  front?: string[];
  /** Task lines after GLD-1..n, as written. */
  extraTasks?: string[];
}

export class Clones {
  private made = 0;
  private dirs: string[] = [];

  constructor(readonly server: GitServer) {}

  /** A clone of `url`, with its own identity in its config. */
  clone(url: string): TempRepo {
    const parent = mkdtempSync(join(tmpdir(), 'guild-clone-'));
    this.dirs.push(parent);
    const dir = join(parent, 'clone');
    git(parent, 'clone', '-q', url, dir);
    git(dir, 'config', 'user.name', 't');
    git(dir, 'config', 'user.email', 't@t');
    return repoAt(dir);
  }

  /**
   * A bare repository on the server, seeded from a clone holding a board with `remote: origin`
   * (tasks GLD-1..n Ready), `guild-fs init` run and everything pushed. Returns its URL.
   */
  seeded(transport: 'git' | 'file', options: SeedOptions = {}): string {
    const name = `guild-${process.pid}-${this.made++}.git`;
    this.server.bare(name);
    this.dirs.push(join(this.server.root, name));
    const url = transport === 'git' ? this.server.url(name) : this.server.fileUrl(name);
    const seed = this.clone(url);
    const tasks = options.tasks ?? 4;
    seed.write(boardWith(['remote: origin', ...(options.front ?? [])], [...Array.from({ length: tasks }, (_, i) => `- [ ] GLD-${i + 1} task ${i + 1}`), ...(options.extraTasks ?? [])]));
    must(cli(['init'], { cwd: seed.dir }), 'init');
    must(cli(['sync'], { cwd: seed.dir }), 'sync');
    git(seed.dir, 'add', '-A');
    git(seed.dir, 'commit', '-q', '-m', 'seed');
    git(seed.dir, 'push', '-q', 'origin', 'main');
    return url;
  }

  /** Removes `dir` too, with the clones. */
  track(dir: string): void {
    this.dirs.push(dir);
  }

  removeAll(): void {
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
    this.dirs = [];
  }
}

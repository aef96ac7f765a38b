// Issue 13's figures: claims through the git remote, against a real `git daemon` on 127.0.0.1.
//   15a. `claim <ID>` with `remote:` vs (a) a bare `git push` of one new ref to the same server
//        plus (b) the same claim on a board without a remote. Goal: at most 1.3x (a) + (b).
//   15b. `ready --json` with `remote:` vs a bare `git ls-remote` of the claim refs plus `ready
//        --json` without a remote. Goal: at most 1.3x the sum.
// Subject and baselines are interleaved, rotating their order, in the same run.
// Run alone: `npm run build && tsx bench/remote.ts [--quick]`.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGitServer } from '../test/helpers/git-server.js';
import { benchEnv, sh as shWith, timed as timedWith, type BenchOptions } from './child-process.js';
import type { FigureRow } from './crash-safety.js';
import { median, pairedRatios, rotation } from './stats.js';
import { isMain, runStandalone } from './standalone.js';


const ENV = benchEnv({ GUILD_AGENT: 'bench' });
const sh = (cmd: string, args: string[], cwd: string, ok?: number[]): string => shWith(cmd, args, cwd, ENV, ok);
const timed = (cmd: string, args: string[], cwd: string, ok?: number[]): number => timedWith(cmd, args, cwd, ENV, ok);

/** A board of `tasks` Ready tasks (GLD-1..n), with `remote: origin` or without. */
function board(tasks: number, remote: boolean): string {
  return ['---', 'guild: 1', 'prefix: GLD', ...(remote ? ['remote: origin'] : []), '---', '# Active Tasks', '', '## Ready', ...Array.from({ length: tasks }, (_, i) => `- [ ] GLD-${i + 1} Task ${i + 1}`), '', '## In Progress', '', '## Done', ''].join('\n');
}

export async function remoteBench(options: BenchOptions): Promise<{ rows: FigureRow[]; method: string }> {
  const samples = options.quick ? 8 : 40;
  const tasks = samples + 10;
  const { bin } = options;
  const base = join(options.tmpRoot, 'remote');
  rmSync(base, { recursive: true, force: true });
  mkdirSync(base, { recursive: true });
  // The tests' git daemon (test/helpers/git-server.ts): the same server setup, measured here.
  const server = await startGitServer();
  server.bare('guild.git');
  try {
    const url = server.url('guild.git');
    // The clone with the remote: seeded, pushed, every claim against the server.
    const withRemote = join(base, 'with-remote');
    sh('git', ['clone', '-q', url, withRemote], base);
    writeFileSync(join(withRemote, 'ACTIVE_TASKS.md'), board(tasks, true));
    sh(process.execPath, [bin, 'init'], withRemote);
    sh('git', ['add', '-A'], withRemote);
    sh('git', ['commit', '-q', '-m', 'seed'], withRemote);
    sh('git', ['push', '-q', 'origin', 'main'], withRemote);
    // The same board without a remote, in a repository of its own.
    const local = join(base, 'local');
    sh('git', ['init', '-q', '-b', 'main', local], base);
    writeFileSync(join(local, 'ACTIVE_TASKS.md'), board(tasks, false));
    sh(process.execPath, [bin, 'init'], local);
    sh('git', ['add', '-A'], local);
    sh('git', ['commit', '-q', '-m', 'seed'], local);
    // One commit to push as the bare baseline's ref, made once: the push sends it each time, as a claim sends its own.
    const head = sh('git', ['rev-parse', 'HEAD'], withRemote).trim();

    const claimRemote: number[] = [];
    const claimLocal: number[] = [];
    const push: number[] = [];
    const readyRemote: number[] = [];
    const readyLocal: number[] = [];
    const lsRemote: number[] = [];
    const warmup = 2;
    options.log(`remote: ${samples} claims with and without a remote, bare pushes, ready and ls-remote, interleaved`);
    for (let i = 1; i <= samples + warmup; i++) {
      const id = `GLD-${i}`;
      const parts: [number[], () => number][] = [
        [claimRemote, () => timed(process.execPath, [bin, 'claim', id, '--no-worktree'], withRemote)],
        [claimLocal, () => timed(process.execPath, [bin, 'claim', id, '--no-worktree'], local)],
        [push, () => timed('git', ['push', '-q', '--force-with-lease=refs/bench/r' + i + ':', 'origin', `${head}:refs/bench/r${i}`], withRemote)],
        [readyRemote, () => timed(process.execPath, [bin, 'ready', '--json'], withRemote)],
        [readyLocal, () => timed(process.execPath, [bin, 'ready', '--json'], local)],
        [lsRemote, () => timed('git', ['ls-remote', '--refs', 'origin', 'refs/guild/claims/*'], withRemote)],
      ];
      for (const [into, measure] of rotation(parts, i)) {
        const ms = measure();
        if (i > warmup) into.push(ms);
      }
    }
    const sum = (a: number[], b: number[]): number[] => a.map((x, i) => x + b[i]!);
    const claimBase = sum(push, claimLocal);
    const readyBase = sum(lsRemote, readyLocal);
    const rows: FigureRow[] = [
      { figure: '15a. `claim <ID>` through a remote (git daemon on 127.0.0.1) vs a bare `git push` of one ref + a claim without a remote', unit: 'ms', subject: claimRemote, baseline: claimBase, paired: pairedRatios(claimRemote, claimBase), target: '<= 1.3x', met: median(claimRemote) / median(claimBase) <= 1.3, digits: 1 },
      { figure: '15b. `ready --json` with a remote vs a bare `git ls-remote` + `ready --json` without a remote', unit: 'ms', subject: readyRemote, baseline: readyBase, paired: pairedRatios(readyRemote, readyBase), target: '<= 1.3x', met: median(readyRemote) / median(readyBase) <= 1.3, digits: 1 },
    ];
    const method = `**15. Claims through the git remote.** A real \`git daemon --enable=receive-pack\` on 127.0.0.1 serves a bare repository; a clone of it holds a board of ${tasks} Ready tasks with \`remote: origin\` (seeded and pushed), and a separate repository holds the same board without a remote. Each of ${samples} rounds (after ${warmup} warm-up rounds) measures, in a rotating order: \`claim GLD-<i> --no-worktree\` in the clone (its lock, the create-only push of \`refs/guild/claims/GLD-<i>\`, the log, the board); the same claim in the repository without a remote (b); \`git push --force-with-lease=refs/bench/r<i>: origin <commit>:refs/bench/r<i>\`, a bare push of one new ref to the same server (a); \`ready --json\` in both; and \`git ls-remote --refs origin 'refs/guild/claims/*'\`. Wall time of each process; 15a's baseline is (a) + (b) of the same round, 15b's is ls-remote + ready without a remote of the same round. Medians. Median claim through the remote ${median(claimRemote).toFixed(1)} ms, bare push ${median(push).toFixed(1)} ms, claim without a remote ${median(claimLocal).toFixed(1)} ms.`;
    return { rows, method };
  } finally {
    await server.close();
    rmSync(base, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) await runStandalone('remote', remoteBench);

// Issue 6's figures.
//   11. `claim` with its worktree, against a bare `git worktree add -b` of the same repository in
//       the same run (target <= 1.5x), on a repository of a realistic size and on a small one.
//   12. `conflicts` over 20 active branches (210 predicted merges), against the same
//       `git merge-tree --write-tree` calls made by a shell loop.
// Run alone: `npm run build && tsx bench/worktrees.ts [--quick]`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { benchEnv, sh as shWith, timed as timedWith, type BenchOptions } from './child-process.js';
import type { FigureRow } from './crash-safety.js';
import { fmt, median, pairedRatios, rotation } from './stats.js';
import { isMain, runStandalone } from './standalone.js';

const AGENT = 'bench';

const ENV = benchEnv({ GUILD_AGENT: AGENT });
const sh = (cmd: string, args: string[], cwd: string, ok?: number[]): string => shWith(cmd, args, cwd, ENV, ok);
const timed = (cmd: string, args: string[], cwd: string, ok?: number[]): number => timedWith(cmd, args, cwd, ENV, ok);
const BRANCHES = 20;

/** A committed repository of `files` files of ~2 KB in directories of 30, and a 10-task board. */
function makeRepo(dir: string, files: number): { board: string } {
  mkdirSync(dir, { recursive: true });
  sh('git', ['init', '-q', '-b', 'main', dir], dir);
  for (let i = 0; i < files; i++) {
    const sub = join(dir, 'src', `pkg${Math.floor(i / 30)}`);
    if (i % 30 === 0) mkdirSync(sub, { recursive: true });
    const lines = Array.from({ length: 40 }, (_, k) => `export const value${k} = ${i * 40 + k}; // file ${i}, line ${k}`);
    writeFileSync(join(sub, `file${i}.ts`), `${lines.join('\n')}\n`);
  }
  const board = ['---', 'guild: 1', 'prefix: GLD', '---', '# Active Tasks', '', '## Ready', ...Array.from({ length: 10 }, (_, i) => `- [ ] GLD-${i + 1} Task ${i + 1}`), '', '## In Progress', '', '## Done', ''].join('\n');
  writeFileSync(join(dir, 'ACTIVE_TASKS.md'), board);
  mkdirSync(join(dir, '.guild'));
  writeFileSync(join(dir, '.guild', 'audit.jsonl'), '');
  sh('git', ['add', '-A'], dir);
  sh('git', ['commit', '-q', '-m', 'start'], dir);
  return { board };
}

/** Where the claim makes GLD-1's worktree: beside the clone (workspace.ts, worktreeRoot). */
const claimPath = (dir: string): string => join(`${dir}.worktrees`, 'GLD-1');

/** Back to the committed state: no guild worktree, no guild branch, no locks, the board as generated. */
function resetClaim(dir: string, board: string, baselinePath: string): void {
  for (const path of [claimPath(dir), baselinePath]) sh('git', ['worktree', 'remove', '--force', path], dir, [0, 128]);
  for (const branch of sh('git', ['for-each-ref', '--format=%(refname:short)', 'refs/heads/guild/', 'refs/heads/bench/'], dir).split('\n').filter(Boolean)) sh('git', ['branch', '-q', '-D', branch], dir);
  rmSync(join(dir, '.git', 'guild'), { recursive: true, force: true });
  writeFileSync(join(dir, 'ACTIVE_TASKS.md'), board);
  writeFileSync(join(dir, '.guild', 'audit.jsonl'), '');
}

function claimFigure(options: BenchOptions, label: string, files: number, samples: number): { row: FigureRow } {
  const dir = join(options.tmpRoot, `worktree-claim-${files}`);
  const { board } = makeRepo(dir, files);
  // Beside the clone, as the claim's own: the same file system, the same depth.
  const baselinePath = `${dir}.bench-worktree`;
  const subject: number[] = [];
  const baseline: number[] = [];
  const warmup = 1;
  for (let i = 0; i < samples + warmup; i++) {
    for (const which of rotation(['claim', 'git'] as const, i)) {
      resetClaim(dir, board, baselinePath);
      const ms =
        which === 'claim'
          ? timed(process.execPath, [options.bin, 'claim', '--json'], dir)
          : timed('git', ['worktree', 'add', '-q', '-b', 'bench/GLD-1', baselinePath, 'main'], dir);
      if (which === 'claim') {
        // Proof the claim made its worktree: the checkout is there, on its branch.
        const branch = sh('git', ['rev-parse', '--abbrev-ref', 'HEAD'], claimPath(dir)).trim();
        if (branch !== 'guild/GLD-1-task-1') throw new Error(`claim left ${branch}`);
      }
      if (i >= warmup) (which === 'claim' ? subject : baseline).push(ms);
    }
  }
  resetClaim(dir, board, baselinePath);
  rmSync(dir, { recursive: true, force: true });
  const ratio = median(subject) / median(baseline);
  options.log(`worktrees: claim with worktree, ${label}: ${fmt(median(subject), 0)} ms vs git worktree add ${fmt(median(baseline), 0)} ms (${fmt(ratio, 2)}x)`);
  return {
    row: { figure: `11${files > 100 ? 'a' : 'b'}. \`claim\` with its worktree, ${label}, vs \`git worktree add -b\``, unit: 'ms', subject, baseline, paired: pairedRatios(subject, baseline), target: '<= 1.5x', met: ratio <= 1.5, digits: 1 },
  };
}

/** 20 branches off main, each changing its own file; branches 1-6 also change line 1 of one shared file, each its own way. */
function conflictRepo(options: BenchOptions, files: number): { dir: string; branches: string[] } {
  const dir = join(options.tmpRoot, 'worktree-conflicts');
  makeRepo(dir, files);
  const shared = join(dir, 'src', 'pkg0', 'file0.ts');
  const branches: string[] = [];
  const tasks: string[] = [];
  for (let i = 1; i <= BRANCHES; i++) {
    const branch = `guild/GLD-${i}-task-${i}`;
    branches.push(branch);
    sh('git', ['switch', '-q', '-c', branch, 'main'], dir);
    writeFileSync(join(dir, 'src', 'pkg1', `file${29 + i}.ts`), `// changed by GLD-${i}\n`);
    // Branches 1-6 each rewrite line 1 of the shared file: every pair of them conflicts (15 pairs).
    if (i <= 6) writeFileSync(shared, `// GLD-${i} was here\n`);
    sh('git', ['commit', '-q', '-am', `GLD-${i}`], dir);
    sh('git', ['switch', '-q', 'main'], dir);
    tasks.push(`- [ ] GLD-${i} Task ${i} owner:agent-${i} branch:${branch}`);
  }
  const board = ['---', 'guild: 1', 'prefix: GLD', '---', '# Active Tasks', '', '## Ready', '', '## In Progress', ...tasks, '', '## Done', ''].join('\n');
  writeFileSync(join(dir, 'ACTIVE_TASKS.md'), board);
  return { dir, branches };
}

function conflictsFigure(options: BenchOptions, files: number, samples: number): { row: FigureRow; perPair: FigureRow; pairs: number; found: number } {
  const { dir, branches } = conflictRepo(options, files);
  const pairs: [string, string][] = branches.map((b) => ['main', b]);
  for (let i = 0; i < branches.length; i++) for (let j = i + 1; j < branches.length; j++) pairs.push([branches[i]!, branches[j]!]);
  const script = join(options.tmpRoot, 'merge-tree-loop.sh');
  writeFileSync(script, `set -u\n${pairs.map(([a, b]) => `git merge-tree --write-tree --name-only --no-messages ${a} ${b} >/dev/null`).join('\n')}\nexit 0\n`);
  const subject: number[] = [];
  const baseline: number[] = [];
  let found = -1;
  for (let i = 0; i < samples + 1; i++) {
    for (const which of rotation(['conflicts', 'loop'] as const, i)) {
      let ms: number;
      if (which === 'conflicts') {
        const start = process.hrtime.bigint();
        const run = spawnSync(process.execPath, [options.bin, 'conflicts', '--json'], { cwd: dir, env: ENV, encoding: 'utf8' });
        ms = Number(process.hrtime.bigint() - start) / 1e6;
        if (run.status !== 6) throw new Error(`conflicts exited ${run.status}: ${run.stderr}`);
        found = (JSON.parse(run.stdout) as { error: { data: { conflicts: unknown[] } } }).error.data.conflicts.length;
      } else ms = timed('sh', [script], dir);
      if (i >= 1) (which === 'conflicts' ? subject : baseline).push(ms);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  const ratio = median(subject) / median(baseline);
  options.log(`worktrees: conflicts over ${BRANCHES} branches (${pairs.length} merges): ${fmt(median(subject), 0)} ms vs shell loop ${fmt(median(baseline), 0)} ms (${fmt(ratio, 2)}x), ${found} conflicts found`);
  const per = (list: number[]): number[] => list.map((ms) => ms / pairs.length);
  return {
    row: { figure: `12a. \`conflicts\`, ${BRANCHES} active branches (${pairs.length} merges), vs a shell loop of \`git merge-tree\``, unit: 'ms', subject, baseline, paired: pairedRatios(subject, baseline), target: 'none (reported)', met: true, digits: 0, show: { met: '-' } },
    perPair: { figure: '12b. the same, per predicted merge', unit: 'ms', subject: per(subject), baseline: per(baseline), paired: pairedRatios(subject, baseline), target: 'none (reported)', met: true, digits: 2, show: { met: '-' } },
    pairs: pairs.length,
    found,
  };
}

export async function worktreeBench(options: BenchOptions): Promise<{ rows: FigureRow[]; method: string }> {
  const samples = options.quick ? 5 : 15;
  const big = 3_000;
  const small = 20;
  options.log(`worktrees: claim with a worktree, ${big.toLocaleString('en')}-file and ${small}-file repositories, ${samples} samples each`);
  const claimBig = claimFigure(options, `${big.toLocaleString('en')}-file repository (~7 MB)`, big, samples);
  const claimSmall = claimFigure(options, `${small}-file repository`, small, samples);
  options.log(`worktrees: conflicts over ${BRANCHES} branches`);
  const conflicts = conflictsFigure(options, big, Math.max(3, Math.round(samples / 2)));
  const method = `**11. \`claim\` with its worktree.** A repository of ${big.toLocaleString('en')} committed TypeScript files of ~2 KB each (40 lines), 30 to a directory (~7 MB checked out), plus a 10-task board; and a small one of ${small} such files. Each sample, in rotated order after one discarded warm-up: \`node bin/guild-fs.js claim --json\` (\`GUILD_AGENT\` set; it claims GLD-1 and makes \`<repo>.worktrees/GLD-1\` beside the repository, on \`guild/GLD-1-task-1\`, checked) against \`git worktree add -q -b bench/GLD-1 <path> main\` (its path beside the repository too), the bare step a claim's worktree costs at least. Before every run, untimed, both worktrees and branches are removed, \`.git/guild\` is deleted and the board and log are written back, so every run starts from the same state. Wall time of the whole process (spawnSync, hrtime), ${samples} samples each; ratio = median over median. A claim also starts node, reads the board, takes the lock, appends to the log, writes the board twice (claim, then the \`branch:\` field and \`worktree.created\`) and asks git three more questions (the main branch, existing branches, worktree list) before the \`worktree add\` itself: a fixed cost of tens of milliseconds, which the checkout of a large repository dwarfs and which a tiny repository does not.

**12. \`conflicts\`.** The ${big.toLocaleString('en')}-file repository with ${BRANCHES} branches \`guild/GLD-<n>-task-<n>\` off main, each committing a change to a file of its own, branches 1-6 also rewriting the first line of one shared file, each its own way (so every pair of those six conflicts: ${conflicts.found} conflicts found), and a board with the ${BRANCHES} tasks In Progress. \`node bin/guild-fs.js conflicts --json\` (exit 6) predicts ${conflicts.pairs} merges (each branch with main, and every pair: ${BRANCHES} + ${(BRANCHES * (BRANCHES - 1)) / 2}); the baseline is a \`sh\` script running the same ${conflicts.pairs} \`git merge-tree --write-tree --name-only --no-messages A B\` one after the other. guild-fs runs up to 4 merge-trees at once on this ${os.cpus().length}-core machine. No target was set; the figure is reported in absolute terms and per merge.`;
  return { rows: [claimBig.row, claimSmall.row, conflicts.row, conflicts.perPair], method };
}

// Standalone: tsx bench/worktrees.ts [--quick]
if (isMain(import.meta.url)) await runStandalone('wt', worktreeBench);

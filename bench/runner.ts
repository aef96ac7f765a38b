// Issue 12's figures.
//   14a. `guild-fs run` overhead per task: 4 workers drain a board whose agent is `true`, against
//        (a) the same tasks driven by a shell loop of `guild-fs claim` / `guild-fs complete` and
//        (b) a shell loop of the bare git steps a task needs (`git worktree add -b`, `git commit
//        --allow-empty`), in the same run. `true` changes nothing, so the run says --allow-empty
//        (its tries would fail as empty otherwise): the figure stays the runner's own overhead. Goals: at most 1.5x (b) per task; at least 2x faster than (a).
//   14b. Peak resident memory of the runner with 8 workers over the same board (goal: < 120 MiB).
// Run alone: `npm run build && tsx bench/runner.ts [--quick]`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { benchEnv, readyBoardRepo, sh as shWith, type BenchOptions } from './child-process.js';
import type { FigureRow } from './crash-safety.js';
import { fmt, median, pairedRatios } from './stats.js';
import { isMain, runStandalone } from './standalone.js';

const TIME_BIN = '/usr/bin/time';

const ENV = benchEnv();
const sh = (cmd: string, args: string[], cwd: string, ok?: number[]): string => shWith(cmd, args, cwd, ENV, ok);

/** A committed repository of 20 small files and a board of `tasks` Ready tasks, drivers registered. */
function makeRepo(dir: string, tasks: number, bin: string): void {
  const files = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`src/file${i}.ts`, `export const value = ${i};\n`]));
  readyBoardRepo(dir, { bin, tasks, front: ['lock_ttl: 1h'], files: { ...files, '.guild/audit.jsonl': '' }, env: ENV });
}

function wall(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function doneCount(dir: string, bin: string): number {
  const tasks = JSON.parse(sh(process.execPath, [bin, 'list', '--json'], dir)).result.tasks as { status: string }[];
  return tasks.filter((task) => task.status === 'done').length;
}

export async function runnerBench(options: BenchOptions): Promise<{ rows: FigureRow[]; method: string }> {
  const tasks = options.quick ? 20 : 200;
  const rounds = options.quick ? 1 : 2;
  const { bin } = options;
  const dir = join(options.tmpRoot, 'runner');
  const truePath = spawnSync('sh', ['-c', 'command -v true'], { encoding: 'utf8' }).stdout.trim() || '/bin/true';
  const run: number[] = [];
  const loop: number[] = [];
  const bare: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    options.log(`runner: round ${round}/${rounds}: run -j 4 over ${tasks} tasks, a claim/complete loop, a bare git loop`);
    makeRepo(dir, tasks, bin);
    run.push(wall(() => sh(process.execPath, [bin, 'run', '-j', '4', '--agent', 'bench', '--allow-empty', '--', truePath], dir)) / tasks);
    if (doneCount(dir, bin) !== tasks) throw new Error('the run did not finish every task');

    makeRepo(dir, tasks, bin);
    const script = `for i in $(seq ${tasks}); do "${process.execPath}" "${bin}" claim --agent bench >/dev/null && "${process.execPath}" "${bin}" complete --agent bench >/dev/null || exit 1; done`;
    loop.push(wall(() => sh('sh', ['-c', script], dir)) / tasks);
    if (doneCount(dir, bin) !== tasks) throw new Error('the claim/complete loop did not finish every task');

    makeRepo(dir, tasks, bin);
    const bareScript = `mkdir -p ../bare-wt && for i in $(seq ${tasks}); do git worktree add -q -b bench/t$i ../bare-wt/t$i main && git -C ../bare-wt/t$i commit -q --allow-empty -m "task $i" || exit 1; done`;
    bare.push(wall(() => sh('sh', ['-c', bareScript], dir)) / tasks);
    rmSync(join(dir, '..', 'bare-wt'), { recursive: true, force: true });
  }

  // 14b: the runner's own peak RSS with 8 workers (the kernel's ru_maxrss of the waited child).
  let rssMiB: number | null = null;
  if (existsSync(TIME_BIN)) {
    makeRepo(dir, tasks, bin);
    const timeFile = join(options.tmpRoot, 'runner-rss.txt');
    spawnSync(TIME_BIN, ['-o', timeFile, '-f', '%M', process.execPath, bin, 'run', '-j', '8', '--agent', 'bench', '--allow-empty', '--', truePath], { cwd: dir, env: ENV, stdio: 'ignore' });
    rssMiB = Number(readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)) / 1024;
  }
  rmSync(dir, { recursive: true, force: true });

  const perTask = (figure: string, baseline: number[], target: string, met: boolean): FigureRow => ({ figure, unit: 'ms/task', subject: run, baseline, paired: pairedRatios(run, baseline), target, met, digits: 1 });
  const rows: FigureRow[] = [
    perTask(`14a. \`run -j 4\`, ${tasks} tasks, agent \`true\`: per task, vs the bare git steps a task needs`, bare, '<= 1.5x', median(run) / median(bare) <= 1.5),
    perTask(`14b. the same, vs a shell loop of \`claim\` + \`complete\``, loop, '<= 0.5x', median(run) / median(loop) <= 0.5),
    rssMiB === null
      ? { figure: '14c. peak RSS, `run -j 8`', unit: 'MiB', subject: [], baseline: [], target: '< 120 MiB', met: false, digits: 1, show: { subject: 'not measured (no /usr/bin/time)', met: '-' } }
      : { figure: `14c. peak RSS of the runner, \`run -j 8\`, ${tasks} tasks`, unit: 'MiB', subject: [rssMiB], baseline: [], target: '< 120 MiB', met: rssMiB < 120, digits: 1, show: { baseline: '-', ratio: '-' } },
  ];
  const method = `**14. The runner.** A repository of 20 small committed files and a board of ${tasks} Ready tasks (no needs), drivers registered with \`init\`, made afresh before each timed part. Subject: \`guild-fs run -j 4 --agent bench --allow-empty -- ${truePath}\` (\`true\` changes nothing: without \`--allow-empty\` every try would fail as empty): four workers each claim a task (lock, log, board, branch and worktree), run \`true\` in the worktree, find nothing to commit, and complete it (the dirty check, log, board); the run ends when the board is drained (checked: ${tasks} Done). (a) A \`sh\` loop of \`guild-fs claim\` then \`guild-fs complete\` per task, one after the other, which makes the same worktrees (checked: ${tasks} Done). (b) A \`sh\` loop of \`git worktree add -q -b bench/t<i> <path> main\` and \`git commit -q --allow-empty\` in it: the bare git steps of a task. Wall time of each whole part divided by ${tasks}; ${rounds} round${rounds === 1 ? '' : 's'}, medians. The runner works four tasks at once on ${os.cpus().length} cores, while (a) and (b) go one at a time, as the issue frames them. 14c: the runner's peak RSS (\`/usr/bin/time -f %M\`, the kernel's ru_maxrss for the waited process; agents are separate processes and not counted) with 8 workers over a fresh board of the same ${tasks} tasks.${rssMiB === null ? '' : ` Measured ${fmt(rssMiB, 1)} MiB.`}`;
  return { rows, method };
}

if (isMain(import.meta.url)) await runStandalone('runner', runnerBench);

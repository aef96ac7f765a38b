// Issue 20's figure: the storm with the real runner (test/helpers/runner-storm.ts), once with the
// person and once without, same board, same run. `run -j 4` with worktrees drains 16 fake-agent
// tasks while a person saves the board from buffers up to 40 ms old (by rename and in place, every
// 10-100 ms), `guild-fs watch` runs, a committer commits the board and .guild/ every 3 s, and the
// first run is SIGKILLed half way (then `heal` and a second run).
//   19a. edits lost (goal 0)   19b. agents outside their worktree (goal 0)
//   19c. double completions (goal 0)   19d. the runs' tasks/s, vs the same storm with no person
// Runs inside `npm run bench`, or alone: `npx tsx bench/storm-runner.ts [--quick]` (after a build).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { formatRunnerStorm, runnerStorm } from '../test/helpers/runner-storm.js';
import type { BenchOptions } from './child-process.js';
import type { FigureRow } from './crash-safety.js';
import { fmt, reportedRatioRow, zeroGoalRow } from './stats.js';
import { isMain, runStandalone } from './standalone.js';

export type RunnerStormBenchOptions = Pick<BenchOptions, 'quick' | 'tmpRoot' | 'log'>;

const TASKS = 16;
const SEED = 20;

export async function runnerStormBench(options: RunnerStormBenchOptions): Promise<{ rows: FigureRow[]; method: string }> {
  const parent = join(options.tmpRoot, 'runner-storm');
  mkdirSync(parent, { recursive: true });
  const common = { seed: SEED, tasks: TASKS, daemon: true, killAfter: TASKS / 2, parent };
  const stormy = await runnerStorm({ ...common, person: true });
  for (const line of formatRunnerStorm(stormy).split('\n')) options.log(`  ${line}`);
  const calm = await runnerStorm({ ...common, person: false });
  for (const line of formatRunnerStorm(calm).split('\n')) options.log(`  ${line}`);
  const saves = stormy.person?.saves ?? 0;
  const lost = stormy.check.lostNotes.length;
  const twice = stormy.twice.length;
  const rows: FigureRow[] = [
    zeroGoalRow({ figure: `19a. runner storm: edits lost, of the person's saves (${TASKS} tasks, run -j 4, SIGKILL half way)`, unit: 'count', count: lost, of: `${saves} saves`, judgedOn: `${lost} lost` }),
    zeroGoalRow({ figure: '19b. runner storm: agent starts outside their own worktree', unit: 'count', count: stormy.outside.length, of: `${stormy.places.length} starts`, judgedOn: `${stormy.mainCommits.length} agent commits on main` }),
    zeroGoalRow({ figure: '19c. runner storm: tasks completed more than once', unit: 'count', count: twice, of: `${stormy.doneTasks} Done`, judgedOn: twice ? stormy.twice.map((entry) => entry.split(':')[0]).join(', ') : `replay --check exit ${stormy.check.replay.code}, doctor exit ${stormy.check.doctor.code}` }),
    reportedRatioRow({ figure: "19d. runner storm: the runs' tasks/s, vs the same storm with no person", unit: 'tasks/s', subject: stormy.tasksPerSecond, baseline: calm.tasksPerSecond, digits: 2 }),
  ];
  const method = `**19. The runner storm (issue 20).** A temp git repo with the storm board of issue 10 (its front matter plus \`retry_base: 1s\`, so that tries healed after the kill are retried within seconds) and ${TASKS} Ready tasks for a fake agent (\`test/helpers/fake-agent.ts\`, 1 s of work each; even tasks commit their file, odd ones leave it uncommitted). \`guild-fs watch\` runs throughout; a committer runs \`git add ACTIVE_TASKS.md .guild && git commit\` every 3 s; a person (on the bench's own timers, no lock) reads the board, waits 0-40 ms, adds \`storm note <n>\` to \`## Notes\` and saves the old buffer by rename or in place (each save at random), every 10-100 ms. \`guild-fs run -j 4\` drains the board; once ${TASKS / 2} tasks are done it is SIGKILLed, then \`guild-fs heal\` and a second \`run\` finish. Each fake agent records its cwd, \`git rev-parse --show-toplevel\` and branch outside the repo: an agent start is outside when any is not its task's worktree and branch. Double completions count \`task.completed\` events per task. The baseline is the same storm with no person, in the same process, seed ${SEED}; tasks/s is Done tasks over both runs' wall time (${fmt(stormy.tasksPerSecond, 2)} vs ${fmt(calm.tasksPerSecond, 2)}). Single runs${options.quick ? ' (quick: the same size)' : ''}.`;
  return { rows, method };
}

// Alone: `npx tsx bench/storm-runner.ts [--quick]`.
if (isMain(import.meta.url)) await runStandalone('storm-runner', runnerStormBench);

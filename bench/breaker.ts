// Issue 21 item 4's figure: a broken agent on a 20-task board, `run -j 4 --no-wait`.
//   21a. tries spent before the breaker opens (goal: at most 4)
//   21b. tasks moved to Failed (goal: 0)
//   21c. seconds from the run's start until it says the agent is unavailable (goal: under 10)
// Two broken agents, each a node script that exits non-zero at once: one prints "error: not
// logged in" (a default `unavailable:` pattern opens the breaker on the first try), one prints
// words no pattern knows (three fast failures alike on different tasks open it).
// Runs inside `npm run bench`, or alone: `npm run build && npx tsx bench/breaker.ts [--quick]`.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { benchEnv, readyBoardRepo, sh as shWith, type BenchOptions } from './child-process.js';
import type { FigureRow } from './crash-safety.js';
import { fmt, max } from './stats.js';
import { isMain, runStandalone } from './standalone.js';

const TASKS = 20;
const ENV = benchEnv();
const sh = (cmd: string, args: string[], cwd: string): string => shWith(cmd, args, cwd, ENV);

const BROKEN: { name: string; line: string }[] = [
  { name: 'not logged in', line: 'error: not logged in' },
  { name: 'words no pattern knows', line: 'fatal: session store unreachable (code 17)' },
];

interface Trial {
  tries: number;
  failed: number;
  saidMs: number | null;
  exit: number | null;
  runMs: number;
}

function makeRepo(dir: string, bin: string, agentLine: string): string {
  readyBoardRepo(dir, { bin, tasks: TASKS, front: ['max_tries: 2', 'retry_base: 1ms'], files: { '.guild/audit.jsonl': '', '.gitignore': '*.log\nstarts\n' }, env: ENV });
  // Outside the repository: each start appends a line, then the CLI fails as a broken one does.
  const agent = join(dir, '..', 'broken-agent.cjs');
  const starts = join(dir, '..', 'starts');
  rmSync(starts, { force: true });
  writeFileSync(agent, `process.stdin.resume();process.stdin.on('end',()=>{require('fs').appendFileSync(${JSON.stringify(starts)},'x\\n');process.stderr.write(${JSON.stringify(agentLine + '\n')},()=>process.exit(1));});\n`);
  return agent;
}

function trial(dir: string, bin: string, agentLine: string): Trial {
  const agent = makeRepo(dir, bin, agentLine);
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, [bin, 'run', '--json', '-j', '4', '--no-wait', '--agent', 'bench', '--', process.execPath, agent], { cwd: dir, env: ENV, encoding: 'utf8', maxBuffer: 64 << 20 });
  const runMs = Number(process.hrtime.bigint() - started) / 1e6;
  const events = run.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { event: string; time: string });
  const begun = events.find((e) => e.event === 'run.started');
  const said = events.find((e) => e.event === 'agent.unavailable');
  const tasks = JSON.parse(sh(process.execPath, [bin, 'list', '--json'], dir)).result.tasks as { status: string }[];
  const starts = readFileSync(join(dir, '..', 'starts'), 'utf8').split('\n').filter(Boolean).length;
  return {
    tries: starts,
    failed: tasks.filter((task) => task.status === 'failed').length,
    // From the runner's own first event, so node's start-up is not counted against it; runMs has the whole.
    saidMs: said && begun ? Date.parse(said.time) - Date.parse(begun.time) : null,
    exit: run.status,
    runMs,
  };
}

export async function breakerBench(options: BenchOptions): Promise<{ rows: FigureRow[]; method: string }> {
  const rounds = options.quick ? 1 : 3;
  const results = new Map<string, Trial[]>(BROKEN.map((broken) => [broken.name, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const broken of BROKEN) {
      options.log(`breaker: round ${round}/${rounds}: ${broken.name}, run -j 4 --no-wait over ${TASKS} tasks`);
      results.get(broken.name)!.push(trial(join(options.tmpRoot, 'breaker', 'repo'), options.bin, broken.line));
    }
  }
  rmSync(join(options.tmpRoot, 'breaker'), { recursive: true, force: true });
  const all = [...results.values()].flat();
  const each = (pick: (trial: Trial) => number, digits: number): string => BROKEN.map((broken) => `${fmt(max(results.get(broken.name)!.map(pick)), digits)} (${broken.name})`).join(', ');
  const said = all.map((one) => (one.saidMs === null ? Number.POSITIVE_INFINITY : one.saidMs / 1_000));
  const worst = (values: number[]): number => Math.max(...values);
  const rows: FigureRow[] = [
    {
      figure: `21a. a broken agent, \`run -j 4 --no-wait\`, ${TASKS} tasks: tries spent before the breaker opens`,
      unit: 'tries',
      subject: all.map((one) => one.tries),
      baseline: [],
      target: '<= 4',
      met: worst(all.map((one) => one.tries)) <= 4,
      judgedOn: 'the largest over rounds and agents',
      digits: 0,
      show: { subject: each((one) => one.tries, 0), baseline: '-', ratio: '-' },
    },
    {
      figure: '21b. the same: tasks moved to Failed',
      unit: 'tasks',
      subject: all.map((one) => one.failed),
      baseline: [],
      target: '0',
      met: worst(all.map((one) => one.failed)) === 0,
      judgedOn: `every run exited ${[...new Set(all.map((one) => one.exit))].join(', ')}`,
      digits: 0,
      show: { subject: each((one) => one.failed, 0), baseline: `of ${TASKS}`, ratio: '-' },
    },
    {
      figure: '21c. the same: seconds until the runner says the agent is unavailable',
      unit: 's',
      subject: said,
      baseline: [],
      target: '< 10 s',
      met: worst(said) < 10,
      judgedOn: 'the largest over rounds and agents',
      digits: 2,
      show: { subject: BROKEN.map((broken) => `${fmt(max(results.get(broken.name)!.map((one) => (one.saidMs ?? Number.NaN) / 1_000)), 2)} s (${broken.name})`).join(', '), baseline: '-', ratio: '-' },
    },
  ];
  const method = `**21a-c. A broken agent (issue 21 item 4).** A fresh repository per run with a board of ${TASKS} Ready tasks (\`max_tries: 2\`), drivers registered with \`init\`; \`guild-fs run --json -j 4 --no-wait -- node broken-agent.cjs\`, where the agent appends a line to a file outside the repository (the tries spent) and exits 1 at once printing one line: "error: not logged in" (a default \`unavailable:\` pattern: the breaker opens on the first try), or "fatal: session store unreachable (code 17)" (no pattern: three fast failures alike on different tasks open it). 21a: the agent's starts; 21b: tasks in Failed afterwards (\`list --json\`); 21c: the time of the \`agent.unavailable\` event minus that of \`run.started\` (the runner's own clock; node's start-up is before both). ${rounds} round${rounds === 1 ? '' : 's'} of each agent; each figure is judged on the worst run. Whole runs took ${all.map((one) => fmt(one.runMs / 1_000, 1)).join(', ')} s and exited ${[...new Set(all.map((one) => one.exit))].join(', ')} (8: the agent command is unavailable).`;
  return { rows, method };
}

if (isMain(import.meta.url)) await runStandalone('breaker', breakerBench);

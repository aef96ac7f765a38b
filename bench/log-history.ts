// Issue 4's figures: `replay --check` and `stats` over a generated log of 1,000,000 events,
// whole processes, against a bare readline + JSON.parse loop over the same file in the same run
// (events per second, target >= 70% of the loop's), and the peak memory of each (target < 150 MiB
// whatever the log's length).
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import type { FigureRow } from './crash-safety.js';
import { fmt, median } from './stats.js';

export interface LogHistoryOptions {
  quick: boolean;
  tmpRoot: string;
  log: (message: string) => void;
  bin: string;
}

const TASKS = 10_000;
const TIME_BIN = '/usr/bin/time';

/** A log of `events` events over TASKS tasks, in time order, and the board it replays to. */
export async function writeHistory(dir: string, events: number): Promise<number> {
  mkdirSync(join(dir, '.guild'), { recursive: true });
  const out = createWriteStream(join(dir, '.guild', 'audit.jsonl'));
  // Each task: created, (claimed, released) x pairs, claimed, completed.
  const pairs = Math.max(0, Math.floor((Math.floor(events / TASKS) - 3) / 2));
  let t = Date.parse('2026-01-01T00:00:00.000Z');
  let n = 0;
  const line = (type: string, task: number, agent: string, data: string): string => {
    t += 1;
    n += 1;
    const id = `01${String(n).padStart(24, '0')}`;
    return `{"v":1,"id":"${id}","ts":"${new Date(t).toISOString()}","type":"${type}","task":"GLD-${task}","agent":"${agent}","host":"bench","data":${data}}\n`;
  };
  let chunk = '';
  const flush = async (): Promise<void> => {
    if (!out.write(chunk)) await once(out, 'drain');
    chunk = '';
  };
  for (let task = 1; task <= TASKS; task++) {
    const agent = `agent-${task % 16}`;
    chunk += line('task.created', task, 'human', `{"title":"Task ${task}","status":"ready","prio":"normal","needs":[],"caps":[]}`);
    for (let k = 0; k < pairs; k++) chunk += line('task.claimed', task, agent, '{}') + line('task.released', task, agent, '{}');
    chunk += line('task.claimed', task, agent, '{}') + line('task.completed', task, agent, '{"to":"done"}');
    if (chunk.length > 1 << 20) await flush();
  }
  await flush();
  out.end();
  await once(out, 'finish');
  const board = ['---', 'guild: 1', 'prefix: GLD', '---', '# Active Tasks', '', '## Ready', '', '## In Progress', '', '## Done'];
  for (let task = 1; task <= TASKS; task++) board.push(`- [x] GLD-${task} Task ${task} owner:agent-${task % 16}`);
  writeFileSync(join(dir, 'ACTIVE_TASKS.md'), `${board.join('\n')}\n`);
  spawnSync('git', ['init', '-q', '-b', 'main', dir]);
  return n;
}

const BASELINE = `
const { createReadStream } = require('node:fs');
const { createInterface } = require('node:readline');
(async () => {
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(process.argv[1]), crlfDelay: Infinity })) if (line) { JSON.parse(line); n++; }
  if (n === 0) process.exit(1);
})();`;

interface Run {
  ms: number;
  maxRssMiB: number;
}

function timed(args: string[], cwd: string): Run {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('GUILD_') || key === 'NODE_OPTIONS') delete env[key];
  const rssFile = join(cwd, '.rss');
  const useTime = existsSync(TIME_BIN);
  const start = process.hrtime.bigint();
  const run = useTime ? spawnSync(TIME_BIN, ['-f', '%M', '-o', rssFile, process.execPath, ...args], { cwd, env, maxBuffer: 64 << 20 }) : spawnSync(process.execPath, args, { cwd, env, maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (run.status !== 0) throw new Error(`${args.join(' ')} exited ${run.status}: ${run.stderr?.toString().slice(0, 400)}`);
  const kib = useTime ? Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) : NaN;
  return { ms, maxRssMiB: kib / 1024 };
}

export async function logHistoryBench(options: LogHistoryOptions): Promise<{ rows: FigureRow[]; method: string }> {
  const wanted = options.quick ? 100_000 : 1_000_000;
  const rounds = options.quick ? 2 : 3;
  const dir = join(options.tmpRoot, 'log-history');
  options.log(`log history: generating ~${wanted} events over ${TASKS} tasks`);
  const events = await writeHistory(dir, wanted);
  const log = join(dir, '.guild', 'audit.jsonl');
  const megabytes = Math.round(statSync(log).size / 1e6);
  const runs: Record<'loop' | 'replay' | 'stats', Run[]> = { loop: [], replay: [], stats: [] };
  for (let round = 0; round < rounds; round++) {
    options.log(`log history: round ${round + 1}/${rounds}`);
    const order: (keyof typeof runs)[] = round % 2 ? ['stats', 'replay', 'loop'] : ['loop', 'replay', 'stats'];
    for (const key of order) {
      if (key === 'loop') runs.loop.push(timed(['-e', BASELINE, log], dir));
      if (key === 'replay') runs.replay.push(timed([options.bin, 'replay', '--check', '--json'], dir));
      if (key === 'stats') runs.stats.push(timed([options.bin, 'stats', '--json'], dir));
    }
  }
  rmSync(dir, { recursive: true, force: true });
  const rate = (list: Run[]): number[] => list.map((run) => events / (run.ms / 1000));
  const loopRate = rate(runs.loop);
  const throughputRow = (figure: string, list: Run[]): FigureRow => {
    const subject = rate(list);
    const ratio = median(subject) / median(loopRate);
    return { figure, unit: 'ev/s', subject, baseline: loopRate, target: '>= 0.70x the loop', met: ratio >= 0.7, digits: 0 };
  };
  const memoryRow = (figure: string, list: Run[]): FigureRow => {
    const subject = list.map((run) => run.maxRssMiB);
    const largest = Math.max(...subject);
    return { figure, unit: 'MiB', subject, baseline: runs.loop.map((run) => run.maxRssMiB), target: '< 150 MiB', met: largest < 150, judgedOn: `largest sample ${fmt(largest, 1)} MiB`, digits: 1 };
  };
  const rows: FigureRow[] = [
    throughputRow(`9a. \`replay --check\`, ${events.toLocaleString('en')} events, events/s vs a readline + JSON.parse loop`, runs.replay),
    throughputRow(`9b. \`stats\`, ${events.toLocaleString('en')} events, events/s vs the same loop`, runs.stats),
    memoryRow(`9c. peak RSS, \`replay --check\`, ${events.toLocaleString('en')} events`, runs.replay),
    memoryRow(`9d. peak RSS, \`stats\`, ${events.toLocaleString('en')} events`, runs.stats),
  ];
  const method = `**9. The log as history.** A generated log of ${events.toLocaleString('en')} events over ${TASKS.toLocaleString('en')} tasks, in time order (each task: created, claimed and released ${(events / TASKS - 3) / 2} times, claimed, completed), ${megabytes} MB, with the board it replays to (every task Done), so that \`replay --check\` does its whole job and passes. Whole processes, ${rounds} rounds, each round running the three in alternating order: \`node bin/guild-fs.js replay --check --json\`, \`node bin/guild-fs.js stats --json\`, and the baseline \`node -e <loop>\` where the loop is \`for await (const line of readline.createInterface(createReadStream(log))) JSON.parse(line)\`. Events per second = events / wall time of the process (start-up included on both sides); ratio = median over median. Peak memory: \`${TIME_BIN} -f %M\` (max RSS) of the same runs; the target is judged on the largest sample.`;
  return { rows, method };
}

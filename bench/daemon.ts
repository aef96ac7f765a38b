// Issue 5's figures: the watcher daemon, as a real `guild-fs watch` process on a temp repo.
//   10a/b. Reaction latency: from a hand save (a box ticked, the file renamed over, as an editor
//          saves) to the task that needed it standing in Ready on disk. Baseline: a raw
//          `fs.watch` on the board's folder, in this process, noticing the very same save.
//   10c.   Idle CPU of the daemon on a 1,000-task board (utime + stime from /proc/<pid>/stat).
//          Baseline: a bare node process holding raw `fs.watch` watchers on the same three
//          paths over the same window.
//   10d.   Resident memory after 10,000 events driven through the daemon (log appends, and
//          board edits it reacts to), against its own resident memory after warm-up.
// Runs inside `npm run bench`, or alone: `npx tsx bench/daemon.ts [--quick]` (after a build).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, watch, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FigureRow } from './crash-safety.js';
import { fmt, median, p90, printStandalone } from './stats.js';

export interface DaemonBenchOptions {
  quick: boolean;
  tmpRoot: string;
  log: (message: string) => void;
  bin: string;
  /** Run only these parts (standalone: `--part memory`); all by default. */
  parts?: ('latency' | 'idle' | 'memory')[];
}

const PAIRS = 50;
const FILLER = 1_000 - 2 * PAIRS;
const CLK_TCK = 100; // USER_HZ on Linux, which /proc/<pid>/stat counts in

/** A 1,000-task board: PAIRS pairs (GLD-a Ready, GLD-b Blocked on it), and filler tasks in Ready. */
function pairsBoard(): string {
  const lines = ['---', 'guild: 1', 'prefix: GLD', '---', '# Active Tasks', '', '## Blocked'];
  for (let i = 0; i < PAIRS; i++) lines.push(`- [ ] GLD-${2 * i + 2} Follow-up ${i} needs:GLD-${2 * i + 1}`);
  lines.push('', '## Ready');
  for (let i = 0; i < PAIRS; i++) lines.push(`- [ ] GLD-${2 * i + 1} First step ${i}`);
  for (let i = 0; i < FILLER; i++) lines.push(`- [ ] GLD-${2 * PAIRS + i + 1} Filler task ${i} prio:low`);
  lines.push('', '## In Progress', '', '## Done', '');
  return lines.join('\n');
}

function env(): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (key !== 'NODE_OPTIONS' && !key.startsWith('GUILD_')) out[key] = value;
  return out;
}

function makeRepo(dir: string): { dir: string; board: string; log: string } {
  mkdirSync(dir, { recursive: true });
  spawnSync('git', ['init', '-q', '-b', 'main', dir]);
  const repo = { dir, board: join(dir, 'ACTIVE_TASKS.md'), log: join(dir, '.guild', 'audit.jsonl') };
  mkdirSync(join(dir, '.guild'), { recursive: true });
  writeFileSync(repo.board, pairsBoard());
  writeFileSync(repo.log, '');
  return repo;
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 overall)
}

function rssKiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : Number.NaN;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => boolean, timeoutMs = 30_000, everyMs = 2): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // A write made while a person saves moves the board aside and links the new one in: for a few
  // microseconds there is no board to read, which is "not yet" here.
  const look = (): boolean => {
    try {
      return check();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  };
  while (!look()) {
    if (Date.now() > deadline) throw new Error(`daemon bench: timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

function startDaemon(bin: string, dir: string, extra: string[] = []): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [...(process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : []), bin, 'watch', ...extra], { cwd: dir, env: env(), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return { child, stderr: () => stderr };
}

async function stopDaemon(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const closed = new Promise((resolve) => child.once('close', resolve));
  child.kill('SIGTERM');
  await closed;
}

/** Where a task's line is: the section heading above it. */
function sectionOf(text: string, id: string): string | null {
  const at = text.search(new RegExp(`^- \\[[ x]\\] ${id} `, 'm'));
  if (at < 0) return null;
  const heading = text.lastIndexOf('\n## ', at);
  return heading < 0 ? null : text.slice(heading + 4, text.indexOf('\n', heading + 1));
}

/** Saves the board as an editor does: a temp file beside it, renamed over it. */
function saveByRename(board: string, text: string): void {
  const temp = `${board}.swp`;
  writeFileSync(temp, text);
  renameSync(temp, board);
}

async function latency(options: DaemonBenchOptions, dir: string): Promise<{ daemon: number[]; raw: number[] }> {
  const repo = makeRepo(dir);
  spawnSync(process.execPath, [options.bin, 'sync'], { cwd: repo.dir, env: env() });
  const { child, stderr } = startDaemon(options.bin, repo.dir, ['--heal-every', '1h']);
  const daemon: number[] = [];
  const raw: number[] = [];
  try {
    await until('the daemon to start', () => stderr().includes(' watching '), 30_000, 20);
    await sleep(1_000);
    let noticed = 0;
    let changed = 0;
    const watcher = watch(repo.dir, (_event, name) => {
      if (name !== 'ACTIVE_TASKS.md') return;
      if (noticed === 0) noticed = performance.now();
      changed++;
    });
    try {
      for (let i = 0; i < PAIRS; i++) {
        const first = `GLD-${2 * i + 1}`;
        const follow = `GLD-${2 * i + 2}`;
        const text = readFileSync(repo.board, 'utf8').replace(new RegExp(`^- \\[ \\] ${first} `, 'm'), `- [x] ${first} `);
        noticed = 0;
        changed = 0;
        const start = performance.now();
        saveByRename(repo.board, text);
        // Checked on every change the raw watcher hears, and every few ms besides.
        await until(`${follow} in Ready`, () => changed > 0 && sectionOf(readFileSync(repo.board, 'utf8'), follow) === 'Ready', 30_000, 1);
        daemon.push(performance.now() - start);
        raw.push(noticed - start);
        // Let the daemon's echo of its own write pass before the next save.
        await sleep(250);
      }
    } finally {
      watcher.close();
    }
  } finally {
    await stopDaemon(child);
  }
  return { daemon, raw };
}

const RAW_WATCHER = `
const fs = require('node:fs');
const [board, guildDir, locksDir] = process.argv.slice(1);
for (const path of [board, guildDir, locksDir]) fs.watch(path, () => {});
process.stdout.write('ready\\n');
setInterval(() => {}, 1 << 30);`;

async function idleCpu(options: DaemonBenchOptions, dir: string, seconds: number): Promise<{ daemon: number; raw: number }> {
  const repo = makeRepo(dir);
  spawnSync(process.execPath, [options.bin, 'sync'], { cwd: repo.dir, env: env() });
  mkdirSync(join(repo.dir, '.git', 'guild', 'locks'), { recursive: true });
  const { child, stderr } = startDaemon(options.bin, repo.dir);
  const baseline = spawn(process.execPath, ['-e', RAW_WATCHER, repo.board, join(repo.dir, '.guild'), join(repo.dir, '.git', 'guild', 'locks')], { env: env(), stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await until('the daemon to start', () => stderr().includes(' watching '), 30_000, 20);
    await sleep(2_000); // start-up reactions done
    const d0 = cpuTicks(child.pid!);
    const b0 = cpuTicks(baseline.pid!);
    await sleep(seconds * 1000);
    const d1 = cpuTicks(child.pid!);
    const b1 = cpuTicks(baseline.pid!);
    const percent = (ticks: number): number => (ticks / CLK_TCK / seconds) * 100;
    return { daemon: percent(d1 - d0), raw: percent(b1 - b0) };
  } finally {
    baseline.kill('SIGKILL');
    await stopDaemon(child);
  }
}

async function memory(options: DaemonBenchOptions, dir: string, events: number, edits: number): Promise<{ startMiB: number; endMiB: number; samples: number[] }> {
  const repo = makeRepo(dir);
  spawnSync(process.execPath, [options.bin, 'sync'], { cwd: repo.dir, env: env() });
  const { child, stderr } = startDaemon(options.bin, repo.dir, ['--heal-every', '5s', '--sample-every', '5s']);
  const samples: number[] = [];
  let filler = 2 * PAIRS + 1;
  const tick = async (): Promise<void> => {
    const id = `GLD-${filler++}`;
    saveByRename(repo.board, readFileSync(repo.board, 'utf8').replace(new RegExp(`^- \\[ \\] ${id} `, 'm'), `- [x] ${id} `));
    await until(`${id} in Done`, () => sectionOf(readFileSync(repo.board, 'utf8'), id) === 'Done', 30_000, 5).catch((error: Error) => {
      throw new Error(`${error.message}; the daemon said:\n${stderr()}`);
    });
  };
  try {
    await until('the daemon to start', () => stderr().includes(' watching '), 30_000, 20);
    // Warm-up: the lazy bundles loaded, a few reactions run, before the starting figure.
    for (let i = 0; i < 5; i++) await tick();
    await sleep(2_500);
    const startMiB = rssKiB(child.pid!) / 1024;
    const appends = events - edits;
    const perEdit = Math.floor(appends / edits);
    let n = 0;
    for (let e = 0; e < edits; e++) {
      // A burst of appended events (as agents' claims and completes in other worktrees would
      // add), then a hand edit the daemon reacts to: board write, log append, sync's replay.
      let burst = '';
      for (let k = 0; k < perEdit; k++) {
        n++;
        burst += `{"v":1,"id":"01BENCH${String(n).padStart(19, '0')}","ts":"${new Date().toISOString()}","type":"board.synced","agent":"bench","host":"bench","data":{"n":${n}}}\n`;
        if (k % 10 === 9) {
          appendFileSync(repo.log, burst);
          burst = '';
        }
      }
      if (burst) appendFileSync(repo.log, burst);
      await tick();
      if (e % Math.max(1, Math.floor(edits / 10)) === 0) samples.push(rssKiB(child.pid!) / 1024);
    }
    await sleep(2_500);
    const endMiB = rssKiB(child.pid!) / 1024;
    samples.push(endMiB);
    const report = JSON.parse(readFileSync(join(repo.dir, '.git', 'guild', 'daemon.json'), 'utf8')) as { memory: { rssBytes: number; heapUsedBytes: number }; counts: Record<string, number> };
    const types: Record<string, number> = {};
    for (const line of readFileSync(repo.log, 'utf8').split('\n')) {
      const type = /"type":"([^"]+)"/.exec(line)?.[1];
      if (type && type !== 'board.synced') types[type] = (types[type] ?? 0) + 1;
    }
    options.log(`daemon: the log after the memory run (the appended filler not counted): ${JSON.stringify(types)}`);
    // Untimed: after all that racing, the log must still explain the board.
    const check = spawnSync(process.execPath, [options.bin, 'replay', '--check'], { cwd: repo.dir, env: env(), encoding: 'utf8' });
    options.log(`daemon: replay --check after the memory run: exit ${check.status}${check.status === 0 ? '' : `\n${check.stdout}${check.stderr}`}`);
    options.log(`daemon: its own report at the end: heap used ${fmt(report.memory.heapUsedBytes / 2 ** 20, 1)} MiB, rss ${fmt(report.memory.rssBytes / 2 ** 20, 1)} MiB, ${JSON.stringify(report.counts)}`);
    return { startMiB, endMiB, samples };
  } finally {
    await stopDaemon(child);
  }
}

export async function daemonBench(options: DaemonBenchOptions): Promise<{ rows: FigureRow[]; method: string }> {
  const root = join(options.tmpRoot, 'daemon');
  mkdirSync(root, { recursive: true });
  const idleSeconds = options.quick ? 15 : 60;
  const events = options.quick ? 2_000 : 10_000;
  const edits = options.quick ? 40 : 200;
  const parts = new Set(options.parts ?? ['latency', 'idle', 'memory']);
  const none = { daemon: [Number.NaN], raw: [Number.NaN] };
  options.log(`daemon: reaction latency over ${PAIRS} saves`);
  const lat = parts.has('latency') ? await latency(options, join(root, 'latency')) : none;
  options.log(`daemon: idle CPU over ${idleSeconds} s`);
  const idle = parts.has('idle') ? await idleCpu(options, join(root, 'idle'), idleSeconds) : { daemon: Number.NaN, raw: Number.NaN };
  options.log(`daemon: memory over ${events} events (${edits} of them board edits)`);
  const mem = parts.has('memory') ? await memory(options, join(root, 'memory'), events, edits) : { startMiB: Number.NaN, endMiB: Number.NaN, samples: [Number.NaN] };
  rmSync(root, { recursive: true, force: true });

  const growth = mem.endMiB / mem.startMiB;
  const rows: FigureRow[] = [
    {
      figure: `10a. \`watch\`: hand save -> dependent in Ready on disk, median (${PAIRS} saves, 1,000-task board) vs raw \`fs.watch\` noticing the save`,
      unit: 'ms',
      subject: lat.daemon,
      baseline: lat.raw,
      target: 'median < 300 ms',
      met: median(lat.daemon) < 300,
      judgedOn: `median ${fmt(median(lat.daemon), 1)} ms`,
      digits: 1,
    },
    {
      figure: `10b. \`watch\`: the same, p90`,
      unit: 'ms',
      subject: lat.daemon,
      baseline: lat.raw,
      target: 'none (reported)',
      met: true,
      show: { subject: `${fmt(p90(lat.daemon), 1)} ms`, baseline: `${fmt(p90(lat.raw), 1)} ms`, ratio: `${fmt(p90(lat.daemon) / p90(lat.raw), 1)}x`, met: '-' },
      digits: 1,
    },
    {
      figure: `10c. \`watch\`: idle CPU over ${idleSeconds} s, 1,000-task board, vs a bare node process holding raw \`fs.watch\` watchers on the same paths`,
      unit: '% of a core',
      subject: [idle.daemon],
      baseline: [idle.raw],
      target: '< 1% of one core',
      met: idle.daemon < 1,
      show: { ratio: idle.raw > 0 ? `${fmt(idle.daemon / idle.raw, 1)}x` : `+${fmt(idle.daemon - idle.raw, 2)} points` },
      digits: 2,
    },
    {
      figure: `10d. \`watch\`: resident memory after ${events.toLocaleString('en')} events (${edits} board edits), vs itself after warm-up`,
      unit: 'MiB',
      subject: [mem.endMiB],
      baseline: [mem.startMiB],
      target: '<= 1.20x the start',
      met: growth <= 1.2,
      judgedOn: `samples ${mem.samples.map((x) => fmt(x, 0)).join(", ")} MiB`,
      digits: 1,
    },
  ];
  const method = `**10. The daemon.** A real \`node bin/guild-fs.js watch\` process on a temp repo whose board has 1,000 tasks: ${PAIRS} pairs (a Ready task and a Blocked task that \`needs:\` it) and ${FILLER} filler tasks in Ready, recorded in the log by \`sync\` first. *Latency*: for each pair, the harness ticks the first task's box and saves the board as an editor does (a temp file written beside it, renamed over it), then checks the board on disk every millisecond and on every change a raw \`fs.watch\` on the repo folder reports, until the dependent task's line stands under \`## Ready\`; the daemon has \`--heal-every 1h\` so no heal interleaves, and 250 ms pass between saves so that the daemon's echo of its own write is over. The baseline is that raw \`fs.watch\` in the harness noticing the same rename (the first event for the board's name): the floor any watcher pays. *Idle CPU*: after a 2 s settle, utime + stime of the daemon's pid from \`/proc/<pid>/stat\` over ${idleSeconds} s${options.quick ? ' (a quick run; the full run uses 60 s)' : ''}, default \`--heal-every 30s\` and \`--sample-every 30s\`, so the window holds heals and machine samples; the baseline is a bare \`node -e\` process holding three raw \`fs.watch\` watchers on the same paths, measured over the same window. *Memory*: \`VmRSS\` of the daemon from \`/proc/<pid>/status\` after warm-up (5 ticked boxes reacted to, the lazy chokidar and systeminformation bundles loaded), then after ${events.toLocaleString('en')} events: ${events - edits} task-less events appended straight to the log in bursts (10 per \`write\`) and ${edits} boxes ticked by hand, each waited for in Done (each a reaction: board write, log append, sync's replay of the growing log), with \`--heal-every 5s --sample-every 5s\`; ratio = end / start.`;
  return { rows, method };
}

// Alone: `npx tsx bench/daemon.ts [--quick]`.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const quick = process.argv.includes('--quick');
  const root = fileURLToPath(new URL('..', import.meta.url));
  const bin = join(root, 'bin', 'guild-fs.js');
  if (!existsSync(join(root, 'dist', 'cli.cjs'))) throw new Error('build first: npm run build');
  const tmpRoot = mkdtempSync(join(os.tmpdir(), 'guild-fs-bench-daemon-'));
  try {
    const part = process.argv.indexOf('--part');
    const parts = part > 0 ? (process.argv[part + 1]!.split(',') as DaemonBenchOptions['parts']) : undefined;
    const { rows, method } = await daemonBench({ quick, tmpRoot, bin, parts, log: (message) => void process.stderr.write(`[bench] ${message}\n`) });
    printStandalone(rows, method);
  } finally {
    rmSync(tmpRoot, { recursive: true, force: true });
  }
}

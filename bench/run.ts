// The benchmark harness: `npm run bench` (builds dist/ first), `npm run bench -- --quick` for a
// smoke check with few samples, `-- --profile` to also write CPU profiles (claim and ready, cold
// and warm; heal in process) to bench/out/ and print where their time goes. Writes BENCHMARKS.md
// at the root. Figures 1-5 are issue 2's, made here; 6-8 (lock contention between processes,
// exclusion violations, heal) are issue 3's, made by bench/crash-safety.ts; 9 (the log as
// history) is issue 4's, bench/log-history.ts; 10 (the watcher daemon) is issue 5's,
// bench/daemon.ts, which also runs alone: `npx tsx bench/daemon.ts [--quick]`; 13 (the storm:
// a person saving by hand while agents work) is issue 10's, bench/storm.ts, which also runs alone;
// 20 (agents' throughput on a board a person saves 60 times a second) is issue 20's, bench/busy-board.ts,
// which also runs alone; 21a-c (a broken agent CLI: the runner's breaker) are issue 21 item 4's,
// bench/breaker.ts, which also runs alone; 22 (each agent CLI's recipe through guild-fs run against
// the CLI by hand) is issue 21's, bench/recipes.ts, which also runs alone.
//
// Every figure is a ratio against a baseline measured in the same run, with subject and baseline
// runs interleaved (rotating their order) so that drift on a shared, noisy machine hits both
// alike; medians are reported, p90 beside them. Nothing is asserted: a missed target is reported
// as missed and the process still exits 0.
//
// guild-fs may keep state beside the locks (a parse cache of the board, in <git-common-dir>/guild/),
// so every command is measured twice: cold (that whole directory removed first: the first command
// after a hand edit or a fresh clone) and warm (after an untimed read-only command on the very same
// board bytes: the usual case when guild-fs itself wrote the board last). Both are reported.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import lockfile from 'proper-lockfile';
import { MkdirTaskLocks } from '../src/lock/task-locks.js';
import { summarizeProfile } from './cpu-profile.js';
import { crashSafetyBench, type FigureRow } from './crash-safety.js';
import { daemonBench } from './daemon.js';
import { stormBench } from './storm.js';
import { runnerStormBench } from './storm-runner.js';
import { busyBoardBench } from './busy-board.js';
import { breakerBench } from './breaker.js';
import { logHistoryBench } from './log-history.js';
import { worktreeBench } from './worktrees.js';
import { runnerBench } from './runner.js';
import { remoteBench } from './remote.js';
import { mcpBench } from './mcp.js';
import { graphBench } from './graph.js';
import { recipesBench } from './recipes.js';
import { staleSaveBench } from './stale-save.js';
import { generateBoard } from './generate-board.js';
import { fmt, max, median, min, p90, pairedRatios, rotation } from './stats.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const profile = argv.includes('--profile');

const config = quick
  ? { processSamples: 8, processWarmup: 1, lockRounds: 3, lockOps: 300, rssSamples: 3 }
  : { processSamples: 40, processWarmup: 2, lockRounds: 20, lockOps: 500, rssSamples: 10 };

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'guild-fs.js');
const AGENT = 'bench';
const TIME_BIN = '/usr/bin/time';

const log = (message: string): void => void process.stderr.write(`[bench] ${message}\n`);

// Children get this process's environment minus anything that would change what node does at
// start (NODE_OPTIONS would also make V8 reject the CLI's code cache) or what guild-fs does
// (GUILD_CAPS and friends); GUILD_AGENT is then set for every child, baseline included.
const childEnv: NodeJS.ProcessEnv = {};
for (const [key, value] of Object.entries(process.env)) {
  if (key === 'NODE_OPTIONS' || key === 'NODE_V8_COVERAGE' || key.startsWith('GUILD_')) continue;
  childEnv[key] = value;
}
childEnv.GUILD_AGENT = AGENT;

// ---------------------------------------------------------------------------------------------
// Temp repositories

interface BenchRepo {
  label: string;
  dir: string;
  board: string;
  audit: string;
  /** <git-common-dir>/guild: locks, the board mutex, and whatever else guild-fs keeps there. */
  state: string;
  text: Buffer;
  tasks: number;
  ready: number;
  /** Size of the `ready --json` output, in bytes. */
  readyBytes: number;
}

const tmpRoot = mkdtempSync(join(os.tmpdir(), 'guild-fs-bench-'));

function makeRepo(label: string, tasks: number): BenchRepo {
  const dir = join(tmpRoot, label);
  mkdirSync(dir);
  const git = spawnSync('git', ['init', '-q', '-b', 'main', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (git.status !== 0) throw new Error(`git init failed in ${dir}: ${git.stderr?.toString() ?? git.error?.message}`);
  const text = Buffer.from(generateBoard({ tasks }), 'utf8');
  const repo: BenchRepo = {
    label,
    dir,
    board: join(dir, 'ACTIVE_TASKS.md'),
    audit: join(dir, '.guild', 'audit.jsonl'),
    state: join(dir, '.git', 'guild'),
    text,
    tasks,
    ready: 0,
    readyBytes: 0,
  };
  mkdirSync(join(dir, '.guild'));
  resetRepo(repo);
  // How many tasks are claimable (untimed): reported in the method notes.
  const out = run([bin, 'ready', '--json'], dir).stdout.toString('utf8');
  repo.readyBytes = Buffer.byteLength(out);
  repo.ready = (JSON.parse(out) as { result: { tasks: unknown[] } }).result.tasks.length;
  return repo;
}

/** Back to the generated state: the board's bytes, no .git/guild at all (no locks, no mutex, no cache), an empty audit log. */
function resetRepo(repo: BenchRepo): void {
  writeFileSync(repo.board, repo.text);
  rmSync(repo.state, { recursive: true, force: true });
  writeFileSync(repo.audit, '');
}

/** resetRepo, then one untimed read-only command, so that whatever guild-fs keeps for this board is there. */
function resetWarm(repo: BenchRepo): void {
  resetRepo(repo);
  run([bin, 'ready', '--json'], repo.dir);
}

/** The files under a directory with their sizes, for the method notes. */
function listState(dir: string): string {
  const files: string[] = [];
  const walk = (d: string, rel: string): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      const path = join(d, name);
      const st = statSync(path);
      if (st.isDirectory()) walk(path, `${rel}${name}/`);
      else files.push(`\`${rel}${name}\` (${fmt(st.size / 1024, 0)} KiB)`);
    }
  };
  walk(dir, '');
  return files.length ? files.join(', ') : 'nothing';
}

// ---------------------------------------------------------------------------------------------
// Whole-process runs

function run(args: string[], cwd: string): { ms: number; stdout: Buffer } {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd, env: childEnv, maxBuffer: 256 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`node ${args.join(' ')} (in ${cwd}) exited ${result.status ?? result.signal}: ${result.stderr.toString('utf8').trim()}`);
  }
  return { ms, stdout: result.stdout };
}

interface ProcessSubject {
  key: string;
  args: string[];
  cwd: string;
  /** Untimed, before every run. */
  before?: () => void;
  /** Throws when the output is not what this subject must print (checked on every run). */
  check: (stdout: Buffer) => void;
  samples: number[];
}

/** Checks that every claim run claims the same task: the proof that each started from a fresh board. */
function claimCheck(label: string): (stdout: Buffer) => void {
  let expected: string | undefined;
  return (stdout) => {
    const line = stdout.toString('utf8').trim();
    const id = /^claimed: (\S+) /.exec(line)?.[1];
    if (!id) throw new Error(`claim on the ${label} board printed ${JSON.stringify(line.slice(0, 200))}`);
    expected ??= id;
    if (id !== expected) throw new Error(`claim on the ${label} board took ${id}, earlier runs took ${expected}: the board was not reset`);
  };
}

function readyCheck(repo: BenchRepo): (stdout: Buffer) => void {
  return (stdout) => {
    // Parsing ~1 MB every run would only slow the harness; the first run (in makeRepo) parsed it.
    if (stdout.length < 2 || stdout[0] !== 0x7b || !stdout.subarray(0, 12).toString().startsWith('{"ok":true')) {
      throw new Error(`ready --json on the ${repo.label} board printed ${JSON.stringify(stdout.subarray(0, 200).toString())}`);
    }
  };
}

// ---------------------------------------------------------------------------------------------
// In-process lock acquire + release

type LockVariant = 'raw' | 'rawOwner' | 'guild' | 'proper';

async function lockBench(): Promise<Record<LockVariant, number[]>> {
  const dir = join(tmpRoot, 'locks');
  mkdirSync(dir);
  const taskLocks = new MkdirTaskLocks(dir);
  const rawPath = join(dir, 'RAW-1.lock');
  const ownerPath = join(dir, 'RAW-2.lock');
  const ownerFile = join(ownerPath, 'owner.json');
  const ownerText = JSON.stringify({ task: 'GLD-1', agent: AGENT, host: os.hostname(), pid: null, pidStart: null, bootId: '00000000-0000-0000-0000-000000000000', acquired: new Date().toISOString(), heartbeat: new Date().toISOString(), token: '0'.repeat(24) });
  const properFile = join(dir, 'PL-1'); // proper-lockfile makes PL-1.lock beside it
  const variants: Record<LockVariant, (ops: number) => Promise<void>> = {
    raw: async (ops) => {
      for (let i = 0; i < ops; i++) {
        mkdirSync(rawPath);
        rmdirSync(rawPath);
      }
    },
    // The syscalls MkdirTaskLocks makes (mkdir, owner.json opened 'wx', written, closed; read
    // back and parsed on release; unlink, rmdir) with none of its logic: the floor for 'guild'.
    rawOwner: async (ops) => {
      for (let i = 0; i < ops; i++) {
        mkdirSync(ownerPath);
        const fd = openSync(ownerFile, 'wx');
        writeSync(fd, ownerText);
        closeSync(fd);
        JSON.parse(readFileSync(ownerFile, 'utf8'));
        unlinkSync(ownerFile);
        rmdirSync(ownerPath);
      }
    },
    guild: async (ops) => {
      for (let i = 0; i < ops; i++) {
        const got = taskLocks.acquire('GLD-1', { agent: AGENT });
        if (!got.ok) throw new Error('MkdirTaskLocks.acquire failed on a free lock');
        const released = taskLocks.release('GLD-1', got.owner.token);
        if (released !== 'released') throw new Error(`MkdirTaskLocks.release said ${released}`);
      }
    },
    proper: async (ops) => {
      for (let i = 0; i < ops; i++) {
        const release = await lockfile.lock(properFile, { realpath: false });
        await release();
      }
    },
  };
  const keys = Object.keys(variants) as LockVariant[];
  const perOp: Record<LockVariant, number[]> = { raw: [], rawOwner: [], guild: [], proper: [] };
  // Round 0 is a warm-up (JIT, directory entry caches) and is discarded.
  for (let round = 0; round <= config.lockRounds; round++) {
    for (const key of rotation(keys, round)) {
      const start = process.hrtime.bigint();
      await variants[key](config.lockOps);
      const us = Number(process.hrtime.bigint() - start) / 1e3 / config.lockOps;
      if (round > 0) perOp[key].push(us);
    }
    if (round > 0) log(`locks round ${round}/${config.lockRounds}: raw ${fmt(perOp.raw.at(-1)!, 2)} us, raw + owner.json ${fmt(perOp.rawOwner.at(-1)!, 2)} us, MkdirTaskLocks ${fmt(perOp.guild.at(-1)!, 2)} us, proper-lockfile ${fmt(perOp.proper.at(-1)!, 2)} us per op`);
  }
  return perOp;
}

// ---------------------------------------------------------------------------------------------
// Peak memory

const PRELOAD = `'use strict';
// Written by bench/run.ts: at exit, records this process's peak RSS two ways.
const fs = require('node:fs');
const out = process.env.BENCH_PEAK_RSS_OUT;
process.on('exit', () => {
  let hwm = null;
  try {
    const m = /^VmHWM:\\s+(\\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) hwm = Number(m[1]);
  } catch {}
  if (out) fs.writeFileSync(out, JSON.stringify({ hwm, maxRss: process.resourceUsage().maxRSS }));
});
`;

interface RssSample {
  /** KiB, from /usr/bin/time -f %M (the kernel's ru_maxrss for the waited child); null without it. */
  time: number | null;
  /** KiB, VmHWM from /proc/self/status read in an exit hook; null off Linux. */
  hwm: number | null;
  /** KiB, process.resourceUsage().maxRSS in the same exit hook. */
  maxRss: number | null;
}

const hasTime = existsSync(TIME_BIN) && spawnSync(TIME_BIN, ['-f', '%M', 'true'], { stdio: 'ignore' }).status === 0;

function peakRss(args: string[], cwd: string): RssSample {
  const preload = join(tmpRoot, 'peak-rss-preload.cjs');
  if (!existsSync(preload)) writeFileSync(preload, PRELOAD);
  const outFile = join(tmpRoot, 'peak-rss.json');
  const timeFile = join(tmpRoot, 'peak-rss.time');
  rmSync(outFile, { force: true });
  rmSync(timeFile, { force: true });
  const nodeArgs = ['--require', preload, ...args];
  const env = { ...childEnv, BENCH_PEAK_RSS_OUT: outFile };
  const result = hasTime
    ? spawnSync(TIME_BIN, ['-f', '%M', '-o', timeFile, process.execPath, ...nodeArgs], { cwd, env, maxBuffer: 256 * 1024 * 1024 })
    : spawnSync(process.execPath, nodeArgs, { cwd, env, maxBuffer: 256 * 1024 * 1024 });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`peak RSS run of ${args.join(' ')} exited ${result.status}: ${result.stderr.toString().trim()}`);
  const hook = JSON.parse(readFileSync(outFile, 'utf8')) as { hwm: number | null; maxRss: number | null };
  const time = hasTime ? Number(readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)) : null;
  return { time: Number.isFinite(time) ? time : null, hwm: hook.hwm, maxRss: hook.maxRss };
}

// ---------------------------------------------------------------------------------------------
// Report

/** A row of the tables (the shape bench/crash-safety.ts fills in too). */
type Row = FigureRow;

function ratioOfMedians(row: Row): number {
  return median(row.subject) / median(row.baseline);
}

function mainTable(rows: Row[]): string {
  const lines = ['| figure | subject median | baseline median | ratio | target | met? |', '|---|---:|---:|---:|---|---|'];
  for (const row of rows) {
    const met = row.show?.met ?? (row.met ? 'yes' : '**no**');
    const subject = row.show?.subject ?? `${fmt(median(row.subject), row.digits)} ${row.unit}`;
    const baseline = row.show?.baseline ?? `${fmt(median(row.baseline), row.digits)} ${row.unit}`;
    const ratio = row.show?.ratio ?? `${fmt(ratioOfMedians(row), 2)}x`;
    lines.push(`| ${row.figure} | ${subject} | ${baseline} | ${ratio} | ${row.target} | ${met}${row.judgedOn ? ` (${row.judgedOn})` : ''} |`);
  }
  return lines.join('\n');
}

function detailTable(rows: Row[]): string {
  const lines = [
    '| figure | n | subject p90 | subject min | baseline p90 | baseline min | median of paired ratios | p90 of paired ratios |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    const d = row.digits;
    const paired = row.paired ? [`${fmt(median(row.paired), 2)}x`, `${fmt(p90(row.paired), 2)}x`] : ['-', '-'];
    lines.push(
      `| ${row.figure} | ${row.subject.length} | ${fmt(p90(row.subject), d)} ${row.unit} | ${fmt(min(row.subject), d)} ${row.unit} | ${fmt(p90(row.baseline), d)} ${row.unit} | ${fmt(min(row.baseline), d)} ${row.unit} | ${paired[0]} | ${paired[1]} |`,
    );
  }
  return lines.join('\n');
}

function tmpFileSystem(): string {
  // The longest mount point that holds os.tmpdir(): fsync and rename costs depend on it.
  try {
    const dir = os.tmpdir();
    let best = { mount: '', type: 'unknown' };
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, mount, type] = line.split(' ');
      if (!mount || !type) continue;
      const inside = mount === '/' || dir === mount || dir.startsWith(`${mount}/`);
      if (inside && mount.length > best.mount.length) best = { mount, type };
    }
    return `${dir} on ${best.type} (mount ${best.mount})`;
  } catch {
    return `${os.tmpdir()} (file system unknown)`;
  }
}

function gitDescribe(): string {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' });
  if (head.status !== 0) return 'unknown commit';
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' });
  return `${head.stdout.trim()}${dirty.stdout.trim() ? ' + uncommitted changes' : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const started = new Date();
  const loadStart = os.loadavg();
  log(`${quick ? 'quick' : 'full'} run: ${config.processSamples} samples per process figure (+${config.processWarmup} warm-up), ${config.lockRounds} x ${config.lockOps} lock ops, ${config.rssSamples} peak-RSS samples`);
  log(`temp repos in ${tmpRoot}`);

  const r10 = makeRepo('board-10', 10);
  const r1k = makeRepo('board-1k', 1_000);
  const r10k = makeRepo('board-10k', 10_000);
  const rReadyWarm = makeRepo('board-10k-ready-warm', 10_000);
  const rReadyCold = makeRepo('board-10k-ready-cold', 10_000);
  log(`boards: 10 tasks (${r10.ready} ready), 1,000 (${r1k.ready} ready, ${r1k.text.length} bytes), 10,000 (${r10k.ready} ready, ${r10k.text.length} bytes)`);
  // What a read leaves in .git/guild for the 10,000-task board: what "warm" means in this build.
  resetWarm(r10k);
  const warmState = listState(r10k.state);
  resetRepo(r10k);
  log(`state a read leaves in .git/guild (10,000 tasks): ${warmState}`);

  // --- Figures 1-3 (and a fixed-cost reference): whole processes, one shared bare-node baseline.
  const claim = (key: string, repo: BenchRepo, warm: boolean, label: string): ProcessSubject => ({
    key,
    // --no-worktree: figures 1-3 measure the claim itself; figure 10 measures it with its worktree.
    args: [bin, 'claim', '--no-worktree'],
    cwd: repo.dir,
    before: () => (warm ? resetWarm(repo) : resetRepo(repo)),
    check: claimCheck(label),
    samples: [],
  });
  const subjects: ProcessSubject[] = [
    { key: 'node', args: ['-e', ''], cwd: r1k.dir, check: () => {}, samples: [] },
    claim('claim10', r10, false, '10-task'),
    claim('claim1k-warm', r1k, true, '1,000-task'),
    claim('claim1k-cold', r1k, false, '1,000-task'),
    claim('claim10k-warm', r10k, true, '10,000-task'),
    claim('claim10k-cold', r10k, false, '10,000-task'),
    // Warm: never reset; every earlier run (and makeRepo's) left its state for these same bytes.
    { key: 'ready10k-warm', args: [bin, 'ready', '--json'], cwd: rReadyWarm.dir, check: readyCheck(rReadyWarm), samples: [] },
    { key: 'ready10k-cold', args: [bin, 'ready', '--json'], cwd: rReadyCold.dir, before: () => resetRepo(rReadyCold), check: readyCheck(rReadyCold), samples: [] },
  ];
  const byKey = new Map(subjects.map((s) => [s.key, s]));
  const total = config.processWarmup + config.processSamples;
  const t0 = Date.now();
  for (let i = 0; i < total; i++) {
    for (const subject of rotation(subjects, i)) {
      subject.before?.();
      const { ms, stdout } = run(subject.args, subject.cwd);
      subject.check(stdout);
      if (i >= config.processWarmup) subject.samples.push(ms);
    }
    if (i < config.processWarmup) log(`process warm-up ${i + 1}/${config.processWarmup}`);
    else if ((i - config.processWarmup + 1) % 5 === 0 || i === total - 1) {
      const m = (key: string) => fmt(median(byKey.get(key)!.samples), 0);
      log(
        `process sample ${i - config.processWarmup + 1}/${config.processSamples} (${Math.round((Date.now() - t0) / 1000)}s), medians in ms (warm/cold): node ${m('node')}, claim 1k ${m('claim1k-warm')}/${m('claim1k-cold')}, claim 10k ${m('claim10k-warm')}/${m('claim10k-cold')}, ready 10k ${m('ready10k-warm')}/${m('ready10k-cold')}`,
      );
    }
  }
  for (const repo of [r10, r1k, r10k]) resetRepo(repo);

  // --- Figure 4: in-process locks.
  log('lock acquire + release, in process');
  const locks = await lockBench();

  // --- Figure 5: peak RSS, claim on 10,000 tasks (cold and warm) vs bare node, interleaved.
  log(`peak RSS (${hasTime ? `${TIME_BIN} -f %M, cross-checked by VmHWM in an exit hook` : 'VmHWM in an exit hook; /usr/bin/time not found'})`);
  const rss: Record<'cold' | 'warm' | 'node', RssSample[]> = { cold: [], warm: [], node: [] };
  for (let i = 0; i < config.rssSamples; i++) {
    for (const which of rotation(['cold', 'warm', 'node'] as const, i)) {
      if (which === 'node') {
        rss.node.push(peakRss(['-e', ''], r10k.dir));
        continue;
      }
      if (which === 'warm') resetWarm(r10k);
      else resetRepo(r10k);
      rss[which].push(peakRss([bin, 'claim', '--no-worktree'], r10k.dir));
    }
  }
  resetRepo(r10k);
  const primary = (s: RssSample): number => (s.time ?? s.hwm ?? s.maxRss ?? Number.NaN) / 1024;
  const mib = (samples: RssSample[], pick: (s: RssSample) => number | null) => samples.map((s) => (pick(s) ?? Number.NaN) / 1024);
  const coldMiB = rss.cold.map(primary);
  const warmMiB = rss.warm.map(primary);
  const nodeMiB = rss.node.map(primary);

  // --- Figures 6-8 (issue 3): lock contention between processes, violations, heal.
  const crash = await crashSafetyBench({ quick, profile, tmpRoot, log });

  // --- Figure 9 (issue 4): replay --check and stats over a million events.
  const history = await logHistoryBench({ quick, tmpRoot, log, bin });

  // --- Figure 10 (issue 5): the watcher daemon.
  const daemon = await daemonBench({ quick, tmpRoot, log, bin });
  // --- Figures 11-12 (issue 6): claim with its worktree, conflicts over 20 branches.
  const worktrees = await worktreeBench({ quick, tmpRoot, log, bin });
  // --- Figure 13 (issue 10): the storm, a person saving the board while agents work.
  const storm = await stormBench({ quick, tmpRoot, log });
  // --- Figure 14 (issue 12): the runner's overhead per task and its memory.
  const runner = await runnerBench({ quick, tmpRoot, log, bin });
  // --- Figure 15 (issue 13): claims and ready through the git remote.
  const remote = await remoteBench({ quick, tmpRoot, log, bin });
  // --- Figure 16 (issue 14): the MCP server.
  const mcp = await mcpBench({ quick, tmpRoot, log, bin });
  const graph = await graphBench({ quick, tmpRoot, log, bin }); // Figure 17 (issue 14): graph vs ready.
  // --- Figure 18 (issue 20): a save from a buffer opened before 1,000 tool writes.
  const staleSave = await staleSaveBench({ quick, tmpRoot, log, bin });
  // --- Figure 19 (issue 20): the storm with the real runner.
  const runnerStorm = await runnerStormBench({ quick, tmpRoot, log });
  // --- Figure 20 (issue 20): agents' throughput on a board a person saves 60 times a second.
  const busyBoard = await busyBoardBench({ quick, tmpRoot, log });
  // --- Figure 21a-c (issue 21 item 4): a broken agent CLI on a 20-task board.
  const breaker = await breakerBench({ quick, tmpRoot, log, bin });
  // --- Figure 22 (issue 21): each recipe's overhead, the real agent CLIs against scripted models.
  const recipes = await recipesBench({ quick, tmpRoot, log, bin });

  // --- Optional: CPU profiles.
  let profileText = '';
  if (profile) profileText = [profileRuns(r10, r10k, rReadyWarm, rReadyCold), crash.profileText].join('\n');

  const loadEnd = os.loadavg();
  const s = (key: string) => byKey.get(key)!.samples;
  const nodeSamples = s('node');
  const processRow = (figure: string, key: string, limit: number): Row => {
    const row: Row = { figure, unit: 'ms', subject: s(key), baseline: nodeSamples, paired: pairedRatios(s(key), nodeSamples), target: `<= ${limit.toFixed(1)}x node`, met: false, digits: 1 };
    row.met = ratioOfMedians(row) <= limit;
    return row;
  };
  const rssRow = (figure: string, subject: number[]): Row => ({
    figure,
    unit: 'MiB',
    subject,
    baseline: nodeMiB,
    paired: pairedRatios(subject, nodeMiB),
    target: '< 100 MiB',
    met: max(subject) < 100,
    judgedOn: `largest sample ${fmt(max(subject), 1)} MiB`,
    digits: 1,
  });
  const lockRow = (figure: string, subject: LockVariant, baseline: LockVariant, target: string, limit: number | null): Row => {
    const row: Row = { figure, unit: 'us/op', subject: locks[subject], baseline: locks[baseline], paired: pairedRatios(locks[subject], locks[baseline]), target, met: true, digits: 1 };
    if (limit !== null) row.met = ratioOfMedians(row) <= limit;
    return row;
  };
  const rows: Row[] = [
    processRow('1a. `claim`, 1,000 tasks, warm', 'claim1k-warm', 2.0),
    processRow('1b. `claim`, 1,000 tasks, cold', 'claim1k-cold', 2.0),
    processRow('2a. `claim`, 10,000 tasks, warm', 'claim10k-warm', 3.0),
    processRow('2b. `claim`, 10,000 tasks, cold', 'claim10k-cold', 3.0),
    processRow('3a. `ready --json`, 10,000 tasks, warm', 'ready10k-warm', 3.0),
    processRow('3b. `ready --json`, 10,000 tasks, cold', 'ready10k-cold', 3.0),
    lockRow('4a. lock acquire + release vs raw `mkdirSync` + `rmdirSync`', 'guild', 'raw', '<= 2.5x raw', 2.5),
    lockRow('4b. lock acquire + release vs proper-lockfile', 'guild', 'proper', '<= 1.0x proper-lockfile', 1.0),
    rssRow('5a. peak RSS, `claim`, 10,000 tasks, cold', coldMiB),
    rssRow('5b. peak RSS, `claim`, 10,000 tasks, warm', warmMiB),
    ...crash.rows,
    ...history.rows,
    ...daemon.rows,
    ...worktrees.rows,
    ...storm.rows,
    ...runner.rows,
    ...remote.rows,
    ...mcp.rows,
    ...graph.rows,
    ...staleSave.rows,
    ...runnerStorm.rows,
    ...busyBoard.rows,
    ...breaker.rows,
    ...recipes.rows,
  ];
  const references: Row[] = [
    { ...processRow('ref. `claim`, 10 tasks, cold (fixed cost)', 'claim10', Number.POSITIVE_INFINITY), target: 'none' },
    lockRow('ref. lock acquire + release vs the same syscalls done raw', 'guild', 'rawOwner', 'none', null),
    ...crash.references,
  ];

  const cpus = os.cpus();
  const header = [
    `- Date: ${started.toISOString()} (${quick ? 'quick run: few samples, a smoke check only' : 'full run'}; took ${Math.round((Date.now() - started.getTime()) / 1000)} s)`,
    `- Node: ${process.version}; guild-fs ${gitDescribe()}, dist/guild-fs.cjs sha1 ${distHash()}`,
    `- Machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown model'}), ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, ${os.type()} ${os.release()} ${os.arch()}`,
    `- Temp repos: ${tmpFileSystem()}`,
    `- Load average (1/5/15 min) at start: ${loadStart.map((x) => x.toFixed(2)).join(' ')}; at end: ${loadEnd.map((x) => x.toFixed(2)).join(' ')}`,
  ].join('\n');

  const cross = (samples: RssSample[]) =>
    `VmHWM ${fmt(median(mib(samples, (x) => x.hwm)), 1)} MiB, maxRSS ${fmt(median(mib(samples, (x) => x.maxRss)), 1)} MiB, time ${fmt(median(mib(samples, (x) => x.time)), 1)} MiB`;
  const rssNote = hasTime
    ? `\`${TIME_BIN} -f %M\` wrapped around \`node --require <preload> bin/guild-fs.js claim\`: the kernel's \`ru_maxrss\` for the waited node process, in KiB. The preload (a few lines the harness writes to its temp dir) also reads \`VmHWM\` from \`/proc/self/status\` and \`process.resourceUsage().maxRSS\` in an \`exit\` hook, as a cross-check (medians, cold claim: ${cross(rss.cold)}; warm claim: ${cross(rss.warm)}; bare node: ${cross(rss.node)}). The exit hook runs before node tears down, so it can miss only what exit itself allocates.`
    : `no \`${TIME_BIN}\` here: \`VmHWM\` from \`/proc/self/status\` (else \`process.resourceUsage().maxRSS\`), read in an \`exit\` hook installed by a \`--require\` preload the harness writes to its temp dir. The hook runs before node tears down, so it can miss only what exit itself allocates.`;

  const method = `## Method

All whole-process figures spawn \`process.execPath\` with \`child_process.spawnSync\`, stdout and stderr piped back to the harness, and time the call with \`process.hrtime.bigint()\`: the baseline is the very same spawn of \`node -e ""\`, so spawn and pipe overhead sit on both sides of the ratio. The children get the harness's environment without \`NODE_OPTIONS\`, \`NODE_V8_COVERAGE\` and \`GUILD_*\` variables, plus \`GUILD_AGENT=${AGENT}\` (baseline included). Each of the ${total} iterations runs every process subject once (bare node; claim on 10 tasks; claim on 1,000 and on 10,000 tasks, warm and cold; ready on 10,000 tasks, warm and cold) in an order rotated by one place per iteration and reversed on alternate cycles, so that every subject runs in every position; the first ${config.processWarmup} iteration(s) are discarded as warm-up. Ratios are the median of the subject over the median of the baseline; "median of paired ratios" in the details divides each subject sample by the node sample of the same iteration. Boards come from \`bench/generate-board.ts\` (seed 1): the 1,000-task board has ${r1k.ready} claimable tasks (${r1k.text.length} bytes), the 10,000-task board ${r10k.ready} (${r10k.text.length} bytes).

**Cold and warm.** guild-fs may keep state about the board under \`<git-common-dir>/guild/\` beside the locks. *Cold*: before the run, all of \`.git/guild\` is removed: the first command after the board was edited by hand (or in a fresh clone) is in that state. *Warm*: after the cold reset, one untimed \`guild-fs ready --json\` on the same board bytes: the state after guild-fs itself last read or wrote the board, as in a run of agents claiming one after the other. In this build a read leaves: ${warmState}. If guild-fs keeps no such state, warm and cold measure the same thing. Both are reported; the targets are the same for both.

**1, 2. \`claim\`.** \`node bin/guild-fs.js claim --no-worktree\` in the temp repo, \`GUILD_AGENT\` set, no ID (the next ready task), \`--no-worktree\` (figure 10 measures a claim with its worktree). A fresh copy every run: before each run, outside the timed part, the board's generated bytes are written back, \`.git/guild\` is removed (locks, board mutex, any cache) and \`.guild/audit.jsonl\` is truncated, then primed for warm runs, so every run claims the same task from the same board (checked: each run must print \`claimed: <ID>\`, always the same ID). The timed part is the whole claim: start-up, board read (parse or cache), lock mkdir + owner.json, the audit append, and the atomic board rewrite with fsync. The 10-task reference row in the details is the part of a claim that does not grow with the board.

**3. \`ready --json\`.** \`node bin/guild-fs.js ready --json\` on a 10,000-task board that is never modified, ${r10k.ready} tasks in the output (~${fmt(rReadyWarm.readyBytes / 1024, 0)} KiB of JSON), read through the pipe in full by the harness; each run's output is checked to be an \`{"ok":true,...}\` envelope. Warm: a repo never reset (every run leaves its state for the next). Cold: another repo whose \`.git/guild\` is removed before every run.

**4. Locks, in process.** In one temp directory, ${config.lockRounds} rounds (after one discarded warm-up round) of ${config.lockOps} sequential acquire + release pairs for each of: raw \`fs.mkdirSync\` + \`fs.rmdirSync\`; \`new MkdirTaskLocks(dir).acquire('GLD-1', {agent})\` + \`.release('GLD-1', token)\` from \`src/lock/task-locks.ts\` (run through tsx; checked to succeed every time); \`proper-lockfile\` \`lock(file, {realpath: false})\` + \`release()\`, both awaited (async, graceful-fs: mkdir and an mtime probe, plus the update timer it arms and clears); and, as a reference, the syscalls MkdirTaskLocks makes done raw with none of its logic (mkdir, owner.json opened \`wx\`, written, closed, read back and parsed, unlinked, rmdir). The four run back to back within a round in rotated order. The figure is the median over rounds of the per-round time per pair.

**5. Peak memory.** ${config.rssSamples} \`claim\` runs each, cold and warm, on a fresh copy of the 10,000-task board, interleaved with ${config.rssSamples} bare \`node -e ""\` runs measured the same way: ${rssNote} The target is judged on the largest sample, not the median.

${crash.method}

${history.method}

${daemon.method}
${worktrees.method}

${storm.method}

${runner.method}

${remote.method}

${mcp.method}

${graph.method}

${staleSave.method}

${runnerStorm.method}

${busyBoard.method}

${breaker.method}
${recipes.method}

Nothing here is asserted: \`bench/run.ts\` exits 0 whether or not a target is met. The machine may be shared; read the p90 and paired-ratio columns and the load average before trusting a small difference.`;

  const doc = `# Benchmarks

Generated by \`npm run bench\` (\`bench/run.ts\`); regenerate rather than edit. Warm and cold are defined under Method.

${header}

${mainTable(rows)}

### Details

${detailTable([...rows, ...references])}

${method}
`;

  process.stdout.write(`\n${mainTable(rows)}\n\n${detailTable([...rows, ...references])}\n`);
  if (profileText) process.stdout.write(`\n${profileText}\n`);
  writeFileSync(join(root, 'BENCHMARKS.md'), doc);
  log(`wrote ${join(root, 'BENCHMARKS.md')}`);
}

function distHash(): string {
  try {
    return createHash('sha1').update(readFileSync(join(root, 'dist', 'guild-fs.cjs'))).digest('hex').slice(0, 12);
  } catch {
    return 'unknown';
  }
}

/** Profiled runs (claim on 10 and on 10,000 tasks, cold and warm; ready on 10,000, cold and warm); a summary of each. */
function profileRuns(r10: BenchRepo, r10k: BenchRepo, rReadyWarm: BenchRepo, rReadyCold: BenchRepo): string {
  const outDir = join(root, 'bench', 'out');
  mkdirSync(outDir, { recursive: true });
  const parts: string[] = [];
  const cases: [string, BenchRepo, string[], (() => void) | null][] = [
    ['claim-10-cold', r10, ['claim', '--no-worktree'], () => resetRepo(r10)],
    ['claim-10k-cold', r10k, ['claim', '--no-worktree'], () => resetRepo(r10k)],
    ['claim-10k-warm', r10k, ['claim', '--no-worktree'], () => resetWarm(r10k)],
    ['ready-10k-cold', rReadyCold, ['ready', '--json'], () => resetRepo(rReadyCold)],
    ['ready-10k-warm', rReadyWarm, ['ready', '--json'], null],
  ];
  for (const [name, repo, args, before] of cases) {
    before?.();
    const file = `${name}.cpuprofile`;
    rmSync(join(outDir, file), { force: true });
    const { ms } = run(['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', outDir, '--cpu-prof-name', file, bin, ...args], repo.dir);
    const summary = summarizeProfile(join(outDir, file), { tailAfter: 'printResult' });
    parts.push(
      `CPU profile ${relative(root, join(outDir, file))}: ${fmt(ms, 0)} ms wall (profiled), ${fmt(summary.totalMs, 0)} ms sampled (node's bootstrap before the profiler starts is not sampled)`,
      '  self time by origin:',
      ...summary.byOrigin.slice(0, 8).map((o) => `    ${fmt(o.ms, 1).padStart(7)} ms  ${o.origin}`),
      '  top functions by self time:',
      ...summary.byFunction.map((f) => `    ${fmt(f.ms, 1).padStart(7)} ms  ${f.name}`),
      ...(summary.tail
        ? [`  after the output was printed (last sample in ${summary.tail.after}): ${fmt(summary.tail.ms, 1)} ms`, ...summary.tail.byLeaf.map((f) => `    ${fmt(f.ms, 1).padStart(7)} ms  ${f.name}`)]
        : []),
      '',
    );
  }
  for (const repo of [r10, r10k]) resetRepo(repo);
  return parts.join('\n');
}

try {
  await main();
} catch (error) {
  // A broken harness (a subject that fails, a board that was not reset) is an error; a missed
  // target is not, and never gets here.
  process.stderr.write(`[bench] failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
} finally {
  rmSync(tmpRoot, { recursive: true, force: true });
}

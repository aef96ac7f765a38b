// Issue 3's figures, run by bench/run.ts after issue 2's:
//   6. lock acquisitions per second, 8 processes contending for 4 task IDs, MkdirTaskLocks
//      against raw mkdir/rmdir (bench/contention-worker.ts is the process);
//   7. mutual-exclusion violations seen during that run (an O_EXCL witness file per task);
//   8. `heal` in process over 1,000 locks, 10% of them stale (and 0% stale: a pure check),
//      against a plain scan of the same locks directory.
// Same rules as the rest of the harness: baselines measured in the same run, interleaved in
// rotated order, medians; nothing asserted except that the harness itself works.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MkdirTaskLocks } from '../src/lock/task-locks.js';
import { healGuild, type HealResult } from '../src/health/heal.js';
import { loadBoard, openGuild } from '../src/tasks/guild.js';
import type { ContentionVariant, RoundCommand, RoundResult, WorkerConfig } from './contention-worker.js';
import { fmt, median, pairedRatios, rotation } from './stats.js';

/** A row of the BENCHMARKS.md tables; the same shape as bench/run.ts's Row. */
export interface FigureRow {
  figure: string;
  unit: string;
  subject: number[];
  baseline: number[];
  paired?: number[];
  target: string;
  met: boolean;
  judgedOn?: string;
  digits: number;
  /** Cells shown instead of the computed ones, where a median or a ratio means nothing. */
  show?: { subject?: string; baseline?: string; ratio?: string; met?: string };
}

export interface CrashSafetyOptions {
  quick: boolean;
  profile: boolean;
  /** A temp directory of the harness's, removed by it at the end. */
  tmpRoot: string;
  log: (message: string) => void;
}

export interface CrashSafetyResult {
  rows: FigureRow[];
  references: FigureRow[];
  /** Method paragraphs, Markdown. */
  method: string;
  /** With --profile: where heal's time goes, as text. */
  profileText: string;
}

const root = fileURLToPath(new URL('..', import.meta.url));
const WORKER = join(root, 'bench', 'contention-worker.ts');

// ---------------------------------------------------------------------------------------------
// 6, 7. Contention

const CONTENTION_WORKERS = 8;
const CONTENTION_TASKS = ['GLD-1', 'GLD-2', 'GLD-3', 'GLD-4'];
/** How far ahead of now the start time of a round is set: every worker has read its command by then. */
const BARRIER_LEAD_MS = 300;

interface Worker {
  child: ChildProcess;
  next: (timeoutMs: number) => Promise<string>;
}

function startWorker(config: WorkerConfig): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(config)], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  const queue: string[] = [];
  const waiters: ((line: string | null) => void)[] = [];
  let ended = false;
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    const waiter = waiters.shift();
    if (waiter) waiter(line);
    else queue.push(line);
  });
  lines.on('close', () => {
    ended = true;
    for (const waiter of waiters.splice(0)) waiter(null);
  });
  const next = (timeoutMs: number): Promise<string> =>
    new Promise((resolve, reject) => {
      const queued = queue.shift();
      if (queued !== undefined) return resolve(queued);
      if (ended) return reject(new Error(`contention worker ${config.index} exited`));
      const timer = setTimeout(() => reject(new Error(`contention worker ${config.index} said nothing for ${timeoutMs} ms`)), timeoutMs);
      waiters.push((line) => {
        clearTimeout(timer);
        if (line === null) reject(new Error(`contention worker ${config.index} exited`));
        else resolve(line);
      });
    });
  return { child, next };
}

interface ContentionRound {
  variant: ContentionVariant;
  seconds: number;
  acquired: number;
  attempts: number;
  violations: number;
  releaseFailures: number;
  /** Latest start after the barrier time, over the workers, in ms. */
  startSkewMs: number;
  /** Acquisitions per worker, for spread. */
  perWorker: number[];
}

async function contentionBench(options: CrashSafetyOptions, rounds: number, roundMs: number, warmupMs: number): Promise<Record<ContentionVariant, ContentionRound[]>> {
  const base = join(options.tmpRoot, 'contention');
  const locksDirs = { guild: join(base, 'locks-guild'), raw: join(base, 'locks-raw') };
  const witnessDirs = { guild: join(base, 'witness-guild'), raw: join(base, 'witness-raw') };
  for (const dir of [...Object.values(locksDirs), ...Object.values(witnessDirs)]) mkdirSync(dir, { recursive: true });
  const workers: Worker[] = [];
  const out: Record<ContentionVariant, ContentionRound[]> = { guild: [], raw: [] };
  try {
    for (let index = 0; index < CONTENTION_WORKERS; index++) {
      workers.push(startWorker({ index, agent: `bench-${index}`, tasks: CONTENTION_TASKS, locksDirs, witnessDirs }));
    }
    // Eight tsx start-ups on a shared machine: be patient.
    for (const worker of workers) {
      const line = await worker.next(120_000);
      if (line !== 'ready') throw new Error(`a contention worker said ${JSON.stringify(line)} instead of ready`);
    }
    const runRound = async (variant: ContentionVariant, ms: number): Promise<ContentionRound> => {
      for (const dir of [locksDirs[variant], witnessDirs[variant]]) {
        const left = readdirSync(dir);
        if (left.length > 0) throw new Error(`${dir} is not empty before a round: ${left.slice(0, 5).join(', ')}`);
      }
      const startAt = Date.now() + BARRIER_LEAD_MS;
      const command: RoundCommand = { variant, startAt, endAt: startAt + ms };
      for (const worker of workers) worker.child.stdin!.write(`${JSON.stringify(command)}\n`);
      const results = await Promise.all(workers.map(async (worker) => JSON.parse(await worker.next(ms + 120_000)) as RoundResult));
      const sum = (pick: (r: RoundResult) => number) => results.reduce((total, r) => total + pick(r), 0);
      return {
        variant,
        seconds: ms / 1000,
        acquired: sum((r) => r.acquired),
        attempts: sum((r) => r.attempts),
        violations: sum((r) => r.violations),
        releaseFailures: sum((r) => r.releaseFailures),
        startSkewMs: Math.max(...results.map((r) => r.began - startAt)),
        perWorker: results.map((r) => r.acquired),
      };
    };
    const variants: ContentionVariant[] = ['guild', 'raw'];
    // A discarded warm-up round of each (JIT, directory entry caches).
    for (const variant of variants) {
      const warm = await runRound(variant, warmupMs);
      options.log(`contention warm-up, ${variant}: ${fmt(warm.acquired / warm.seconds, 0)} acquisitions/s`);
    }
    for (let round = 0; round < rounds; round++) {
      for (const variant of rotation(variants, round)) {
        const result = await runRound(variant, roundMs);
        out[variant].push(result);
        options.log(
          `contention round ${round + 1}/${rounds}, ${variant === 'guild' ? 'MkdirTaskLocks' : 'raw mkdir'}: ${fmt(result.acquired / result.seconds, 0)} acquisitions/s (${fmt(result.attempts / result.seconds, 0)} attempts/s), ${result.violations} violations, ${result.releaseFailures} release failures, start skew ${result.startSkewMs} ms`,
        );
      }
    }
  } finally {
    for (const worker of workers) worker.child.stdin?.end();
    await Promise.all(
      workers.map(async (worker) => {
        if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
        const exited = once(worker.child, 'exit');
        const timer = setTimeout(() => worker.child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 8. heal

const HEAL_TASKS = 1_000;
/** Every tenth lock is the special one: stale by proof in one repo, bound to a live process in the other. */
const isSpecial = (n: number): boolean => n % 10 === 0;
const agentOf = (n: number): string => `agent-${n % 7}`;

/** A board of `tasks` tasks, all In Progress, GLD-n owned by agentOf(n). */
function inProgressBoard(tasks: number): string {
  const words = ['Add', 'Fix', 'Refactor', 'Document', 'Test', 'Speed up', 'Remove', 'Rename'];
  const things = ['the login form', 'the users table', 'the parser', 'caching', 'the CLI help', 'retries', 'the README', 'metrics'];
  const prios = ['', '', ' prio:high', ' prio:low'];
  const inProgress: string[] = [];
  for (let n = 1; n <= tasks; n++) {
    inProgress.push(`- [ ] GLD-${n} ${words[n % words.length]} ${things[(n * 3) % things.length]} (${n})${prios[n % prios.length]} owner:${agentOf(n)}`);
  }
  const out = ['---', 'guild: 1', 'prefix: GLD', 'lock_ttl: 1h', 'max_tries: 3', '---', '# Active Tasks', '', `A board of ${tasks} tasks, all In Progress.`, ''];
  for (const heading of ['Backlog', 'Blocked', 'Ready', 'In Progress', 'Review', 'Done', 'Failed']) out.push(`## ${heading}`, ...(heading === 'In Progress' ? inProgress : []), '');
  return out.join('\n');
}

interface HealRepo {
  label: string;
  dir: string;
  board: string;
  boardBytes: Buffer;
  audit: string;
  locksDir: string;
  cacheDir: string;
  /** owner.json of every special lock, as first written, for putting back the ones heal broke. */
  special: Map<string, string>;
}

/** Spawns a process that idles until killed: a pid for locks to be bound to. */
function idler(): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
  if (child.pid === undefined) throw new Error('could not spawn an idle process');
  return child;
}

async function makeHealRepo(tmpRoot: string, label: string, specialPid: number): Promise<HealRepo> {
  const dir = join(tmpRoot, label);
  mkdirSync(dir);
  const git = spawnSync('git', ['init', '-q', '-b', 'main', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (git.status !== 0) throw new Error(`git init failed in ${dir}: ${git.stderr?.toString() ?? git.error?.message}`);
  const guild = openGuild(dir);
  const repo: HealRepo = {
    label,
    dir,
    board: guild.boardPath,
    boardBytes: Buffer.from(inProgressBoard(HEAL_TASKS), 'utf8'),
    audit: guild.logPath,
    locksDir: guild.locksDir,
    cacheDir: join(dir, '.git', 'guild', 'cache'),
    special: new Map(),
  };
  writeFileSync(repo.board, repo.boardBytes);
  mkdirSync(join(dir, '.guild'), { recursive: true });
  writeFileSync(repo.audit, '');
  const locks = new MkdirTaskLocks(repo.locksDir);
  for (let n = 1; n <= HEAL_TASKS; n++) {
    const task = `GLD-${n}`;
    const got = locks.acquire(task, { agent: agentOf(n), pid: isSpecial(n) ? specialPid : null });
    if (!got.ok) throw new Error(`could not lock ${task} in ${label}`);
    if (isSpecial(n)) repo.special.set(task, readFileSync(join(repo.locksDir, `${task}.lock`, 'owner.json'), 'utf8'));
  }
  return repo;
}

/** Puts back the special locks heal broke, the board's bytes and an empty log; cold: no parse cache, warm: primed by one untimed read. */
async function restoreHealRepo(repo: HealRepo, cache: 'cold' | 'warm' | 'any'): Promise<void> {
  for (const [task, text] of repo.special) {
    const lock = join(repo.locksDir, `${task}.lock`);
    if (existsSync(lock)) continue;
    mkdirSync(lock);
    writeFileSync(join(lock, 'owner.json'), text);
  }
  if (!readFileSync(repo.board).equals(repo.boardBytes)) writeFileSync(repo.board, repo.boardBytes);
  writeFileSync(repo.audit, '');
  if (cache !== 'any') rmSync(repo.cacheDir, { recursive: true, force: true });
  if (cache === 'warm') await loadBoard(openGuild(repo.dir));
  const names = readdirSync(repo.locksDir);
  if (names.length !== HEAL_TASKS) throw new Error(`${repo.label}: ${names.length} entries in the locks directory after the reset, expected ${HEAL_TASKS}: ${names.filter((n) => !n.endsWith('.lock')).join(', ')}`);
}

/** The baseline: readdirSync of the locks directory, and each <ID>.lock/owner.json read and parsed. */
function scanLocks(locksDir: string): number {
  let owners = 0;
  for (const name of readdirSync(locksDir)) {
    if (!name.endsWith('.lock')) continue;
    const owner = JSON.parse(readFileSync(join(locksDir, name, 'owner.json'), 'utf8')) as { token?: string };
    if (owner.token) owners++;
  }
  return owners;
}

async function timeHeal(repo: HealRepo): Promise<{ ms: number; result: HealResult }> {
  const start = process.hrtime.bigint();
  const result = await healGuild(openGuild(repo.dir), { actor: 'bench' });
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, result };
}

function checkStaleHeal(repo: HealRepo, result: HealResult): void {
  const requeued = result.actions.filter((a) => a.action === 'requeued').length;
  if (result.locks !== HEAL_TASKS || requeued !== repo.special.size || result.actions.length !== requeued || result.busy.length > 0) {
    throw new Error(`heal on ${repo.label}: ${result.locks} locks, actions ${JSON.stringify(result.actions.slice(0, 3))}... (${result.actions.length}), busy ${result.busy.length}; expected ${repo.special.size} requeued of ${HEAL_TASKS}`);
  }
}

function checkPureCheck(repo: HealRepo, result: HealResult): void {
  if (result.locks !== HEAL_TASKS || result.actions.length > 0 || result.busy.length > 0) {
    throw new Error(`heal on ${repo.label} (nothing stale): ${result.locks} locks, ${result.actions.length} actions (${JSON.stringify(result.actions.slice(0, 3))}), busy ${result.busy.length}`);
  }
  if (!readFileSync(repo.board).equals(repo.boardBytes)) throw new Error(`heal on ${repo.label} changed the board, with nothing stale`);
}

type HealKey = 'staleWarm' | 'staleCold' | 'checkWarm' | 'checkCold' | 'scanStale' | 'scanCheck';

interface HealCase {
  before: () => Promise<void>;
  run: () => Promise<number>;
}

function healCases(stale: HealRepo, check: HealRepo): Record<HealKey, HealCase> {
  const heal = (repo: HealRepo, verify: (repo: HealRepo, result: HealResult) => void) => async () => {
    const { ms, result } = await timeHeal(repo);
    verify(repo, result);
    return ms;
  };
  const scan = (repo: HealRepo) => async () => {
    const start = process.hrtime.bigint();
    const owners = scanLocks(repo.locksDir);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (owners !== HEAL_TASKS) throw new Error(`the scan of ${repo.label} found ${owners} owners, expected ${HEAL_TASKS}`);
    return ms;
  };
  return {
    staleWarm: { before: () => restoreHealRepo(stale, 'warm'), run: heal(stale, checkStaleHeal) },
    staleCold: { before: () => restoreHealRepo(stale, 'cold'), run: heal(stale, checkStaleHeal) },
    checkWarm: { before: () => restoreHealRepo(check, 'warm'), run: heal(check, checkPureCheck) },
    checkCold: { before: () => restoreHealRepo(check, 'cold'), run: heal(check, checkPureCheck) },
    scanStale: { before: () => restoreHealRepo(stale, 'any'), run: scan(stale) },
    scanCheck: { before: () => restoreHealRepo(check, 'any'), run: scan(check) },
  };
}

// ---------------------------------------------------------------------------------------------
// --profile: where heal's time goes

interface RawProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

interface ProfileTally {
  /** Sampled ms inside heal (openGuild + healGuild) and in the garbage collector. */
  total: number;
  /** By leaf frame. */
  self: Map<string, number>;
  /** By function of src/ on the stack, each counted once per sample. */
  inclusive: Map<string, number>;
}

/**
 * Adds one in-process profile of one heal run to `tally`. Only samples with openGuild or
 * healGuild on the stack count, plus the garbage collector's: the rest is the profiler's own
 * start and stop (whose first sample carries the wait for the sampler on a loaded machine).
 */
function tallyProfile(profile: RawProfile, tally: ProfileTally): void {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const srcName = (frame: RawProfile['nodes'][number]['callFrame']): string | null => {
    const at = frame.url.indexOf('/src/');
    // No line: code run through tsx reports every frame on line 1.
    return at < 0 ? null : `${frame.functionName || '(anonymous)'}  [${frame.url.slice(at + 1)}]`;
  };
  for (let i = 0; i < profile.samples.length; i++) {
    const leaf = byId.get(profile.samples[i]!)!.callFrame;
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const seen = new Set<string>();
    let inHeal = leaf.functionName === '(garbage collector)';
    for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      if (frame.functionName === 'healGuild' || frame.functionName === 'openGuild') inHeal = true;
      const name = srcName(frame);
      if (name) seen.add(name);
    }
    if (!inHeal) continue;
    tally.total += ms;
    const where = leaf.url === '' ? 'native' : leaf.url.startsWith('node:') ? 'node' : (srcName(leaf) ?? leaf.url.replace(/^.*\/node_modules\//, ''));
    const self = leaf.url.indexOf('/src/') >= 0 ? where : `${leaf.functionName || '(anonymous)'}  [${where}]`;
    tally.self.set(self, (tally.self.get(self) ?? 0) + ms);
    for (const name of seen) tally.inclusive.set(name, (tally.inclusive.get(name) ?? 0) + ms);
  }
}

async function profileHeal(cases: Record<HealKey, HealCase>, runs: number): Promise<string> {
  const outDir = join(root, 'bench', 'out');
  mkdirSync(outDir, { recursive: true });
  const session = new Session();
  session.connect();
  const parts: string[] = [];
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    for (const key of ['staleWarm', 'staleCold', 'checkWarm'] as const) {
      const tally: ProfileTally = { total: 0, self: new Map(), inclusive: new Map() };
      let wall = 0;
      for (let i = 0; i < runs; i++) {
        await cases[key].before();
        await session.post('Profiler.start');
        wall += await cases[key].run();
        const { profile } = await session.post('Profiler.stop');
        writeFileSync(join(outDir, `heal-${key}-${i + 1}.cpuprofile`), JSON.stringify(profile));
        tallyProfile(profile as unknown as RawProfile, tally);
      }
      const top = (map: Map<string, number>, n: number) =>
        [...map]
          .sort((a, b) => b[1] - a[1])
          .slice(0, n)
          .map(([name, ms]) => `    ${fmt(ms / runs, 2).padStart(7)} ms  ${name}`);
      parts.push(
        `CPU profile of heal, ${key} (in process, ${runs} runs, bench/out/heal-${key}-*.cpuprofile): ${fmt(wall / runs, 1)} ms wall per run (profiled), ${fmt(tally.total / runs, 1)} ms sampled inside heal or in GC`,
        '  inclusive time per run, functions of src/:',
        ...top(tally.inclusive, 25),
        '  self time per run, by leaf frame:',
        ...top(tally.self, 15),
        '',
      );
    }
  } finally {
    session.disconnect();
  }
  return parts.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

export async function crashSafetyBench(options: CrashSafetyOptions): Promise<CrashSafetyResult> {
  const config = options.quick ? { contentionRounds: 2, contentionMs: 1_000, contentionWarmupMs: 500, healRounds: 3 } : { contentionRounds: 5, contentionMs: 5_000, contentionWarmupMs: 1_000, healRounds: 10 };

  // --- 6, 7. Contention between processes.
  options.log(`lock contention: ${CONTENTION_WORKERS} processes, ${CONTENTION_TASKS.length} task IDs, ${config.contentionRounds} rounds of ${config.contentionMs / 1000} s per variant`);
  const contention = await contentionBench(options, config.contentionRounds, config.contentionMs, config.contentionWarmupMs);

  // --- 8. heal.
  options.log(`heal: two repos of ${HEAL_TASKS} In Progress tasks and ${HEAL_TASKS} locks each, ${config.healRounds} rounds`);
  const verify = process.env.GUILD_VERIFY_CACHE;
  delete process.env.GUILD_VERIFY_CACHE;
  const live = idler();
  const doomed = idler();
  const heal: Record<HealKey, number[]> = { staleWarm: [], staleCold: [], checkWarm: [], checkCold: [], scanStale: [], scanCheck: [] };
  let profileText = '';
  let staleBoardBytes = 0;
  try {
    const stale = await makeHealRepo(options.tmpRoot, 'heal-stale', doomed.pid!);
    // The pid the stale locks are bound to: killed and reaped, so proved gone.
    const doomedExit = once(doomed, 'exit');
    doomed.kill('SIGKILL');
    await doomedExit;
    const check = await makeHealRepo(options.tmpRoot, 'heal-check', live.pid!);
    staleBoardBytes = stale.boardBytes.length;
    const cases = healCases(stale, check);
    const keys = Object.keys(cases) as HealKey[];
    // Round 0 is a warm-up (JIT, the first write's dynamic import) and is discarded.
    for (let round = 0; round <= config.healRounds; round++) {
      for (const key of rotation(keys, round)) {
        await cases[key].before();
        const ms = await cases[key].run();
        if (round > 0) heal[key].push(ms);
      }
      if (round > 0) {
        const last = (key: HealKey) => fmt(heal[key].at(-1)!, 1);
        options.log(`heal round ${round}/${config.healRounds}, ms: 10% stale warm ${last('staleWarm')}, cold ${last('staleCold')}; none stale warm ${last('checkWarm')}, cold ${last('checkCold')}; scan ${last('scanStale')} / ${last('scanCheck')}`);
      }
    }
    if (options.profile) profileText = await profileHeal(cases, 5);
  } finally {
    live.kill('SIGKILL');
    if (doomed.exitCode === null && doomed.signalCode === null) doomed.kill('SIGKILL');
    if (verify !== undefined) process.env.GUILD_VERIFY_CACHE = verify;
  }

  // --- Rows.
  const rate = (r: ContentionRound) => r.acquired / r.seconds;
  const guildRates = contention.guild.map(rate);
  const rawRates = contention.raw.map(rate);
  const total = (rounds: ContentionRound[], pick: (r: ContentionRound) => number) => rounds.reduce((sum, r) => sum + pick(r), 0);
  const guildViolations = total(contention.guild, (r) => r.violations);
  const rawViolations = total(contention.raw, (r) => r.violations);
  const guildFailures = total(contention.guild, (r) => r.releaseFailures);
  const rawFailures = total(contention.raw, (r) => r.releaseFailures);
  const guildAcquired = total(contention.guild, (r) => r.acquired);
  const rawAcquired = total(contention.raw, (r) => r.acquired);
  const n = (x: number) => x.toLocaleString('en-US');
  const healRow = (figure: string, key: HealKey, scan: HealKey, limit: number | null): FigureRow => {
    const row: FigureRow = {
      figure,
      unit: 'ms',
      subject: heal[key],
      baseline: heal[scan],
      paired: pairedRatios(heal[key], heal[scan]),
      target: limit === null ? 'none set' : `<= ${limit.toFixed(1)}x scan`,
      met: true,
      digits: 1,
    };
    if (limit === null) row.show = { met: '-' };
    else row.met = median(row.subject) / median(row.baseline) <= limit;
    return row;
  };
  const rows: FigureRow[] = [
    {
      figure: `6. lock acquisitions/s, ${CONTENTION_WORKERS} processes on ${CONTENTION_TASKS.length} task IDs, vs raw \`mkdirSync\` + \`rmdirSync\``,
      unit: 'acq/s',
      subject: guildRates,
      baseline: rawRates,
      paired: pairedRatios(guildRates, rawRates),
      target: 'none set (higher is better)',
      met: true,
      digits: 0,
      show: { met: '-' },
    },
    {
      figure: '7. mutual-exclusion violations during figure 6',
      unit: '',
      subject: contention.guild.map((r) => r.violations),
      baseline: contention.raw.map((r) => r.violations),
      target: '0',
      met: guildViolations === 0,
      judgedOn: `${n(guildAcquired)} acquisitions; ${guildFailures} failed releases`,
      digits: 0,
      show: { subject: `${guildViolations} in total`, baseline: `${rawViolations} in total (${n(rawAcquired)} acquisitions, ${rawFailures} failed rmdirs)`, ratio: '-' },
    },
    healRow('8a. `heal`, 1,000 locks, 10% stale, warm', 'staleWarm', 'scanStale', 3.0),
    healRow('8b. `heal`, 1,000 locks, 10% stale, cold', 'staleCold', 'scanStale', 3.0),
    healRow('8c. `heal`, 1,000 locks, none stale (a pure check), warm', 'checkWarm', 'scanCheck', null),
    healRow('8d. `heal`, 1,000 locks, none stale (a pure check), cold', 'checkCold', 'scanCheck', null),
  ];
  const attemptsRow: FigureRow = {
    figure: 'ref. lock attempts/s (successful or not) during figure 6',
    unit: 'att/s',
    subject: contention.guild.map((r) => r.attempts / r.seconds),
    baseline: contention.raw.map((r) => r.attempts / r.seconds),
    paired: pairedRatios(
      contention.guild.map((r) => r.attempts / r.seconds),
      contention.raw.map((r) => r.attempts / r.seconds),
    ),
    target: 'none',
    met: true,
    digits: 0,
    show: { met: '-' },
  };
  const spread = (rounds: ContentionRound[]) => {
    const all = rounds.flatMap((r) => r.perWorker.map((x) => x / r.seconds));
    return `${fmt(Math.min(...all), 0)}-${fmt(Math.max(...all), 0)}`;
  };
  const skew = Math.max(...[...contention.guild, ...contention.raw].map((r) => r.startSkewMs));

  const method = `**6. Lock acquisitions under contention.** ${CONTENTION_WORKERS} worker processes (\`node --import tsx bench/contention-worker.ts\`, so \`MkdirTaskLocks\` from \`src/lock/task-locks.ts\` through tsx, as in figure 4) share ${CONTENTION_TASKS.length} task IDs (${CONTENTION_TASKS.join(', ')}). They are spawned once, each prints \`ready\` when loaded, and for every round the harness sends all of them the same start and end time about ${BARRIER_LEAD_MS} ms ahead (the barrier: each sleeps, then spins until the start; the latest worker began ${skew} ms after it, over all rounds). Until the end time each worker goes round the IDs from its own offset, one attempt each: \`locks.acquire(id, {agent, pid: process.pid})\` (the claim lock a \`claim --pid\` takes: mkdir, owner.json written 'wx'; when it fails, the holder's owner.json is read back, as acquire does), and when that succeeds the critical section of figure 7, then \`locks.release(id, owner.token)\` (the breaker symlink, owner.json read back, rename to a tombstone, unlinks, rmdir). There is no other hold and no back-off: a worker that fails goes straight to the next ID. The baseline is the same loop with raw \`fs.mkdirSync(<ID>.lock)\` (EEXIST = not acquired) and \`fs.rmdirSync\`, same critical section, in its own directories. The figure is the number of successful acquisitions summed over all ${CONTENTION_WORKERS} workers divided by the round's ${config.contentionMs / 1000} s; ${config.contentionRounds} rounds per variant (after one discarded ${config.contentionWarmupMs / 1000} s warm-up round of each), the two alternating in rotated order, medians. Per-worker rates over all rounds spread ${spread(contention.guild)} acquisitions/s (MkdirTaskLocks) and ${spread(contention.raw)} (raw). On ${CONTENTION_WORKERS} processes and few cores this measures the lock's cost per acquisition under contention (CPU, syscalls, failed attempts), not waiting for holders: the "attempts/s" reference row counts failed attempts too. No target was set for this figure.

**7. Violations.** Right after every successful acquisition (in both variants) the worker creates \`<ID>.witness\` in a witness directory with \`fs.openSync(path, 'wx')\` (O_CREAT|O_EXCL), closes it and unlinks it, before releasing. The witness exists exactly while some worker is inside the task's critical section, so EEXIST means two holders of one lock at once: a violation, counted (that worker then leaves the file to its creator). Release outcomes other than \`'released'\` are counted as failed releases. Both directories are checked to be empty before every round. Figure: violations summed over the ${config.contentionRounds} measured rounds; the target is 0.

**8. \`heal\`.** Two temp git repos, each with a ${n(HEAL_TASKS)}-task board (${n(staleBoardBytes)} bytes, written by \`bench/crash-safety.ts\`) on which every task GLD-n is In Progress with \`owner:agent-<n mod 7>\`, and ${n(HEAL_TASKS)} lock directories made by \`MkdirTaskLocks.acquire\` under \`.git/guild/locks\`, each by the agent the board names, so board and locks agree. Every tenth lock (100) is the special one. In the *10% stale* repo the 900 others have \`pid: null\` and a fresh heartbeat (alive by heartbeat; lock_ttl 1h), and the 100 are bound to the pid of a process the harness spawned, then killed and reaped after taking them (stale by proof: \`kill(pid, 0)\` fails). In the *none stale* repo the 100 are bound to a spawned process that stays alive for the whole run (so the check still probes pid and start time for them) and nothing is stale. Timed, in the harness's own process: \`await healGuild(openGuild(dir), {actor: 'bench'})\` from \`src/health/heal.ts\`; on the stale repo every run is checked to requeue exactly the 100, on the other to do nothing and leave the board's bytes alone. So the timed part holds, besides reading the 1,000 owner.json files, judging them and looking for 1,000 intent.json files: for the stale repo, breaking 100 locks through the breaker protocol (each: a symlink, owner.json read again, a rename to a tombstone, two unlinks plus three of names not there, an rmdir) and one board write under the board mutex (the 100 \`lock.healed\` events appended, the board replaced atomically with an fsync, the parse cache stored). Before every run, untimed: the 100 broken locks are made again (mkdir and the very owner.json first written), the board's original bytes are written back, the audit log is emptied, and the parse cache \`.git/guild/cache\` is removed (*cold*: heal parses the board and stores the cache) or removed and then primed with one \`loadBoard\` of the same bytes (*warm*: heal's two board reads hit the cache, as after a guild-fs write). The baseline: \`fs.readdirSync(locksDir)\`, then for each \`<ID>.lock\` entry \`JSON.parse(fs.readFileSync(<ID>.lock/owner.json, 'utf8'))\`, checked to find ${n(HEAL_TASKS)} owners; nothing else (no board, no liveness probes, no intent file lookups, no writes). It is two more runs of each round, one per repo, after the same reset (the stale repo's with all ${n(HEAL_TASKS)} locks back in place). ${config.healRounds} rounds (after one discarded warm-up round), the six runs of a round (four heals, two scans) in rotated order, medians; the ratio is heal over the scan of the same repo, and the paired ratios in the details divide each heal by that repo's scan of the same round. The target, at most 3x the scan, was set for the 10% stale case; none was set for the pure check.`;

  return { rows, references: [attemptsRow], method, profileText };
}

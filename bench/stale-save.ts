// Issue 20's figure: a save from a buffer opened before 1,000 tool writes.
//   18a/c. On a 1,000- and a 10,000-task board, 1,000 tool writes (adds and claims) are made
//       after a person's editor loaded the board; the person then saves that buffer with a note.
//       The `sync` that finds the save's base among the kept versions and merges it, against a
//       plain `sync`. Goal: at most 2x.
//       The plain `sync` has nothing to record (the board is the latest guild-fs wrote); the
//       `sync` of the same note saved from a fresh buffer (18b/d: the same read and scan of the
//       kept versions, nothing to merge) is reported beside it. The disk the kept versions take
//       after those writes is in the method (no goal).
// Each round restores the clone's state (board, log, <git-common-dir>/guild) from a copy, so every
// sync starts from the same 1,000 versions. Run alone: `npm run build && npx tsx bench/stale-save.ts [--quick]`.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BoardVersions } from '../src/board/board-versions.js';
import { callTool } from '../src/mcp/call-tool.js';
import { benchEnv, sh, timed, type BenchOptions } from './child-process.js';
import type { FigureRow } from './crash-safety.js';
import { generateBoard } from './generate-board.js';
import { median, pairedRatios, rotation } from './stats.js';
import { isMain, runStandalone } from './standalone.js';

const ENV = benchEnv({ GUILD_AGENT: 'bench' });
const WRITES = 1_000;
const TARGET = 2;
const NOTE = 'A note typed into a buffer opened before a thousand tool writes.';

interface Prepared {
  dir: string;
  stale: string;
  fresh: string;
  versionBytes: number;
  versionFiles: number;
}

/** A clone of `tasks` tasks, 1,000 tool writes made after `stale` was read; its state kept in `${dir}.saved`. */
async function prepare(options: BenchOptions, tasks: number): Promise<Prepared> {
  const dir = join(options.tmpRoot, `stale-${tasks}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  sh('git', ['init', '-q', '-b', 'main', dir], dir, ENV);
  writeFileSync(join(dir, 'ACTIVE_TASKS.md'), generateBoard({ tasks }));
  sh(process.execPath, [options.bin, 'init'], dir, ENV);
  sh(process.execPath, [options.bin, 'sync'], dir, ENV);
  const stale = readFileSync(join(dir, 'ACTIVE_TASKS.md'), 'utf8');
  // In one process (the MCP server's own path into the commands): 1,000 CLI processes on a
  // 10,000-task board would take minutes, and what is measured is the sync after them.
  const call = (name: string, args: Record<string, unknown>) => callTool(name, { ...args, agent: 'bench' }, { cwd: dir, env: ENV, pid: process.pid });
  options.log(`stale save: ${WRITES} tool writes on ${tasks.toLocaleString('en')} tasks`);
  for (let i = 0; i < WRITES / 2; i++) {
    const added = await call('add', { title: `Added after the buffer was loaded ${i}` });
    if (added.isError) throw new Error(`add: ${added.content[0]?.text}`);
    const claimed = await call('claim', { worktree: false });
    if (claimed.isError) throw new Error(`claim: ${claimed.content[0]?.text}`);
  }
  const fresh = readFileSync(join(dir, 'ACTIVE_TASKS.md'), 'utf8');
  const versions = new BoardVersions(join(dir, '.git', 'guild', 'versions'));
  const saved = `${dir}.saved`;
  rmSync(saved, { recursive: true, force: true });
  cpSync(join(dir, '.git', 'guild'), join(saved, 'guild'), { recursive: true });
  cpSync(join(dir, '.guild'), join(saved, 'dot-guild'), { recursive: true });
  return { dir, stale, fresh, versionBytes: versions.bytes(), versionFiles: versions.chains().length };
}

/** A sync with nothing to record: the board is the latest guild-fs wrote. */
function plainSync(options: BenchOptions, p: Prepared): number {
  restore(p);
  writeFileSync(join(p.dir, 'ACTIVE_TASKS.md'), p.fresh);
  return timed(process.execPath, [options.bin, 'sync'], p.dir, ENV);
}

function restore(p: Prepared): void {
  rmSync(join(p.dir, '.git', 'guild'), { recursive: true, force: true });
  cpSync(join(`${p.dir}.saved`, 'guild'), join(p.dir, '.git', 'guild'), { recursive: true });
  rmSync(join(p.dir, '.guild'), { recursive: true, force: true });
  cpSync(join(`${p.dir}.saved`, 'dot-guild'), join(p.dir, '.guild'), { recursive: true });
}

/** One timed sync of `text` + the note, saved by rename as an editor does; checks the merge kept the tools' board. */
function syncOf(options: BenchOptions, p: Prepared, text: string): number {
  restore(p);
  const lines = text.split('\n');
  lines.splice(lines.indexOf('# Active Tasks') + 1, 0, '', NOTE);
  writeFileSync(join(p.dir, '.ACTIVE_TASKS.md.swp'), lines.join('\n'));
  cpSync(join(p.dir, '.ACTIVE_TASKS.md.swp'), join(p.dir, 'ACTIVE_TASKS.md'));
  rmSync(join(p.dir, '.ACTIVE_TASKS.md.swp'));
  const ms = timed(process.execPath, [options.bin, 'sync'], p.dir, ENV);
  const after = readFileSync(join(p.dir, 'ACTIVE_TASKS.md'), 'utf8');
  if (!after.includes(NOTE)) throw new Error('the note was lost');
  // Every claim and every task added since the buffer was loaded survived the save.
  for (const mark of ['owner:bench', 'Added after the buffer was loaded']) {
    if (countOf(after, mark) !== countOf(p.fresh, mark)) throw new Error(`the save undid tool writes: ${countOf(after, mark)} lines with ${mark}, ${countOf(p.fresh, mark)} before`);
  }
  return ms;
}

function countOf(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

export async function staleSaveBench(options: BenchOptions): Promise<{ rows: FigureRow[]; method: string }> {
  const samples = options.quick ? 4 : 12;
  const warmup = 1;
  const rows: FigureRow[] = [];
  const sizes: string[] = [];
  for (const [label, other, tasks] of [['a', 'b', 1_000], ['c', 'd', 10_000]] as const) {
    const p = await prepare(options, tasks);
    try {
      const merged: number[] = [];
      const fresh: number[] = [];
      const plain: number[] = [];
      options.log(`stale save: ${samples} rounds of the merging sync and a plain one on ${tasks.toLocaleString('en')} tasks`);
      for (let i = 0; i < samples + warmup; i++) {
        const parts: [number[], () => number][] = [
          [merged, () => syncOf(options, p, p.stale)],
          [fresh, () => syncOf(options, p, p.fresh)],
          [plain, () => plainSync(options, p)],
        ];
        for (const [into, measure] of rotation(parts, i)) {
          const ms = measure();
          if (i >= warmup) into.push(ms);
        }
      }
      rows.push({ figure: `18${label}. \`sync\` merging a save from before ${WRITES.toLocaleString('en')} tool writes, ${tasks.toLocaleString('en')} tasks, vs a plain \`sync\``, unit: 'ms', subject: merged, baseline: plain, paired: pairedRatios(merged, plain), target: `<= ${TARGET}x`, met: median(merged) / median(plain) <= TARGET, digits: 1 });
      rows.push({ figure: `18${other}. the same, ${tasks.toLocaleString('en')} tasks, vs \`sync\` of the note saved from a fresh buffer`, unit: 'ms', subject: merged, baseline: fresh, paired: pairedRatios(merged, fresh), target: 'none', met: true, digits: 1 });
      sizes.push(`${tasks.toLocaleString('en')} tasks: ${(p.versionBytes / 1024).toFixed(0)} KiB in ${p.versionFiles} chain file(s) (the board itself: ${(Buffer.byteLength(p.fresh) / 1024).toFixed(0)} KiB)`);
    } finally {
      rmSync(p.dir, { recursive: true, force: true });
      rmSync(`${p.dir}.saved`, { recursive: true, force: true });
    }
  }
  const method = `**18. A save from a stale buffer.** A board from \`bench/generate-board.ts\` (1,000 and 10,000 tasks), after \`init\` and \`sync\`; the board is read (the person's buffer), then ${WRITES.toLocaleString('en')} tool writes are made in one process (an add and a claim in turn, through the MCP server's path into the commands). Each of ${samples} rounds (after ${warmup} warm-up round) restores the clone's board state from a copy, saves a buffer plus one note line, and times \`guild-fs sync\` as a process: the stale buffer (its base found among the kept versions, merged three ways with the latest board) and a fresh one (the latest board plus the note: the same read and scan, nothing to merge), in a rotating order. Medians, and the median of each round's ratio. Disk the kept versions take after the writes: ${sizes.join('; ')}.`;
  return { rows, method };
}

if (isMain(import.meta.url)) await runStandalone('stale-save', staleSaveBench);

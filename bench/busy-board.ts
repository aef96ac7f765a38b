// Issue 20's figure: a busy board. The agents' throughput (claims + completes + fails + adds that
// exited 0, per second) while a person saves the board 60 times a second, by rename or in place,
// against the same agents on the same board with nobody saving, without and with `guild-fs
// watch`, all in one run. Goal: at least half the quiet throughput. Also counted: commands that
// exited 1 (the goal: none; a busy board is exit 3 after BOARD_WAIT_MS).
// The harness is the storm's (test/helpers/storm.ts) with a 16 ms pause between saves.
// Runs inside `npm run bench`, or alone: `npx tsx bench/busy-board.ts [--quick]` (after a build).
import { rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { agentSummary, formatStormReport, runStorm, type SaveStyle, type StormReport } from '../test/helpers/storm.js';
import type { FigureRow } from './crash-safety.js';
import { fmt } from './stats.js';
import { isMain, runStandalone } from './standalone.js';

export interface BusyBoardBenchOptions {
  quick: boolean;
  tmpRoot: string;
  log: (message: string) => void;
}

const AGENTS = 4;
/** 60 saves a second: one started every 16 ms while the machine keeps up. */
const PAUSE_MS = 16;
const STYLES: SaveStyle[] = ['rename', 'inplace'];

interface Variant {
  style: SaveStyle | null;
  daemon: boolean;
}

const label = (v: Variant): string => `${v.style ?? 'quiet'}, daemon ${v.daemon ? 'on' : 'off'}`;

/** Commands that exited 1, over all agents. */
function exitOnes(report: StormReport): number {
  return Object.entries(agentSummary(report.agents).exits).reduce((sum, [key, count]) => sum + (/ exit 1$/.test(key) ? count : 0), 0);
}

export async function busyBoardBench(options: BusyBoardBenchOptions): Promise<{ rows: FigureRow[]; method: string }> {
  const seconds = options.quick ? 5 : 15;
  const parent = join(options.tmpRoot, 'busy-board');
  // Per daemon setting: quiet, the styles, quiet again; the quiet baseline is the mean of the
  // two, so that drift over the group (a shared, noisy machine) hits the baseline as the storms.
  const quiet = new Map<boolean, StormReport[]>();
  const busy = new Map<string, StormReport>();
  for (const daemon of [false, true]) {
    const order: Variant[] = [{ style: null, daemon }, ...(daemon ? [...STYLES].reverse() : STYLES).map((style) => ({ style, daemon })), { style: null, daemon }];
    for (const variant of order) {
      options.log(`busy board: ${label(variant)}, ${AGENTS} agents, ${seconds} s (load average ${os.loadavg()[0]!.toFixed(2)})`);
      const report = await runStorm({ ...variant, agents: AGENTS, seconds, pauseMs: PAUSE_MS, parent, verifyCache: false });
      for (const line of formatStormReport(report).split('\n')) options.log(`  ${line}`);
      if (variant.style === null) quiet.set(daemon, [...(quiet.get(daemon) ?? []), report]);
      else busy.set(label(variant), report);
    }
  }
  rmSync(parent, { recursive: true, force: true });

  const rows: FigureRow[] = [];
  const letters = 'abcd';
  let i = 0;
  const quietOps = (daemon: boolean): number[] => quiet.get(daemon)!.map((r) => r.opsPerSecond);
  for (const daemon of [false, true]) {
    const baseline = quietOps(daemon);
    const mean = baseline.reduce((a, b) => a + b, 0) / baseline.length;
    for (const style of STYLES) {
      const r = busy.get(label({ style, daemon }))!;
      const ratio = r.opsPerSecond / mean;
      const ones = exitOnes(r);
      rows.push({
        figure: `20${letters[i++]}. busy board, a person saving ${style === 'rename' ? 'by rename' : 'in place'} 60/s, daemon ${daemon ? 'on' : 'off'}: agents' ops/s vs quiet (${AGENTS} agents, ${seconds} s)`,
        unit: 'ops/s',
        subject: [r.opsPerSecond],
        baseline,
        target: '>= 0.5x quiet, no exit 1',
        met: ratio >= 0.5 && ones === 0,
        judgedOn: `${fmt(ratio, 2)}x of the quiet mean ${fmt(mean, 1)} ops/s; ${r.person?.saves ?? 0} saves; ${ones} commands exited 1; replay --check exit ${r.replay.code}`,
        digits: 1,
        show: { ratio: `${fmt(ratio, 2)}x` },
      });
    }
  }
  const method = `**20. A busy board (issue 20).** The storm's harness (figure 13): a temp repo with the storm board (40 Ready tasks), ${AGENTS} agents each looping \`claim --no-worktree --json\`, \`complete\` (one loop in seven \`fail\`) and every second loop \`add\`, every command a real CLI process; for ${seconds} s a person (\`test/helpers/storm-person.ts\`) saves the board every ${PAUSE_MS} ms (about 60 saves a second), by rename or in place (one write). Subject: the agents' ops/s (commands that exited 0, over their wall time) with the person; baseline: the same agents on a fresh copy of the board with nobody saving, run just before and just after the storms of the same daemon setting (the baseline is their mean: ${fmt(quietOps(false).reduce((a, b) => a + b, 0) / 2, 1)} ops/s without the daemon, ${fmt(quietOps(true).reduce((a, b) => a + b, 0) / 2, 1)} with it). Met: the ratio is at least 0.5 and no command exited 1. Single runs on a shared machine${options.quick ? ` (a quick run: ${seconds} s a variant; the full run uses 15 s)` : ''}: read the ratios to about 0.1.`;
  return { rows, method };
}

// Alone: `npx tsx bench/busy-board.ts [--quick]`.
if (isMain(import.meta.url)) await runStandalone('busy-board', busyBoardBench);

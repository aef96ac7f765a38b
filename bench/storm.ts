// Issue 10's figures: the storm. A person saves the board about 50 times a second (each save adds
// one numbered line to a free-text section), by rename or in place, while 8 agents loop claim /
// complete (or fail) / add through the CLI, without and with `guild-fs watch`. After each storm,
// one `guild-fs sync`, then the board is read: how many of the person's saved lines are gone.
//   13a-f. Edits lost, per save style x daemon: lost / saves (goal: 0 lost, every style).
//   13g-l. The agents' throughput (claims + completes + fails + adds that exited 0, per second)
//          during the storm, vs the same agents on the same board with no person, same run.
//   13m-n. Edits lost by an editor that opens the board `r+` and truncates it with a separate call
//          (board task GLD-41), daemon off / on: measured, no goal (no tool can see its handle).
// The harness is the test suite's (test/helpers/storm.ts); the bench runs it longer, with 8
// agents, and without GUILD_VERIFY_CACHE. Runs inside `npm run bench`, or alone:
// `npx tsx bench/storm.ts [--quick]` (after a build).
import { rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { formatStormReport, runStorm, type SaveStyle, type StormReport } from '../test/helpers/storm.js';
import type { FigureRow } from './crash-safety.js';
import { fmt, reportedRatioRow } from './stats.js';
import { isMain, runStandalone } from './standalone.js';

export interface StormBenchOptions {
  quick: boolean;
  tmpRoot: string;
  log: (message: string) => void;
}

const AGENTS = 8;
const STYLES: SaveStyle[] = ['rename', 'inplace', 'inplace-chunks'];
/** Measured apart, with no goal: the GLD-41 window (test/helpers/storm.ts, allowedLost). */
const RPLUS: SaveStyle = 'inplace-rplus';
const STYLE_NAME: Record<SaveStyle, string> = {
  rename: 'by rename',
  inplace: 'in place (O_TRUNC), one write',
  'inplace-chunks': 'in place (O_TRUNC), 4 KiB writes',
  'inplace-rplus': 'in place, opened r+ and truncated after (GLD-41)',
};

interface Variant {
  style: SaveStyle | null;
  daemon: boolean;
}

const label = (v: Variant): string => `${v.style ?? 'no person (baseline)'}, daemon ${v.daemon ? 'on' : 'off'}`;

export async function stormBench(options: StormBenchOptions): Promise<{ rows: FigureRow[]; method: string; reports: StormReport[] }> {
  const seconds = options.quick ? 5 : 25;
  const parent = join(options.tmpRoot, 'storm');
  // Per daemon setting, the baseline first, then the three styles; the second group runs the
  // styles in reverse, so that drift over the run does not always favour the same style.
  const order: Variant[] = [];
  for (const daemon of [false, true]) {
    order.push({ style: null, daemon });
    for (const style of daemon ? [RPLUS, ...STYLES].reverse() : [...STYLES, RPLUS]) order.push({ style, daemon });
  }
  const reports = new Map<string, StormReport>();
  for (const variant of order) {
    options.log(`storm: ${label(variant)}, ${AGENTS} agents, ${seconds} s (load average ${os.loadavg()[0]!.toFixed(2)})`);
    const report = await runStorm({ ...variant, agents: AGENTS, seconds, parent, verifyCache: false });
    for (const line of formatStormReport(report).split('\n')) options.log(`  ${line}`);
    reports.set(label(variant), report);
  }
  rmSync(parent, { recursive: true, force: true });

  const rows: FigureRow[] = [];
  const throughput: FigureRow[] = [];
  const letters = 'abcdefghijkl';
  let i = 0;
  for (const daemon of [false, true]) {
    const baseline = reports.get(label({ style: null, daemon }))!;
    for (const style of STYLES) {
      const r = reports.get(label({ style, daemon }))!;
      const saves = r.person?.saves ?? 0;
      const lost = r.lostNotes.length;
      const pct = saves ? (100 * lost) / saves : Number.NaN;
      const met = lost === 0;
      const also = [
        `${r.cancelled} task.cancelled`,
        `${r.missingTasks.length} created tasks missing`,
        `${r.undoneCompletions.length} completions undone`,
        `replay --check exit ${r.replay.code}`,
        `doctor exit ${r.doctor.code}`,
      ].join(', ');
      rows.push({
        figure: `13${letters[i]}. storm, saves ${STYLE_NAME[style]}, daemon ${daemon ? 'on' : 'off'}: edits lost, vs saves made (${AGENTS} agents, ${seconds} s)`,
        unit: 'saves',
        subject: [lost],
        baseline: [saves],
        target: '0 lost',
        met,
        judgedOn: `${lost} lost; ${also}`,
        digits: 0,
        show: { subject: `${lost} lost`, baseline: `${saves} saves`, ratio: `${fmt(pct, pct > 0 && pct < 1 ? 2 : 1)}%` },
      });
      throughput.push(reportedRatioRow({ figure: `13${letters[i + 6]}. storm, saves ${STYLE_NAME[style]}, daemon ${daemon ? 'on' : 'off'}: agents' ops/s, vs the same agents with no person`, unit: 'ops/s', subject: r.opsPerSecond, baseline: baseline.opsPerSecond, digits: 1 }));
      i++;
    }
  }
  const rplus = [false, true].map((daemon, k): FigureRow => {
    const r = reports.get(label({ style: RPLUS, daemon }))!;
    const saves = r.person?.saves ?? 0;
    const lost = r.lostNotes.length;
    const pct = saves ? (100 * lost) / saves : Number.NaN;
    return {
      figure: `13${'mn'[k]}. storm, saves ${STYLE_NAME[RPLUS]}, daemon ${daemon ? 'on' : 'off'}: edits lost, vs saves made (${AGENTS} agents, ${seconds} s)`,
      unit: 'saves',
      subject: [lost],
      baseline: [saves],
      target: 'none (measured: a window no tool can see)',
      met: true,
      judgedOn: `${lost} lost`,
      digits: 0,
      show: { subject: `${lost} lost`, baseline: `${saves} saves`, ratio: `${fmt(pct, pct > 0 && pct < 1 ? 2 : 1)}%`, met: '-' },
    };
  });
  const base = (daemon: boolean) => reports.get(label({ style: null, daemon }))!;
  const method = `**13. The storm (issue 10).** Per variant, a temp git repo with \`guild-fs init\`, a board of front matter (with a key guild-fs does not know), hand-written free text (a paragraph, an HTML comment, a table), 40 Ready tasks and a \`## Notes\` section at the end, recorded by \`sync\` and committed. Then, for ${seconds} s: a person, a separate node process (\`test/helpers/storm-person.ts\`), reads the board, adds the line \`storm note <n>\` (n = 1, 2, ...) at the end of \`## Notes\` and saves, one save started every 20 ms (50 a second while the machine keeps up, never a burst to catch up), either *by rename* (a temp file written beside the board, renamed over it), *in place, one write* (opened with \`O_TRUNC\` as editors that save in place open it, written in one \`write\`), *in place, 4 KiB writes* (opened with \`O_TRUNC\`, then written in 4 KiB writes with an event-loop turn between them) or, measured apart with no goal (13m-n, board task GLD-41), *in place, opened r+* (opened read-write without truncating, truncated by a separate call, written in one \`write\`: a save that opened the board before a tool's rename and writes after the tool's last look at the file it replaced lands where no name reaches, and no program can see another's open handle); meanwhile ${AGENTS} agents \`a1..a${AGENTS}\` each loop \`claim --no-worktree --json\`, then \`complete\` the task (one loop in seven: \`fail --reason\`), and every second loop (or when nothing was claimable) \`add\`, every command a real \`node bin/guild-fs.js\` process, no \`GUILD_VERIFY_CACHE\`. With the daemon, \`guild-fs watch\` (default options) runs from before the storm until the board and log have been quiet for 1.5 s after it, then gets SIGTERM. Then one \`guild-fs sync\`, and the board is read: an edit is lost when its \`storm note <n>\` line (n up to the last the person saved) is not on it. Also reported: \`task.cancelled\` events in the log (nobody removed a task), tasks of \`task.created\` events not on the board, tasks whose \`complete\` exited 0 that are not ticked in Done, and the exit codes of \`replay --check\` and \`doctor\`. The goal is 0 lost for every style but r+: a save renamed over the board between a tool's last check and its own rename is caught because every write moves the board aside and links the new one in (a link never replaces) rather than renaming over it. Throughput counts commands that exited 0 (claims, completes, fails, adds) over the agents' wall time; its baseline is the same ${AGENTS} agents on the same board with no person, run in the same process (${fmt(base(false).opsPerSecond, 1)} ops/s without the daemon, ${fmt(base(true).opsPerSecond, 1)} with it). Order: per daemon setting the baseline, then the styles (reversed for the daemon), one run each${options.quick ? ` (a quick run: ${seconds} s a variant; the full run uses 25 s)` : ''}; single runs, so read the lost counts as an order of magnitude.`;
  return { rows: [...rows, ...throughput, ...rplus], method, reports: [...reports.values()] };
}

// Alone: `npx tsx bench/storm.ts [--quick]`.
if (isMain(import.meta.url)) await runStandalone('storm', stormBench);

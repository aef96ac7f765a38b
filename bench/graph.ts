// Issue 14's figure: `guild-fs graph`.
//   17. `graph --mermaid` on a 10,000-task board vs `ready --json` on the same board: both read
//       the board the same way (the parse cache, else the fast scanner); the graph's own work
//       (needs, cycles, escaping every title) must cost little on top. Goal: at most 1.2x.
// The two are interleaved, rotating their order, in the same run; each pair is one paired ratio.
// Run alone: `npm run build && npx tsx bench/graph.ts [--quick]`.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchEnv, sh as shWith, timed as timedWith, type BenchOptions } from './child-process.js';
import type { FigureRow } from './crash-safety.js';
import { generateBoard } from './generate-board.js';
import { median, pairedRatios, rotation } from './stats.js';
import { isMain, runStandalone } from './standalone.js';


const ENV = benchEnv({ GUILD_AGENT: 'bench' });
const TASKS = 10_000;
const TARGET = 1.2;

export async function graphBench(options: BenchOptions): Promise<{ rows: FigureRow[]; method: string }> {
  const samples = options.quick ? 8 : 30;
  const warmup = 2;
  const dir = join(options.tmpRoot, 'graph');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    shWith('git', ['init', '-q', '-b', 'main', dir], dir, ENV);
    writeFileSync(join(dir, 'ACTIVE_TASKS.md'), generateBoard({ tasks: TASKS }));
    shWith(process.execPath, [options.bin, 'init'], dir, ENV);
    const graph: number[] = [];
    const ready: number[] = [];
    options.log(`graph: ${samples} rounds of graph --mermaid and ready --json on ${TASKS.toLocaleString('en')} tasks, interleaved`);
    for (let i = 0; i < samples + warmup; i++) {
      const parts: [number[], () => number][] = [
        [graph, () => timedWith(process.execPath, [options.bin, 'graph', '--mermaid'], dir, ENV)],
        [ready, () => timedWith(process.execPath, [options.bin, 'ready', '--json'], dir, ENV)],
      ];
      for (const [into, measure] of rotation(parts, i)) {
        const ms = measure();
        if (i >= warmup) into.push(ms);
      }
    }
    const rows: FigureRow[] = [
      { figure: '17. `graph --mermaid`, 10,000 tasks, vs `ready --json` on the same board', unit: 'ms', subject: graph, baseline: ready, paired: pairedRatios(graph, ready), target: `<= ${TARGET}x`, met: median(graph) / median(ready) <= TARGET, digits: 1 },
    ];
    const method = `**17. The dependency graph.** A board of ${TASKS.toLocaleString('en')} tasks from \`bench/generate-board.ts\` (its usual mix of sections, needs and bodies), after \`init\`. Each of ${samples} rounds (after ${warmup} warm-up rounds, which leave the parse cache warm for both) runs \`graph --mermaid\` (the open work: every task not Done and what it needs, its needs: edges, cycles, each title escaped, the Mermaid text on stdout) and \`ready --json\`, in a rotating order. Wall time of each process; medians, and the median of the ratios of each round's pair.`;
    return { rows, method };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) await runStandalone('graph', graphBench);

// `guild-fs graph`: the needs: graph with statuses, as Mermaid that renders on GitHub as it is, or
// DOT. The exact Mermaid of a small board; DOT; cycles and unknown needs; --status, --all, --json;
// --into twice (the second changes nothing); and 1,000 random tasks and hostile titles whose
// Mermaid a strict parser of the emitted subset (test/helpers/mermaid-syntax.ts) reads back into
// the board's own nodes and edges.
import { describe, test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, type CliResult } from './helpers/cli.js';
import { tempRepo, type TempRepo } from './helpers/repo.js';
import { parseMermaid, MermaidSyntaxError } from './helpers/mermaid-syntax.js';
import { parseBoard } from '../src/board/parse-board.js';
import type { Status, Task } from '../src/board/types.js';
import { dotGraph, mermaidGraph } from '../src/hosts/graph-text.js';
import { taskGraph } from '../src/hosts/task-graph.js';
import { generateBoard, mulberry32 } from '../bench/generate-board.js';

const BOARD = `---
guild: 1
prefix: GLD
---
# Active Tasks

## Backlog
- [ ] GLD-7 Someday, maybe

## Blocked
- [ ] GLD-4 Wire "login" to the API needs:GLD-2,GLD-3
- [ ] GLD-6 Ship it needs:GLD-4,GLD-99
- [ ] GLD-9 Chicken needs:GLD-10
- [ ] GLD-10 Egg needs:GLD-9

## Ready
- [ ] GLD-2 Add the <login> form
- [ ] GLD-3 Create the users table needs:GLD-1

## In Progress
- [ ] GLD-5 Metrics owner:agent-a

## Review

## Done
- [x] GLD-1 Set up the repository

## Failed
- [ ] GLD-8 Flaky thing tries:3
`;

let repos: TempRepo[] = [];
afterEach(() => {
  for (const repo of repos) repo.remove();
  repos = [];
});
function boardRepo(board = BOARD): TempRepo {
  const repo = tempRepo(board);
  repos.push(repo);
  return repo;
}
function graph(repo: TempRepo, args: string[] = [], code = 0): CliResult {
  const run = cli(['graph', ...args], { cwd: repo.dir });
  assert.equal(run.code, code, `guild-fs graph ${args.join(' ')}: ${run.stderr}`);
  return run;
}

describe('guild-fs graph', () => {
  test('the open work as Mermaid: every status a class, the Done need it waits on, the unknown need dashed, the cycle said', () => {
    const run = graph(boardRepo());
    assert.equal(
      run.stdout,
      `flowchart TD
  GLD_7["GLD-7 · Backlog#58; Someday, maybe"]
  GLD_4{{"GLD-4 · Blocked#58; Wire #quot;login#quot; to the API"}}
  GLD_6{{"GLD-6 · Blocked#58; Ship it"}}
  GLD_9{{"GLD-9 · Blocked#58; Chicken"}}
  GLD_10{{"GLD-10 · Blocked#58; Egg"}}
  GLD_2(["GLD-2 · Ready#58; Add the #lt;login#gt; form"])
  GLD_3(["GLD-3 · Ready#58; Create the users table"])
  GLD_5("GLD-5 · In Progress#58; Metrics")
  GLD_1["GLD-1 · Done#58; Set up the repository"]
  GLD_8>"GLD-8 · Failed#58; Flaky thing"]
  unknown_GLD_99[/"GLD-99#58; not on the board"/]
  GLD_2 --> GLD_4
  GLD_3 --> GLD_4
  GLD_4 --> GLD_6
  unknown_GLD_99 -.-> GLD_6
  GLD_10 --> GLD_9
  GLD_9 --> GLD_10
  GLD_1 --> GLD_3
  %% cycle: GLD-9 needs GLD-10 needs GLD-9
  subgraph Legend["Legend"]
    Legend_backlog["Backlog"]
    Legend_blocked{{"Blocked"}}
    Legend_ready(["Ready"])
    Legend_in_progress("In Progress")
    Legend_done["Done"]
    Legend_failed>"Failed"]
    Legend_unknown[/"Not on the board"/]
  end
  classDef backlog fill:#ffffff,stroke:#495057,color:#212529,stroke-width:2px,stroke-dasharray:2 3
  class GLD_7,Legend_backlog backlog
  classDef blocked fill:#ffe8cc,stroke:#d9480f,color:#212529,stroke-width:2px
  class GLD_4,GLD_6,GLD_9,GLD_10,Legend_blocked blocked
  classDef ready fill:#d3f9d8,stroke:#2b8a3e,color:#212529,stroke-width:2px
  class GLD_2,GLD_3,Legend_ready ready
  classDef in_progress fill:#d0ebff,stroke:#1864ab,color:#212529,stroke-width:4px
  class GLD_5,Legend_in_progress in_progress
  classDef done fill:#343a40,stroke:#000000,color:#ffffff,stroke-width:4px
  class GLD_1,Legend_done done
  classDef failed fill:#ffc9c9,stroke:#c92a2a,color:#212529,stroke-width:4px
  class GLD_8,Legend_failed failed
  classDef unknown fill:#ffffff,stroke:#868e96,color:#212529,stroke-width:2px,stroke-dasharray:6 4
  class unknown_GLD_99,Legend_unknown unknown
`,
    );
    assert.equal(graph(boardRepo(), ['--mermaid']).stdout, run.stdout);
    parseMermaid(run.stdout);
    assert.match(run.stderr, /warning: dependency cycle: GLD-9 -> GLD-10 -> GLD-9/);
    assert.match(run.stderr, /warning: GLD-6 needs GLD-99, which is not on the board/);
  });

  test('--status: that status and what it needs, nothing else (no cycle it does not draw)', () => {
    assert.equal(
      graph(boardRepo(), ['--status', 'ready']).stdout,
      `flowchart TD
  GLD_2(["GLD-2 · Ready#58; Add the #lt;login#gt; form"])
  GLD_3(["GLD-3 · Ready#58; Create the users table"])
  GLD_1["GLD-1 · Done#58; Set up the repository"]
  GLD_1 --> GLD_3
  subgraph Legend["Legend"]
    Legend_ready(["Ready"])
    Legend_done["Done"]
  end
  classDef ready fill:#d3f9d8,stroke:#2b8a3e,color:#212529,stroke-width:2px
  class GLD_2,GLD_3,Legend_ready ready
  classDef done fill:#343a40,stroke:#000000,color:#ffffff,stroke-width:4px
  class GLD_1,Legend_done done
`,
    );
    const done = graph(boardRepo(), ['--status', 'done', '--json']).json!.result;
    assert.deepEqual(done.nodes, [{ id: 'GLD-1', title: 'Set up the repository', status: 'done' }]);
    assert.deepEqual(done.edges, []);
    assert.equal(graph(boardRepo(), ['--status', 'nope'], 2).code, 2);
  });

  test('--json: nodes, edges from the needed task, cycles, unknown needs; --all takes Done in as asked for', () => {
    const result = graph(boardRepo(), ['--json']).json!.result;
    assert.equal(result.format, 'mermaid');
    assert.deepEqual(result.cycles, [['GLD-9', 'GLD-10', 'GLD-9']]);
    assert.deepEqual(result.unknownNeeds, [{ task: 'GLD-6', need: 'GLD-99' }]);
    assert.deepEqual(result.nodes.find((node: { id: string }) => node.id === 'GLD-1'), { id: 'GLD-1', title: 'Set up the repository', status: 'done', context: true });
    assert.deepEqual(result.nodes.at(-1), { id: 'GLD-99', title: 'not on the board', status: 'unknown' });
    assert.deepEqual(result.edges.slice(0, 4), [
      { from: 'GLD-2', to: 'GLD-4' },
      { from: 'GLD-3', to: 'GLD-4' },
      { from: 'GLD-4', to: 'GLD-6' },
      { from: 'GLD-99', to: 'GLD-6', unknown: true },
    ]);
    assert.equal(typeof result.text, 'string');
    const all = graph(boardRepo(), ['--all', '--json']).json!.result;
    assert.deepEqual(all.nodes.find((node: { id: string }) => node.id === 'GLD-1'), { id: 'GLD-1', title: 'Set up the repository', status: 'done' });
    assert.equal(all.nodes.length, result.nodes.length);
    assert.equal(graph(boardRepo(), ['--all', '--status', 'ready'], 2).code, 2);
  });

  test('DOT: quoted ids, escaped labels, a shape, border and fill per status, the unknown need dashed, a legend', () => {
    const run = graph(boardRepo(), ['--dot', '--status', 'blocked']);
    assert.equal(
      run.stdout,
      `digraph guild {
  rankdir=TB;
  node [fontname="Helvetica"];
  "GLD-4" [label="GLD-4 · Blocked: Wire \\"login\\" to the API", shape=hexagon, style="filled", penwidth=2, fillcolor="#ffe8cc", color="#d9480f", fontcolor="#212529"];
  "GLD-6" [label="GLD-6 · Blocked: Ship it", shape=hexagon, style="filled", penwidth=2, fillcolor="#ffe8cc", color="#d9480f", fontcolor="#212529"];
  "GLD-9" [label="GLD-9 · Blocked: Chicken", shape=hexagon, style="filled", penwidth=2, fillcolor="#ffe8cc", color="#d9480f", fontcolor="#212529"];
  "GLD-10" [label="GLD-10 · Blocked: Egg", shape=hexagon, style="filled", penwidth=2, fillcolor="#ffe8cc", color="#d9480f", fontcolor="#212529"];
  "GLD-2" [label="GLD-2 · Ready: Add the <login> form", shape=ellipse, style="filled", penwidth=2, fillcolor="#d3f9d8", color="#2b8a3e", fontcolor="#212529"];
  "GLD-3" [label="GLD-3 · Ready: Create the users table", shape=ellipse, style="filled", penwidth=2, fillcolor="#d3f9d8", color="#2b8a3e", fontcolor="#212529"];
  "unknown:GLD-99" [label="GLD-99: not on the board", shape=parallelogram, style="dashed,filled", penwidth=2, fillcolor="#ffffff", color="#868e96", fontcolor="#212529"];
  "GLD-2" -> "GLD-4";
  "GLD-3" -> "GLD-4";
  "GLD-4" -> "GLD-6";
  "unknown:GLD-99" -> "GLD-6" [style=dashed];
  "GLD-10" -> "GLD-9";
  "GLD-9" -> "GLD-10";
  // cycle: GLD-9 needs GLD-10 needs GLD-9
  subgraph cluster_legend {
    label="Legend";
    "legend:blocked" [label="Blocked", shape=hexagon, style="filled", penwidth=2, fillcolor="#ffe8cc", color="#d9480f", fontcolor="#212529"];
    "legend:ready" [label="Ready", shape=ellipse, style="filled", penwidth=2, fillcolor="#d3f9d8", color="#2b8a3e", fontcolor="#212529"];
    "legend:unknown" [label="Not on the board", shape=parallelogram, style="dashed,filled", penwidth=2, fillcolor="#ffffff", color="#868e96", fontcolor="#212529"];
  }
}
`,
    );
    assert.equal(graph(boardRepo(), ['--dot', '--mermaid'], 2).code, 2);
  });

  test('--into: the graph in a fence between markers; twice changes nothing; a board change updates only the section', () => {
    const repo = boardRepo();
    const plan = join(repo.dir, 'PLAN.md');
    writeFileSync(plan, '# Plan\r\n\r\nWritten by a person.\r\n');
    const first = graph(repo, ['--into', 'PLAN.md']);
    assert.equal(first.stdout, 'PLAN.md: graph updated (11 nodes, 7 edges)\n');
    const text = readFileSync(plan, 'utf8');
    assert.ok(text.startsWith('# Plan\r\n\r\nWritten by a person.\r\n\r\n<!-- guild-fs:graph:start -->\r\n```mermaid\r\nflowchart TD\r\n'), text);
    assert.ok(text.endsWith('```\r\n<!-- guild-fs:graph:end -->\r\n'));
    const fenced = /```mermaid\r\n([\s\S]*?)```/.exec(text)![1]!.replaceAll('\r\n', '\n');
    assert.equal(fenced, graph(repo).stdout);

    const past = new Date(Date.now() - 60_000);
    utimesSync(plan, past, past);
    const mtime = statSync(plan).mtimeMs;
    const again = graph(repo, ['--into', 'PLAN.md', '--json']).json!.result;
    assert.deepEqual(again.into, { file: 'PLAN.md', state: 'unchanged' });
    assert.equal(statSync(plan).mtimeMs, mtime);
    assert.equal(readFileSync(plan, 'utf8'), text);

    writeFileSync(plan, `${text}\r\nA line after, by hand.\r\n`);
    repo.write(repo.read().replace('GLD-5 Metrics', 'GLD-5 Metrics and traces'));
    assert.equal(graph(repo, ['--into', 'PLAN.md']).stdout, 'PLAN.md: graph updated (11 nodes, 7 edges)\n');
    const updated = readFileSync(plan, 'utf8');
    assert.ok(updated.includes('GLD_5("GLD-5 · In Progress#58; Metrics and traces")\r\n'));
    assert.ok(updated.startsWith('# Plan\r\n\r\nWritten by a person.\r\n\r\n<!-- guild-fs:graph:start -->'));
    assert.ok(updated.endsWith('<!-- guild-fs:graph:end -->\r\n\r\nA line after, by hand.\r\n'));
    // A new file is made; a file that is not Markdown, DOT, or broken markers are refused (exit 2).
    assert.equal(graph(repo, ['--into', 'docs-graph.md']).stdout, 'docs-graph.md: graph created (11 nodes, 7 edges)\n');
    assert.match(graph(repo, ['--into', 'package.json', '--json'], 2).json!.error!.message, /Markdown file/);
    assert.equal(graph(repo, ['--into', 'PLAN.md', '--dot'], 2).code, 2);
    writeFileSync(plan, 'x\n<!-- guild-fs:graph:end -->\n');
    const broken = graph(repo, ['--into', 'PLAN.md', '--json'], 2).json!.error!;
    assert.equal(broken.code, 'EMARKERS');
    assert.match(broken.message, /^PLAN\.md:2: /);
  });
});

/** A Task as the parser makes it, for the fields the graph reads. */
function task(id: string, title: string, status: Status, needs: string[] = []): Task {
  return { id, title, status, checked: status === 'done', prio: 'normal', needs, caps: [], owner: null, branch: null, tries: 0, retry: null, empty: null, line: 0, endLine: 0 };
}

const WORDS: Record<Status, string> = { backlog: 'Backlog', blocked: 'Blocked', ready: 'Ready', 'in-progress': 'In Progress', review: 'Review', done: 'Done', failed: 'Failed' };
const mermaidId = (id: string, unknown = false): string => `${unknown ? 'unknown_' : ''}${id.replace('-', '_')}`;

describe('the Mermaid is valid and says what the board says', () => {
  test('1,000 tasks with random needs (unknown IDs and cycles among them) round-trip through the parser', async () => {
    const random = mulberry32(66);
    const statuses: Status[] = ['backlog', 'blocked', 'ready', 'in-progress', 'review', 'done', 'failed'];
    const tasks: Task[] = [];
    for (let n = 1; n <= 1000; n++) {
      const needs = new Set<string>();
      for (let k = Math.floor(random() * 4); k > 0; k--) needs.add(random() < 0.05 ? `GLD-${2000 + Math.floor(random() * 50)}` : `GLD-${1 + Math.floor(random() * 1000)}`);
      needs.delete(`GLD-${n}`);
      tasks.push(task(`GLD-${n}`, `Task ${n} "${'[]<>#%`&|{}\\'.charAt(n % 13)}"`, statuses[Math.floor(random() * statuses.length)]!, [...needs]));
    }
    const drawn = taskGraph(tasks, { all: true });
    assert.ok(drawn.cycles.length > 0, 'random needs make cycles');
    assert.ok(drawn.unknownNeeds.length > 0);
    const chart = parseMermaid(mermaidGraph(drawn));
    const known = new Set(tasks.map((t) => t.id!));
    const expectedNodes = new Map(tasks.map((t) => [mermaidId(t.id!), `${t.id} · ${WORDS[t.status]}: ${t.title}`]));
    for (const { need } of drawn.unknownNeeds) expectedNodes.set(mermaidId(need, true), `${need}: not on the board`);
    assert.deepEqual(new Map([...chart.nodes].sort()), new Map([...expectedNodes].sort()));
    const expectedEdges = tasks.flatMap((t) => t.needs.map((need) => `${mermaidId(need, !known.has(need))} ${known.has(need) ? '-->' : '-.->'} ${mermaidId(t.id!)}`));
    assert.deepEqual(chart.edges.map((e) => `${e.from} ${e.dashed ? '-.->' : '-->'} ${e.to}`).sort(), expectedEdges.sort());
    for (const t of tasks) assert.equal(chart.classes.get(mermaidId(t.id!)), t.status === 'in-progress' ? 'in_progress' : t.status);
    assert.equal(chart.comments.length, drawn.cycles.length);
    // The legend: one node per status, in the board's order, each of its status's class and shape.
    assert.deepEqual([...chart.legend.values()], [...Object.values(WORDS), 'Not on the board']);
    for (const t of tasks) assert.equal(chart.shapes.get(mermaidId(t.id!)), chart.shapes.get(`Legend_${t.status.replace('-', '_')}`));
  });

  test('hostile titles are escaped, control characters and stray bytes dropped, emoji kept', async () => {
    const hostile = [
      'Say "hi" [now] (soon)',
      'a --> b -.-> c ==> d',
      '%% not a comment %%{init: {}}%%',
      '#quot; #35; # hash',
      '`code` and ```fence```',
      '<script>alert(1)</script> <img src=x onerror=alert(1)>',
      'emoji 🎉 and 日本語',
      'end',
      'pipes | and {braces} and \\backslash\\ & amp;',
      'bell \u0007 tab\t nul\u0000 del\u007f c1\u0085 ls\u2028 stray\udc80byte',
    ];
    const tasks = hostile.map((title, i) => task(`GLD-${i + 1}`, title, 'ready', i > 0 ? [`GLD-${i}`] : []));
    const text = mermaidGraph(taskGraph(tasks));
    const chart = parseMermaid(text);
    const strip = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\udc80]/g, '');
    hostile.forEach((title, i) => assert.equal(chart.nodes.get(`GLD_${i + 1}`), `GLD-${i + 1} · Ready: ${strip(title)}`));
    assert.equal(chart.edges.length, hostile.length - 1);
    // Nothing hostile reaches the page as itself.
    assert.ok(!/<script|<img|`/.test(text));
    // DOT: every label one quoted string.
    const dot = dotGraph(taskGraph(tasks));
    for (const line of dot.split('\n').filter((l) => l.includes('[label='))) assert.match(line, /^ {2,4}"(?:GLD-\d+|legend:ready)" \[label="(?:[^"\\&\u0000-\u001f]|\\["\\]|&amp;)*", shape=[a-z]+, style="[a-z,]+", penwidth=2, fillcolor="#[0-9a-f]{6}", color="#[0-9a-f]{6}", fontcolor="#[0-9a-f]{6}"\];$/);
  });

  test('the parser rejects what is outside the subset', () => {
    const bad = [
      'graph TD\n',
      'flowchart TD\n  A["x"] --> B\n',
      'flowchart TD\n  A["a "quoted" b"]\n',
      'flowchart TD\n  A["<b>"]\n',
      'flowchart TD\n  end["x"]\n',
      'flowchart TD\n  A["x"]\n  A --> B\n',
      'flowchart TD\n  A["#bogus;"]\n',
      'flowchart TD\n  %%{init: {}}%%\n',
      'flowchart TD\n  A["x"]\n  class A nope\n',
      'flowchart TD\n  A-B["x"]\n',
      'flowchart TD\n  A["x"]',
    ];
    for (const text of bad) assert.throws(() => parseMermaid(text), MermaidSyntaxError, JSON.stringify(text));
  });

  test('10,000 tasks: graph and Mermaid in well under a second', async () => {
    const board = await parseBoard('ACTIVE_TASKS.md', generateBoard({ tasks: 10_000 }));
    const start = performance.now();
    const text = mermaidGraph(taskGraph(board.tasks, { all: true }));
    const ms = performance.now() - start;
    assert.ok(ms < 500, `${ms.toFixed(0)} ms`);
    assert.equal(parseMermaid(text).nodes.size, board.tasks.length);
  });
});
